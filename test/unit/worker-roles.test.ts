// Which task queues a worker of each role polls, and how its role and queues are named.
import { hostTaskQueue, polledQueues, trainerTaskQueue, workerRole } from '../../lib/worker-roles';

describe('worker roles', () => {
  it('takes the role from --role, then FLT_WORKER_ROLE, else all; an unknown one is refused', () => {
    expect(workerRole(['--role', 'trainer'], { FLT_WORKER_ROLE: 'inference' })).toBe('trainer');
    expect(workerRole(['--role=inference'], {})).toBe('inference');
    expect(workerRole([], { FLT_WORKER_ROLE: 'trainer' })).toBe('trainer');
    expect(workerRole([], {})).toBe('all');
    expect(() => workerRole(['--role', 'gpu'], {})).toThrow(
      'unknown worker role "gpu": expected one of inference, trainer, all',
    );
  });

  it('names the trainer queue after the run queue unless FLT_TRAINER_TASK_QUEUE does', () => {
    expect(trainerTaskQueue({})).toBe('flt-trainer');
    expect(trainerTaskQueue({ FLT_TASK_QUEUE: 'lab' })).toBe('lab-trainer');
    expect(trainerTaskQueue({ FLT_TASK_QUEUE: 'lab', FLT_TRAINER_TASK_QUEUE: 'gpus' })).toBe('gpus');
  });

  it('gives each host and job directory a queue of its own', () => {
    expect(hostTaskQueue('flt-trainer', '/data/flt/jobs', 'gpu1/3f2a1b4c/4026531836')).toBe(
      'flt-trainer@gpu1/3f2a1b4c/4026531836:/data/flt/jobs',
    );
    expect(hostTaskQueue('q', '/a/jobs', 'h')).not.toBe(hostTaskQueue('q', '/b/jobs', 'h'));
  });

  it('polls the run queue with workflows for inference, the trainer queues without for trainer, all for all', () => {
    const env = { FLT_TASK_QUEUE: 'lab' };
    const host = hostTaskQueue('lab-trainer', '/jobs');
    const run = { taskQueue: 'lab', workflows: true };
    const trainer = [
      { taskQueue: 'lab-trainer', workflows: false },
      { taskQueue: host, workflows: false },
    ];
    expect(polledQueues('inference', '/jobs', env)).toEqual([run]);
    expect(polledQueues('trainer', '/jobs', env)).toEqual(trainer);
    expect(polledQueues('all', '/jobs', env)).toEqual([run, ...trainer]);
  });
});
