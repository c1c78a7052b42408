// Retrieval of labeled examples (SemiEvol's in-context propagation and the RAG baseline): BM25, and embeddings
// through the gateway against the provider test double; and the few-shot prompts answerQuestions builds from them.
import type { ProvidersConfig } from '../../core/config';
import type { McqItem } from '../../core/types';
import { promptsFor } from '../../activities/inference';
import { nearest, retrievalCacheBytes } from '../../activities/retrieval';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps } from '../support/temporal';

const item = (id: string, question: string, answer: string | null = 'A'): McqItem => ({
  id,
  question,
  options: ['negative', 'neutral', 'positive'],
  answer,
});
const pool = [
  item('l0', 'Quarterly profit rose sharply on strong sales.', 'C'),
  item('l1', 'The company cut jobs after losses widened.'),
  item('l2', 'The board meets on Tuesday in Helsinki.', 'B'),
];
const queries = [
  'Profit rose on strong quarterly sales.',
  'Losses widened, so the company cut more jobs.',
  'The board meets in Helsinki.',
];

describe('retrieval of labeled examples', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble();
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 10,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 4,
      },
    };
  });
  afterAll(async () => {
    await deps.gateway.close();
    await double?.stop();
  });

  it('finds the nearest pool questions by BM25, nearest first, without any call', async () => {
    const ref = await deps.store.writeJsonl(pool);
    const found = await nearest(deps, providers, { pool: ref, k: 2, retriever: { kind: 'bm25' } }, queries);
    expect(found.positions.map((p) => p[0])).toEqual([0, 1, 2]);
    expect(found.positions.every((p) => p.length <= 2)).toBe(true);
    expect(found.usage.promptTokens).toBe(0);
  });

  it('finds them by embeddings, counting tokens and cost, and embeds the pool once per worker', async () => {
    const ref = await deps.store.writeJsonl(pool);
    const retrieval = {
      pool: ref,
      k: 1,
      retriever: { kind: 'embeddings' as const, provider: 'double', model: 'sim-embedding' },
    };
    await double.clearRequests();
    const first = await nearest(deps, providers, retrieval, queries);
    expect(first.positions).toEqual([[0], [1], [2]]);
    expect(first.usage.promptTokens).toBeGreaterThan(0);
    expect(first.usage.costUsd).toBeCloseTo(first.usage.promptTokens / 1e6, 12);
    await nearest(deps, providers, retrieval, ['Profit fell.']);
    // Pool and first queries, then only the new query.
    expect((await double.requests()).filter((r) => r.path === '/v1/embeddings')).toHaveLength(3);
  });

  it('counts embeddings paid by an attempt that died when its retry reads them, not for other payers', async () => {
    const ref = await deps.store.writeJsonl([...pool, item('l3', 'Dividends were raised for the tenth year.')]);
    const retrieval = {
      pool: ref,
      k: 1,
      retriever: { kind: 'embeddings' as const, provider: 'double', model: 'sim-embedding' },
    };
    const asked = ['Dividends went up again.', 'Sales fell short of forecasts.'];
    await double.clearRequests();
    // The first attempt pays for the pool and the queries; it dies before reporting what it paid.
    const paid = await nearest(deps, providers, retrieval, asked, undefined, 'run-a/7');
    expect(paid.usage.promptTokens).toBeGreaterThan(0);
    // Its retry, on a fresh worker (nothing prepared in memory), reads both from the response cache.
    const retried = await nearest({ ...deps }, providers, retrieval, asked, undefined, 'run-a/7');
    expect(retried.usage).toEqual(paid.usage);
    // Anyone else reading them paid nothing.
    const other = await nearest({ ...deps }, providers, retrieval, asked, undefined, 'run-b/7');
    expect(other.usage.promptTokens).toBe(0);
    expect(other.usage.costUsd).toBe(0);
    expect((await double.requests()).filter((r) => r.path === '/v1/embeddings')).toHaveLength(2);
  });

  it('keeps embedded pools within FLT_RETRIEVAL_CACHE_MIB, answering as a worker with room for them all', async () => {
    const budget = 2;
    const bounded = tempDeps({ FLT_TEST_KEY: 'k', FLT_RETRIEVAL_CACHE_MIB: String(budget) });
    const words = ['profit', 'loss', 'board', 'shares', 'merger', 'dividend', 'quarter', 'sales', 'debt', 'outlook'];
    // Eight pools of 300 questions, each about 0.7 MB embedded (256 doubles a question): together over the budget.
    const poolOf = (seed: number) =>
      Array.from({ length: 300 }, (_, i) =>
        item(`p${seed}-${i}`, `${words[i % 10]} ${words[(i * 7 + seed) % 10]} ${words[(i * 3) % 10]} ${seed}`),
      );
    // In both workers' stores: the same content, the same reference.
    const pools = await Promise.all(
      Array.from({ length: 8 }, async (_, seed) => {
        await deps.store.writeJsonl(poolOf(seed));
        return bounded.store.writeJsonl(poolOf(seed));
      }),
    );
    const retrieval = (pool: (typeof pools)[number]) => ({
      pool,
      k: 3,
      retriever: { kind: 'embeddings' as const, provider: 'double', model: 'sim-embedding' },
    });
    let peak = 0;
    try {
      for (const seed of [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]) {
        const found = await nearest(bounded, providers, retrieval(pools[seed]), queries);
        expect(found.positions).toEqual((await nearest(deps, providers, retrieval(pools[seed]), queries)).positions);
        expect(retrievalCacheBytes(bounded)).toBeLessThanOrEqual(budget * 2 ** 20);
        peak = Math.max(peak, retrievalCacheBytes(bounded));
      }
      expect(peak).toBeGreaterThan(2 ** 20); // more than one pool kept: the budget decides, not a count
    } finally {
      await bounded.gateway.close();
    }
  });

  it('gives answerQuestions few-shot prompts with the nearest labeled example, zero-shot if no retrieval', async () => {
    const ref = await deps.store.writeJsonl(pool);
    const base = {
      runId: 'r',
      stage: 'evaluate-rag',
      shard: { index: 0, of: 1, items: ref },
      model: { provider: 'double', model: 'sim-model' },
      providers,
      sampling: { temperature: 0, maxTokens: 8, seed: 0 },
    };
    const signal = new AbortController().signal;
    const tests = [item('t0', queries[0], null)];
    const rag = await promptsFor(
      deps,
      { ...base, retrieval: { pool: ref, k: 1, retriever: { kind: 'bm25' } } },
      tests,
      signal,
    );
    expect(rag.prompts[0][0].content).toContain(
      'Question: Quarterly profit rose sharply on strong sales.\nOptions:\n' +
        'A. negative\nB. neutral\nC. positive\nAnswer: C',
    );
    expect(rag.prompts[0][0].content).not.toContain('The board meets');
    expect(rag.prompts[0][1].content).toBe(`Question: ${queries[0]}\nOptions:\nA. negative\nB. neutral\nC. positive`);
    const zeroShot = await promptsFor(deps, base, tests, signal);
    expect(zeroShot.prompts[0][0].content).not.toContain('Quarterly profit');
  });
});
