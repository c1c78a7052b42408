// Benchmark 7, scale-out: the provider's limits are the account's, so workers added to a task queue must share them.
// 1, 2 and 4 worker processes (each its own FLT_HOME, one artifact store), each with FLT_PROVIDER_SHARE = 1/N, run
// the collaborate stage against the double enforcing R requests per minute, then T tokens per minute. Reported per N:
// the most sent in any sliding 60 s window (at most the limit), what was answered in the first minute as a share of
// the limit, and the wall time, which falls as workers are added until the limit binds.
import type { CollaborateStageInput } from '../workflows/semievol-stages';
import type { RequestLogEntry } from '../testdouble/launch';
import {
  collaborateInput,
  dataHome,
  execute,
  fmt,
  goldOf,
  providersFor,
  seconds,
  spawnWorker,
  startDouble,
  syntheticMcq,
  type BenchEnv,
  type Verdict,
  type WorkerProcess,
} from './harness';
import * as path from 'node:path';
import { mkdirSync } from 'node:fs';
import { LocalArtifactStore } from '../lib/artifacts';

export interface ScaleOutOptions {
  /** The account's requests per minute in the requests runs. */
  requestsPerMinute: number;
  /** Collaborate calls per run: more than a minute's worth at the limit, so the first minute is saturated. */
  calls: number;
  /** The double's latency per call, with one call in flight per worker: one worker alone stays under the limit. */
  latencyMs: number;
  workers: number[];
  shardSize: number;
  parallelShards: number;
}

export interface ScaleOutRun {
  limit: 'requests' | 'tokens';
  workers: number;
  /** The account's limit per minute, in requests or tokens. */
  perMinute: number;
  ms: number;
  /** Most requests (or tokens) sent in any window [t, t + 60 s), rejected ones included. */
  mostInAMinute: number;
  /** Answered in the minute from the first request, as a share of the limit. */
  firstMinuteShare: number;
  sent: number;
  rejected: number;
  /** Shard activities each worker ran, most first. */
  shardsPerWorker: number[];
}

export interface ScaleOutResult {
  options: ScaleOutOptions;
  /** T: R times the tokens a collaborate call counts on average, so tokens bind where requests did. */
  tokensPerMinute: number;
  runs: ScaleOutRun[];
}

/** The most of `weight` over entries whose arrival falls in any window [t, t + 60 s). */
function mostInAMinute(log: RequestLogEntry[], weight: (r: RequestLogEntry) => number): number {
  let most = 0;
  let sum = 0;
  for (let lo = 0, hi = 0; hi < log.length; hi++) {
    sum += weight(log[hi]);
    while (log[hi].time - log[lo].time >= 60_000) sum -= weight(log[lo++]);
    most = Math.max(most, sum);
  }
  return most;
}

/** How many collaborate shard activities each worker identity started, most first (from the stage's history). */
async function shardsPerWorker(env: BenchEnv, workflowId: string): Promise<number[]> {
  const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const shardEvents = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'collaborateOnShard')
      .map((e) => String(e.eventId)),
  );
  const counts = new Map<string, number>();
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (!started || !shardEvents.has(String(started.scheduledEventId))) continue;
    counts.set(started.identity ?? '', (counts.get(started.identity ?? '') ?? 0) + 1);
  }
  return [...counts.values()].sort((a, b) => b - a);
}

