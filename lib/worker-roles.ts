// Which task queues a worker polls, by its role. `inference` hosts the workflows and every activity on the run's task
// queue; `trainer` hosts the `command` backend's trainers: it takes new jobs from the trainer task queue and, on a
// queue of its own host, every later activity of the jobs it started (workflows/trainer-hosts.ts routes them).
import * as path from 'node:path';
import { cachedLocalHost } from './host-identity';
import { taskQueue } from './temporal';

export const workerRoles = ['inference', 'trainer', 'all'] as const;
export type WorkerRole = (typeof workerRoles)[number];

/** `--role <role>` (or `--role=<role>`) on the command line, else FLT_WORKER_ROLE, else `all`. */
export function workerRole(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): WorkerRole {
  const at = argv.findIndex((arg) => arg === '--role' || arg.startsWith('--role='));
  const given = at < 0 ? env.FLT_WORKER_ROLE : argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  const role = given || 'all';
  if (!(workerRoles as readonly string[]).includes(role))
    throw new Error(`unknown worker role "${role}": expected one of ${workerRoles.join(', ')}`);
  return role as WorkerRole;
}

/** The queue new trainer jobs wait on; a run's config may name another (`fineTune.backend.trainerTaskQueue`). */
export const trainerTaskQueue = (env: NodeJS.ProcessEnv = process.env) =>
  env.FLT_TRAINER_TASK_QUEUE ?? `${taskQueue(env)}-trainer`;

/**
 * The queue of the one trainer host that can reach a job: the host (hostname, boot id, pid namespace) sees the
 * trainer's processes, the job directory holds its files. Two workers on one host with one job directory share it.
 */
export const hostTaskQueue = (trainerQueue: string, jobsDir: string, host = cachedLocalHost()) =>
  `${trainerQueue}@${host}:${path.resolve(jobsDir)}`;

export interface PolledQueue {
  taskQueue: string;
  /** Only the run's task queue hosts workflows. */
  workflows: boolean;
}

export function polledQueues(role: WorkerRole, jobsDir: string, env: NodeJS.ProcessEnv = process.env): PolledQueue[] {
  const run = { taskQueue: taskQueue(env), workflows: true };
  const trainer = trainerTaskQueue(env);
  const trainers = [trainer, hostTaskQueue(trainer, jobsDir)].map((queue) => ({ taskQueue: queue, workflows: false }));
  return role === 'inference' ? [run] : role === 'trainer' ? trainers : [run, ...trainers];
}
