// Benchmark 5, scale: a whole SemiEvol run on synthetic questions (100,000 with --full), its wall time, the worker
// process's peak resident memory (VmHWM from /proc) and the events of every execution in the run.
import { workerHeapMb } from '../lib/ts-process';
import {
  answeredChats,
  dataHome,
  fmt,
  goldOf,
  providersFor,
  runSemievol,
  sampleMemory,
  seconds,
  semievolHistories,
  semievolInput,
  spawnWorker,
  startDouble,
  syntheticMcq,
  type BenchEnv,
  type HistoryCost,
  type Verdict,
} from './harness';

export interface ScaleOptions {
  questions: number;
  /** The worker's V8 old-space limit (`node --max-old-space-size`; `npm run worker` sets 256); null: node's default. */
  workerHeapMb: number | null;
  test: number;
  concurrency: number;
  shardSize: number;
  parallelShards: number;
}

export interface ScaleResult {
  options: ScaleOptions;
  ms: number;
  calls: number;
  peakRssMb: number;
  histories: { stage: string; cost: HistoryCost }[];
}

export async function scale(env: BenchEnv, options: ScaleOptions): Promise<ScaleResult> {
  const unlabeled = syntheticMcq(options.questions, 'scale-u', 41);
  const labeled = syntheticMcq(200, 'scale-l', 42);
  const test = syntheticMcq(options.test, 'scale-t', 43);
  const double = await startDouble(
    { latencyMs: 0, fineTune: { stepMs: 100 } },
    goldOf([...unlabeled, ...labeled, ...test]),
  );
  const providers = providersFor(double, { maxConcurrency: options.concurrency });
  const variant = options.workerHeapMb ? `heap-${options.workerHeapMb}` : 'default';
  const { home, store } = dataHome(env, `scale-${variant}`);
  const taskQueue = `bench-scale-${variant}`;
  const worker = spawnWorker(env, {
    home,
    taskQueue,
    nodeArgs: options.workerHeapMb ? [`--max-old-space-size=${options.workerHeapMb}`] : [],
  });
  try {
    await worker.ready;
    const input = await semievolInput({
      store,
      runId: `bench-scale-${variant}`,
      unlabeled,
      labeled,
      test,
      providers,
      shardSize: options.shardSize,
      parallelShards: options.parallelShards,
      seed: 3,
    });
    const memory = sampleMemory(worker);
    const run = await runSemievol(env, taskQueue, input);
    const peakRssMb = memory.stop();
    const calls = (await answeredChats(double)).length;
    env.log(
      `scale (${variant}): ${fmt(options.questions)} questions in ${seconds(run.ms)} s, ${fmt(calls)} calls, ` +
        `worker peak RSS ${peakRssMb.toFixed(0)} MiB`,
    );
    return { options, ms: run.ms, calls, peakRssMb, histories: await semievolHistories(env, run) };
  } finally {
    await worker.stop();
    await double.stop();
  }
}

/** The heap limit `npm run worker` (and the demo) start workers with. */
const shippedHeapMb = workerHeapMb({});
const heapLabel = (r: ScaleResult) =>
  r.options.workerHeapMb
    ? `\`node --max-old-space-size=${r.options.workerHeapMb}\`` +
      `${r.options.workerHeapMb === shippedHeapMb ? ' (as `npm run worker` starts it)' : ''}`
    : "node's default heap";

export function scaleReport(results: ScaleResult[]): string[] {
  const o = results[0].options;
  const lines = [
    `A whole SemiEvol run on ${fmt(o.questions)} synthetic unlabeled questions (${fmt(o.test)} test questions), ` +
      `latency 0 ms, concurrency cap ${o.concurrency}, shards of ${o.shardSize}, ${o.parallelShards} in parallel; ` +
      'the worker in its own process, its peak resident memory read from /proc (VmHWM).',
    '',
    '| worker started with | wall time | model calls | peak resident memory (< 500 MB) | ' +
      'events, all executions | most events in one execution | largest payload (<= 256 KB) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const events = r.histories.reduce((sum, h) => sum + h.cost.events, 0);
    const most = r.histories.reduce((a, b) => (b.cost.events > a.cost.events ? b : a));
    const largest = Math.max(...r.histories.map((h) => h.cost.largestPayloadBytes));
    const mb = r.peakRssMb * 1.048576;
    lines.push(
      `| ${heapLabel(r)} | ${seconds(r.ms).toFixed(1)} s | ` +
        `${fmt(r.calls)} (${fmt((r.calls * 1000) / r.ms)} per second) | ` +
        `**${fmt(mb)} MB** (${fmt(r.peakRssMb)} MiB): ${mb < 500 ? 'met' : 'NOT met'} | ` +
        `${fmt(events)} | ${fmt(most.cost.events)} (${most.stage}) | ` +
        `${fmt(largest / 1024, 1)} KiB: ${largest <= 256_000 ? 'met' : 'NOT met'} |`,
    );
  }
  lines.push(
    '',
    'Events per execution: ' + results[0].histories.map((h) => `${h.stage} ${fmt(h.cost.events)}`).join(', ') + '.',
  );
  return lines;
}

export function scaleVerdict(results: ScaleResult[]): Verdict {
  const largest = Math.max(...results.flatMap((r) => r.histories.map((h) => h.cost.largestPayloadBytes)));
  return {
    benchmark: `5. scale (${fmt(results[0].options.questions)} questions)`,
    target: 'worker peak resident memory < 500 MB (the worker as `npm run worker` starts it); payloads <= 256 KB',
    measured:
      results
        .map(
          (r) =>
            `${fmt(r.peakRssMb * 1.048576)} MB with ` +
            `${r.options.workerHeapMb ? `a ${r.options.workerHeapMb} MiB heap limit` : "node's default heap"} ` +
            `(${seconds(r.ms).toFixed(0)} s)`,
        )
        .join('; ') + `; largest payload ${fmt(largest / 1024, 1)} KiB`,
    met:
      results.filter((r) => r.options.workerHeapMb === shippedHeapMb).every((r) => r.peakRssMb * 1.048576 < 500) &&
      largest <= 256_000,
  };
}