export async function scaleOut(env: BenchEnv, options: ScaleOutOptions): Promise<ScaleOutResult> {
  const R = options.requestsPerMinute;
  // Four collaborate calls per question.
  const unlabeled = syntheticMcq(Math.ceil(options.calls / 4), 'scaleout-u', 71);
  const labeled = syntheticMcq(100, 'scaleout-l', 72);
  const double = await startDouble({ latencyMs: options.latencyMs }, goldOf([...unlabeled, ...labeled]));
  // Every worker's home is its own; the artifact store (with the response cache) is the one they share.
  const artifactRoot = path.join(env.dir, 'scaleout-artifacts');
  mkdirSync(artifactRoot, { recursive: true });
  const store = new LocalArtifactStore(artifactRoot);
  let base: CollaborateStageInput | undefined;
  const runs: ScaleOutRun[] = [];
  let tokensPerMinute = 0;
  try {
    for (const n of options.workers) {
      const taskQueue = `bench-scaleout-${n}`;
      const workers: WorkerProcess[] = Array.from({ length: n }, (_, i) =>
        spawnWorker(env, {
          home: dataHome(env, `scaleout-${n}-${i}`).home,
          taskQueue,
          extraEnv: {
            FLT_ARTIFACT_ROOT: artifactRoot,
            FLT_PROVIDER_SHARE: String(1 / n),
            // A task goes to whichever worker polls: with slots for more shards than its share serves, one worker
            // could queue shards while another idles. parallelShards / N slots spread them.
            FLT_MAX_CONCURRENT_ACTIVITIES: String(Math.ceil(options.parallelShards / n)),
          },
        }),
      );
      try {
        await Promise.all(workers.map((w) => w.ready));
        // The neighbours once, without limits, on the first workers; every run then collaborates on them.
        base ??= await collaborateInput(env, {
          store,
          taskQueue,
          runId: 'bench-scaleout',
          unlabeled,
          labeled,
          providers: providersFor(double, { maxConcurrency: 8 }),
          shardSize: options.shardSize,
          parallelShards: options.parallelShards,
          seed: 9,
        });
        for (const limit of ['requests', 'tokens'] as const) {
          const perMinute = limit === 'requests' ? R : tokensPerMinute;
          const runId = `bench-scaleout-${limit}-${n}`;
          await double.configure({
            rateLimit: {
              requestsPerMinute: limit === 'requests' ? R : 0,
              tokensPerMinute: limit === 'tokens' ? perMinute : 0,
            },
          });
          await double.clearRequests();
          const started = Date.now();
          const workflowId = `${runId}--collaborate`;
          await execute(
            env,
            'collaborate',
            {
              taskQueue,
              workflowId,
              args: [
                {
                  ...base,
                  runId,
                  // Salted per run: no run finds another's answers in the shared response cache.
                  providers: providersFor(double, {
                    maxConcurrency: 1,
                    cacheSalt: runId,
                    ...(limit === 'requests' ? { requestsPerMinute: R } : { tokensPerMinute: perMinute }),
                  }),
                },
              ],
            },
            10 * 60_000,
          );
          const ms = Date.now() - started;
          const log = (await double.requests())
            .filter((r) => r.path === '/v1/chat/completions')
            .sort((a, b) => a.time - b.time);
          const weight = limit === 'requests' ? () => 1 : (r: RequestLogEntry) => r.limitTokens ?? 0;
          const firstMinute = log.filter((r) => r.status === 200 && r.time < log[0].time + 60_000);
          if (limit === 'requests' && tokensPerMinute === 0)
            tokensPerMinute = Math.round((R * log.reduce((sum, r) => sum + (r.limitTokens ?? 0), 0)) / log.length);
          const run: ScaleOutRun = {
            limit,
            workers: n,
            perMinute,
            ms,
            mostInAMinute: mostInAMinute(log, weight),
            firstMinuteShare: firstMinute.reduce((sum, r) => sum + weight(r), 0) / perMinute,
            sent: log.length,
            rejected: log.filter((r) => r.status === 429).length,
            shardsPerWorker: await shardsPerWorker(env, workflowId),
          };
          env.log(
            `scale-out: ${n} worker(s), ${limit}: ${seconds(ms).toFixed(1)} s, most ${fmt(run.mostInAMinute)} ` +
              `of ${fmt(perMinute)} in a minute, first minute ${(run.firstMinuteShare * 100).toFixed(1)}%`,
          );
          runs.push(run);
        }
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }
  } finally {
    await double.stop();
  }
  return { options, tokensPerMinute, runs };
}

export function scaleOutReport(r: ScaleOutResult): string[] {
  const o = r.options;
  const row = (run: ScaleOutRun) => {
    const within = run.mostInAMinute <= run.perMinute;
    return (
      `| ${run.limit} | ${run.workers} | ${fmt(run.perMinute)} | **${fmt(run.mostInAMinute)}** ` +
      `(${within ? 'within' : '**OVER**'}) | ${(run.firstMinuteShare * 100).toFixed(1)}% | ` +
      `${seconds(run.ms).toFixed(1)} s | ${fmt(run.sent)} | ${fmt(run.rejected)} | ${run.shardsPerWorker.join(' / ')} |`
    );
  };
  return [
    `The collaborate stage on ${fmt(o.calls)} calls (shards of ${o.shardSize} questions, ${o.parallelShards} in ` +
      `parallel) on N worker processes of one task queue, each with its own FLT_HOME, one FLT_ARTIFACT_ROOT and ` +
      `FLT_PROVIDER_SHARE = 1/N; the double answers in ${o.latencyMs} ms and enforces the account's limit, ` +
      `R = ${fmt(o.requestsPerMinute)} requests per minute, then T = ${fmt(r.tokensPerMinute)} tokens per minute ` +
      '(R times the tokens a call counts on average); the provider config names the same limit, and each worker ' +
      'keeps one call in flight, so one worker alone stays under it. Each worker has parallelShards / N activity ' +
      'slots (FLT_MAX_CONCURRENT_ACTIVITIES), so the shards spread over the workers.',
    '',
    '| limit | workers | limit per minute | most sent in any sliding 60 s window | answered in the first minute / ' +
      'limit | wall time | sent | rejected (429) | shards per worker |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.runs.map(row),
  ];
}

export const scaleOutVerdict = (r: ScaleOutResult): Verdict => {
  const most = Math.max(...r.runs.map((run) => run.mostInAMinute / run.perMinute));
  const widest = r.runs.filter((run) => run.workers === Math.max(...r.options.workers));
  const least = Math.min(...widest.map((run) => run.firstMinuteShare));
  return {
    benchmark: '7. scale-out',
    target: `never over the account's limit with ${r.options.workers.join(', ')} workers; >= 95% of it with the most`,
    measured:
      `at most ${(most * 100).toFixed(1)}% of the limit in a minute; ${(least * 100).toFixed(1)}% with ` +
      `${widest[0]?.workers} workers`,
    met: most <= 1 && least >= 0.95,
  };
};
