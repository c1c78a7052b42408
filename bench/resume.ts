// Benchmark 4, resume: the worker process SIGKILLed mid-stage and a new one started at once. Measured: the time from
// the new worker's start to the first new call completed by the provider, and the calls paid twice (only the calls
// in flight at the kill may be repeated; every finished one comes back from the response cache).
import * as path from 'node:path';
import { semievolShardSize } from '../core/semievol-config';
import { ResponseCache } from '../lib/response-cache';
import {
  answeredChats,
  collaborateInput,
  dataHome,
  fmt,
  providersFor,
  seconds,
  sleep,
  spawnWorker,
  startDouble,
  syntheticMcq,
  type BenchEnv,
  type Verdict,
} from './harness';

export interface ResumeOptions {
  questions: number;
  concurrency: number;
  latencyMs: number;
  /** Kill once this share of the stage's calls is answered. */
  killAt: number;
  /** Give up waiting for the stage after this long. */
  timeoutMs: number;
}

export interface ResumeResult {
  options: ResumeOptions;
  calls: number;
  answeredAtKill: number;
  /** Requests that had reached the provider and not been answered when the worker died. */
  inFlightAtKill: number;
  /**
   * Requests the dead worker had sent whose responses were not in its response cache:
   * the calls in flight from the worker's side.
   */
  unrecordedAtKill: number;
  workerReadyMs: number;
  /** From the new worker's spawn to the first call answered after it. */
  firstCallMs: number | null;
  repeated: number;
  finished: boolean;
  stageMs: number;
}

export async function resume(env: BenchEnv, options: ResumeOptions): Promise<ResumeResult> {
  const double = await startDouble({ latencyMs: options.latencyMs });
  const providers = providersFor(double, { maxConcurrency: options.concurrency });
  const { home, store } = dataHome(env, 'resume');
  const taskQueue = 'bench-resume';
  let worker = spawnWorker(env, { home, taskQueue });
  try {
    await worker.ready;
    const input = await collaborateInput(env, {
      store,
      taskQueue,
      runId: 'bench-resume',
      unlabeled: syntheticMcq(options.questions, 'resume-u', 31),
      labeled: syntheticMcq(100, 'resume-l', 32),
      providers,
      shardSize: semievolShardSize,
      parallelShards: 4,
      seed: 9,
    });
    const calls = options.questions * input.collaborators.length;
    await double.clearRequests();
    const started = Date.now();
    const handle = await env.client.workflow.start('collaborate', {
      taskQueue,
      workflowId: 'bench-resume--collaborate',
      args: [input],
    });
    while ((await answeredChats(double)).length < calls * options.killAt) await sleep(20);
    const killedAt = Date.now();
    await worker.stop('SIGKILL');
    // What the dead worker had made durable: its response cache (this stage's calls only) as the kill left it.
    const cachedAtKill = ResponseCache.count(path.join(home, 'artifacts', 'response-cache'));
    const restartedAt = Date.now();
    worker = spawnWorker(env, { home, taskQueue });
    const workerReadyMs = await worker.ready;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      handle.result().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), options.timeoutMs))),
    ]);
    clearTimeout(timer);
    const stageMs = Date.now() - started;
    if (!finished) await handle.terminate('resume benchmark timed out');

    const log = await double.requests();
    const answered = await answeredChats(double);
    const firstAfter = answered.filter((r) => r.time >= restartedAt).map((r) => r.time + r.durationMs);
    // Every request that arrived before the new worker was spawned came from the dead one.
    const sentBeforeRestart = log.filter((r) => r.path === '/v1/chat/completions' && r.time < restartedAt);
    const result: ResumeResult = {
      options,
      calls,
      answeredAtKill: sentBeforeRestart.filter((r) => r.time + r.durationMs <= killedAt).length,
      inFlightAtKill: sentBeforeRestart.filter((r) => r.time + r.durationMs > killedAt).length,
      unrecordedAtKill: sentBeforeRestart.length - cachedAtKill,
      workerReadyMs,
      firstCallMs: firstAfter.length ? Math.min(...firstAfter) - restartedAt : null,
      repeated: answered.length - new Set(answered.map((r) => r.requestHash)).size,
      finished,
      stageMs,
    };
    env.log(
      `resume: first new call ${result.firstCallMs} ms after the new worker's start; ${result.repeated} calls repeated`,
    );
    return result;
  } finally {
    await worker.stop();
    await double.stop();
  }
}

export function resumeReport(r: ResumeResult): string[] {
  const o = r.options;
  const fast = r.firstCallMs !== null && r.firstCallMs < 5000;
  const fewRepeated = r.repeated <= r.unrecordedAtKill;
  return [
    `The collaborate stage on ${fmt(o.questions)} questions (${fmt(r.calls)} calls, ${o.latencyMs} ms each, ` +
      `concurrency cap ${o.concurrency}, shards of ${semievolShardSize}, 4 in parallel); ` +
      `the worker process SIGKILLed after ${fmt(r.answeredAtKill)} answered calls and a new one spawned at once.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| new worker: spawn to polling | ${seconds(r.workerReadyMs).toFixed(2)} s | |`,
    '| new worker: spawn to the first new call completed | ' +
      `**${r.firstCallMs === null ? 'none' : `${seconds(r.firstCallMs).toFixed(2)} s`}** | ` +
      `< 5 s: ${fast ? 'met' : 'NOT met'} |`,
    `| calls at the provider, unanswered, at the kill | ${r.inFlightAtKill} (concurrency cap ${o.concurrency}) | |`,
    `| calls in flight at the kill: sent by the dead worker and not in its response cache | ${r.unrecordedAtKill} | |`,
    `| calls answered twice | **${r.repeated}** | <= calls in flight: ${fewRepeated ? 'met' : 'NOT met'} |`,
    `| stage finished | ` +
      (r.finished
        ? `yes, ${seconds(r.stageMs).toFixed(1)} s from its start`
        : `no, gave up after ${seconds(o.timeoutMs)} s`) +
      ' | |',
  ];
}

export const resumeVerdict = (r: ResumeResult): Verdict => ({
  benchmark: '4. resume',
  target: 'new worker start to first new completed call < 5 s; calls repeated <= calls in flight',
  measured:
    `${r.firstCallMs === null ? 'none' : `${seconds(r.firstCallMs).toFixed(2)} s`}; ` +
    `${r.repeated} repeated, ${r.unrecordedAtKill} in flight`,
  met: r.firstCallMs !== null && r.firstCallMs < 5000 && r.repeated <= r.unrecordedAtKill && r.finished,
});
