// Benchmark 1, overhead: SemiEvol's collaborate stage through Temporal against a plain script that sends the
// identical requests to the same test double with the same concurrency cap. Both are timed in this run.
import { OpenAiCompatibleChat } from '../activities/providers/openai-compatible';
import type { OpenAiCompatibleProviderConfig } from '../core/config';
import { fewShotMessages } from '../core/prompts';
import type { ArtifactRef, ChatRequest, McqItem, Shard, ShardList, ShardResults } from '../core/types';
import type { LocalArtifactStore } from '../lib/artifacts';
import type { CollaborateStageInput } from '../workflows/semievol-stages';
import {
  answeredChats,
  collaborateInput,
  execute,
  dataHome,
  fmt,
  mapLimited,
  providersFor,
  seconds,
  spawnWorker,
  startDouble,
  syntheticMcq,
  type BenchEnv,
  type Verdict,
} from './harness';

export interface OverheadOptions {
  questions: number;
  concurrency: number;
  latencyMs: number;
  shardSize: number;
  parallelShards: number;
}

export interface OverheadResult {
  options: OverheadOptions;
  calls: number;
  plainMs: number[];
  pipelineMs: number[];
  /** Pipeline over plain, per repetition. */
  ratios: number[];
  /** Both sent the same set of request bodies (the double hashes each). */
  identical: boolean;
  /** The floor: calls x latency / concurrency. */
  idealMs: number;
}

/** The plain script: the collaborate stage's requests, built by the same prompt code, sent with a p-limit-style cap. */
async function plainScript(
  store: LocalArtifactStore,
  input: CollaborateStageInput & { shards: ShardList; neighbours: ShardResults },
  config: OpenAiCompatibleProviderConfig,
  limit: number,
): Promise<number> {
  const started = Date.now();
  const labeled = await store.readAll<McqItem>(input.labeled);
  const requests: ChatRequest[] = [];
  const neighboursOf = await store.readAll<{ output: ArtifactRef }>(input.neighbours.shardResults);
  for (const shard of await store.readAll<Shard>(input.shards.shards)) {
    const items = await store.readAll<McqItem>(shard.items);
    const neighbours = await store.readAll<{ neighbours: number[] }>(neighboursOf[shard.index].output);
    items.forEach((item, i) =>
      input.collaborators.forEach((setup, j) => {
        const model = setup.model === 'warm' ? input.models.warm! : input.models.base;
        const examples = neighbours[i].neighbours.slice(0, setup.examples).map((p) => labeled[p]);
        const { temperature, maxTokens, seed } = input.sampling;
        requests.push({
          model: model.model,
          messages: fewShotMessages(item, examples),
          temperature,
          max_tokens: maxTokens,
          seed: seed + j,
          logprobs: true,
        });
      }),
    );
  }
  const chat = new OpenAiCompatibleChat(config, { FLT_BENCH_KEY: 'bench' });
  const responses = await mapLimited(requests, limit, (request) => chat.complete(request));
  await store.writeJsonl(responses.map((r) => r.choices[0]?.text ?? ''));
  return Date.now() - started;
}

