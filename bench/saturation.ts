// Benchmark 2, saturation: with R requests per minute configured on the provider (the double enforces it, the
// gateway is told it), the collaborate stage against a fast endpoint must reach >= 95% of R over a 2-minute window
// and the provider must never see more than R requests in any sliding 60-second window.
import { semievolShardSize } from '../core/semievol-config';
import {
  collaborateInput,
  dataHome,
  fmt,
  maxInWindow,
  providersFor,
  seconds,
  sleep,
  spawnWorker,
  startDouble,
  syntheticMcq,
  type BenchEnv,
  type Verdict,
} from './harness';

export interface SaturationOptions {
  requestsPerMinute: number;
  windowMs: number;
  concurrency: number;
}

export interface SaturationResult {
  options: SaturationOptions;
  /** Requests that arrived in the window starting at the first one, answered or not. */
  inWindow: number;
  answeredInWindow: number;
  /** Per minute, over the window. */
  achievedPerMinute: number;
  maxInAnyMinute: number;
  rejected: number;
}

export async function saturation(env: BenchEnv, options: SaturationOptions): Promise<SaturationResult> {
  const { requestsPerMinute: R, windowMs } = options;
  const double = await startDouble({ latencyMs: 0, rateLimit: { requestsPerMinute: R } });
  const providers = providersFor(double, { maxConcurrency: options.concurrency, requestsPerMinute: R });
  const { home, store } = dataHome(env, 'saturation');
  const taskQueue = 'bench-saturation';
  const worker = spawnWorker(env, { home, taskQueue });
  try {
    await worker.ready;
    // More calls than the window can take at R, so the stage is still busy when the window closes.
    const calls = Math.ceil(((R * windowMs) / 60_000) * 1.15);
    const input = await collaborateInput(env, {
      store,
      taskQueue,
      runId: 'bench-saturation',
      unlabeled: syntheticMcq(Math.ceil(calls / 4), 'saturation-u', 21),
      labeled: syntheticMcq(100, 'saturation-l', 22),
      providers,
      shardSize: semievolShardSize,
      parallelShards: 4,
      seed: 7,
    });
    await double.clearRequests();
    const handle = await env.client.workflow.start('collaborate', {
      taskQueue,
      workflowId: 'bench-saturation--collaborate',
      args: [input],
    });
    const chats = async () => (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
    let first: number | undefined;
    while (first === undefined) {
      await sleep(200);
      first = (await chats())[0]?.time;
    }
    // The window, and a moment for its last requests to be logged; then the stage is stopped.
    await sleep(Math.max(0, first + windowMs + 2_000 - Date.now()));
    await handle.terminate('saturation window measured');
    const log = await chats();
    const inWindow = log.filter((r) => r.time < first! + windowMs);
    env.log(`saturation: ${inWindow.length} requests in ${seconds(windowMs)} s at R = ${R}`);
    return {
      options,
      inWindow: inWindow.length,
      answeredInWindow: inWindow.filter((r) => r.status === 200).length,
      achievedPerMinute: (inWindow.filter((r) => r.status === 200).length * 60_000) / windowMs,
      maxInAnyMinute: maxInWindow(
        log.map((r) => r.time),
        60_000,
      ),
      rejected: log.filter((r) => r.status === 429).length,
    };
  } finally {
    await worker.stop();
    await double.stop();
  }
}

export function saturationReport(r: SaturationResult): string[] {
  const R = r.options.requestsPerMinute;
  const share = r.achievedPerMinute / R;
  return [
    `R = ${R} requests per minute on the provider (the double rejects beyond it) and in the provider config; ` +
      `latency 0 ms, concurrency cap ${r.options.concurrency}; ` +
      `the collaborate stage, shards of ${semievolShardSize}, 4 in parallel; ` +
      `window of ${seconds(r.options.windowMs)} s from the first request.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| answered in the window | ${fmt(r.answeredInWindow)} (${fmt(r.achievedPerMinute, 1)} per minute) | |`,
    `| achieved rate / R | **${(share * 100).toFixed(1)}%** | >= 95%: ${share >= 0.95 ? 'met' : 'NOT met'} |`,
    `| most requests in any sliding 60 s window | **${fmt(r.maxInAnyMinute)}** | ` +
      `<= ${R}: ${r.maxInAnyMinute <= R ? 'met' : 'NOT met'} |`,
    `| requests rejected with 429 | ${fmt(r.rejected)} | |`,
  ];
}

export const saturationVerdict = (r: SaturationResult): Verdict => ({
  benchmark: '2. saturation',
  target:
    `>= 95% of R = ${r.options.requestsPerMinute}/min over ${seconds(r.options.windowMs)} s; ` +
    'never more than R in a sliding minute',
  measured:
    `${((r.achievedPerMinute / r.options.requestsPerMinute) * 100).toFixed(1)}% of R; ` +
    `at most ${r.maxInAnyMinute} in a minute`,
  met: r.achievedPerMinute >= 0.95 * r.options.requestsPerMinute && r.maxInAnyMinute <= r.options.requestsPerMinute,
});