export async function overhead(env: BenchEnv, options: OverheadOptions, repetitions: number): Promise<OverheadResult> {
  const { questions, concurrency, latencyMs } = options;
  const double = await startDouble({
    latencyMs,
    models: { 'sim-model': { accuracy: 0.6 }, 'sim-model-2': { accuracy: 0.6 } },
  });
  const providers = providersFor(double, { maxConcurrency: concurrency });
  const { home, store } = dataHome(env, 'overhead');
  const taskQueue = 'bench-overhead';
  const worker = spawnWorker(env, { home, taskQueue });
  const result: OverheadResult = {
    options,
    calls: 0,
    plainMs: [],
    pipelineMs: [],
    ratios: [],
    identical: true,
    idealMs: 0,
  };
  try {
    await worker.ready;
    const unlabeled = syntheticMcq(questions, 'overhead-u', 11);
    const labeled = syntheticMcq(100, 'overhead-l', 12);
    // Untimed, on a tenth of the questions: both sides' code paths warmed up (JIT, connections)
    // before the first timing.
    const warmUp = await collaborateInput(env, {
      store,
      taskQueue,
      runId: 'bench-overhead-warm-up',
      unlabeled: unlabeled.slice(0, questions / 10),
      labeled,
      providers,
      shardSize: options.shardSize,
      parallelShards: options.parallelShards,
      seed: 1,
    });
    await plainScript(store, warmUp, providers.double as OpenAiCompatibleProviderConfig, concurrency);
    await execute(
      env,
      'collaborate',
      { taskQueue, workflowId: 'bench-overhead-warm-up--collaborate', args: [warmUp] },
      10 * 60_000,
    );
    for (let rep = 0; rep < repetitions; rep++) {
      // A new seed per repetition: different requests, so the pipeline never finds the previous one's calls cached.
      const runId = `bench-overhead-${rep}`;
      const input = await collaborateInput(env, {
        store,
        taskQueue,
        runId,
        unlabeled,
        labeled,
        providers,
        shardSize: options.shardSize,
        parallelShards: options.parallelShards,
        seed: 1000 * (rep + 1),
      });
      await double.clearRequests();
      const plainMs = await plainScript(store, input, providers.double as OpenAiCompatibleProviderConfig, concurrency);
      const plainHashes = new Set((await answeredChats(double)).map((r) => r.requestHash));
      await double.clearRequests();
      const started = Date.now();
      await execute(env, 'collaborate', { taskQueue, workflowId: `${runId}--collaborate`, args: [input] }, 10 * 60_000);
      const pipelineMs = Date.now() - started;
      const pipelineCalls = await answeredChats(double);
      const pipelineHashes = new Set(pipelineCalls.map((r) => r.requestHash));
      result.identical &&=
        plainHashes.size === pipelineHashes.size &&
        [...plainHashes].every((h) => pipelineHashes.has(h)) &&
        pipelineCalls.length === pipelineHashes.size;
      result.calls = pipelineCalls.length;
      result.plainMs.push(plainMs);
      result.pipelineMs.push(pipelineMs);
      result.ratios.push(pipelineMs / plainMs);
      env.log(
        `overhead ${rep + 1}/${repetitions}: ${result.calls} calls, plain ${seconds(plainMs)} s, ` +
          `pipeline ${seconds(pipelineMs)} s, ratio ${(pipelineMs / plainMs).toFixed(3)}`,
      );
    }
    result.idealMs = (result.calls * latencyMs) / concurrency;
    return result;
  } finally {
    await worker.stop();
    await double.stop();
  }
}

/** Issue 16's target (it was 1.10x before the response cache became journals). */
const overheadTarget = 1.05;

/** The figure: total pipeline time over total plain time, repetitions interleaved so load drifts hit both alike. */
export const overheadRatio = (r: OverheadResult) =>
  r.pipelineMs.reduce((a, b) => a + b, 0) / r.plainMs.reduce((a, b) => a + b, 0);

export function overheadReport(r: OverheadResult): string[] {
  const o = r.options;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratio = overheadRatio(r);
  return [
    `${fmt(o.questions)} unlabeled questions x 4 collaborators = ${fmt(r.calls)} calls at ${o.latencyMs} ms each, ` +
      `concurrency cap ${o.concurrency} (ideal ${seconds(r.idealMs).toFixed(1)} s); ` +
      `shards of ${o.shardSize}, ${o.parallelShards} in parallel; worker in its own process. ` +
      `Identical request bodies in both: ${r.identical ? 'yes' : 'NO'}.`,
    '',
    '| repetition | plain script | collaborate stage through Temporal | ratio |',
    '|---|---|---|---|',
    ...r.plainMs.map(
      (p, i) =>
        `| ${i + 1} | ${seconds(p).toFixed(2)} s | ` +
        `${seconds(r.pipelineMs[i]).toFixed(2)} s | ${r.ratios[i].toFixed(3)}x |`,
    ),
    `| mean | ${seconds(mean(r.plainMs)).toFixed(2)} s | ${seconds(mean(r.pipelineMs)).toFixed(2)} s | ` +
      `**${ratio.toFixed(3)}x** (target <= ${overheadTarget.toFixed(2)}x: ` +
      `${ratio <= overheadTarget ? 'met' : 'NOT met'}) |`,
  ];
}

export const overheadVerdict = (r: OverheadResult): Verdict => ({
  benchmark: '1. overhead',
  target: `collaborate stage through Temporal <= ${overheadTarget.toFixed(2)}x a plain script with the same cap`,
  measured:
    `${overheadRatio(r).toFixed(3)}x ` +
    `(${r.options.questions} questions x 4 collaborators, ${r.options.latencyMs} ms per call)`,
  met: overheadRatio(r) <= overheadTarget && r.identical,
});
