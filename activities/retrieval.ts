// Retrieval of labeled examples by question text: BM25 (core/bm25.ts) or embeddings through the gateway.
// A worker prepares each pool once (its items, index or vectors) and keeps the recently used ones, keyed by content,
// within a byte budget (FLT_RETRIEVAL_CACHE_MIB, 64 by default): eight pools of 100,000 embedded questions would
// otherwise outgrow the worker's 256 MiB heap.
import { Bm25Index } from '../core/bm25';
import type { ProvidersConfig, RetrieverConfig } from '../core/config';
import type { Retrieval } from '../core/contracts';
import { nearestByCosine, normalize } from '../core/nearest';
import { addUsage, emptyUsage, type ArtifactRef, type McqItem, type StageUsage } from '../core/types';
import { ByteBoundedCache } from '../lib/byte-bounded-cache';
import type { ActivityDeps } from './context';
import { costOf } from './providers/gateway';
import { retryTransient } from './providers/errors';

export interface Neighbours {
  /** Per query, positions in the pool, nearest first. */
  positions: number[][];
  /** Embedding tokens and cost (embeddings are not chat calls, so `calls` stays 0). */
  usage: StageUsage;
}

type EmbeddingsRetriever = Extract<RetrieverConfig, { kind: 'embeddings' }>;

/** Texts per embeddings request. */
const embeddingBatch = 128;
const defaultCacheMib = 64;

type Prepared = { items: McqItem[] } | { index: Bm25Index } | { vectors: number[][] };

/** Estimated heap bytes: strings at two bytes a character (JSON adds about what objects cost), doubles at 8. */
function preparedBytes(prepared: Prepared): number {
  if ('items' in prepared) return 2 * JSON.stringify(prepared.items).length;
  if ('index' in prepared) return prepared.index.estimatedBytes;
  return prepared.vectors.reduce((sum, vector) => sum + 8 * vector.length + 32, 0);
}

/** One cache per worker (per ActivityDeps), so its budget is the worker's configuration. */
const caches = new WeakMap<ActivityDeps, ByteBoundedCache<Prepared>>();

function cacheOf(deps: ActivityDeps): ByteBoundedCache<Prepared> {
  let cache = caches.get(deps);
  if (!cache) {
    const mib = Number(deps.env.FLT_RETRIEVAL_CACHE_MIB) || defaultCacheMib;
    caches.set(deps, (cache = new ByteBoundedCache(mib * 2 ** 20, preparedBytes)));
  }
  return cache;
}

/** The estimated bytes of the pools a worker keeps prepared. */
export const retrievalCacheBytes = (deps: ActivityDeps): number => cacheOf(deps).bytes;

/** The pool's items, in order: positions returned by `nearest` index into this list. */
export async function poolItems(deps: ActivityDeps, pool: ArtifactRef): Promise<McqItem[]> {
  const prepared = await cacheOf(deps).get(`items:${pool.sha256}`, async () => ({
    items: await deps.store.readAll<McqItem>(pool),
  }));
  return (prepared as { items: McqItem[] }).items;
}

async function embed(
  { gateway }: ActivityDeps,
  providers: ProvidersConfig,
  retriever: EmbeddingsRetriever,
  texts: string[],
  options: { signal?: AbortSignal; payer?: string },
) {
  const embedder = gateway.embeddings(providers, retriever.provider, retriever.model);
  const vectors: number[][] = [];
  let usage = emptyUsage();
  for (let start = 0; start < texts.length; start += embeddingBatch) {
    const batch = texts.slice(start, start + embeddingBatch);
    const result = await retryTransient(
      () => embedder.embed(batch, options),
      `embedding ${batch.length} questions with ${retriever.provider}/${retriever.model}`,
      { signal: options.signal },
    );
    vectors.push(...result.vectors.map(normalize));
    usage = addUsage(usage, {
      ...emptyUsage(),
      promptTokens: result.usage.prompt_tokens,
      costUsd: costOf(providers[retriever.provider], result.usage),
    });
  }
  return { vectors, usage };
}

/** The k pool items nearest to each query (question texts only), as pool positions. */
export async function nearest(
  deps: ActivityDeps,
  providers: ProvidersConfig,
  { pool, k, retriever }: Retrieval,
  queries: string[],
  signal?: AbortSignal,
  /** The shard activity execution embedding for (see ChatOptions.payer): what it paid counts in any of its attempts. */
  payer?: string,
): Promise<Neighbours> {
  const questions = async () => (await poolItems(deps, pool)).map((item) => item.question);
  if (retriever.kind === 'bm25') {
    const { index } = (await cacheOf(deps).get(`bm25:${pool.sha256}`, async () => ({
      index: new Bm25Index(await questions()),
    }))) as { index: Bm25Index };
    return { positions: queries.map((query) => index.search(query, k).map((hit) => hit.index)), usage: emptyUsage() };
  }
  // Shared by every activity of the worker, so no one activity's cancellation signal aborts it; the response cache
  // makes a re-embedding after eviction free, and its usage is counted by the activity that paid for it.
  const key = `vectors:${JSON.stringify([pool.sha256, providers[retriever.provider], retriever.model])}`;
  let poolUsage = emptyUsage();
  const { vectors: poolVectors } = (await cacheOf(deps).get(key, async () => {
    const result = await embed(deps, providers, retriever, await questions(), { payer });
    poolUsage = result.usage;
    return { vectors: result.vectors };
  })) as { vectors: number[][] };
  const embeddedQueries = await embed(deps, providers, retriever, queries, { signal, payer });
  return {
    positions: embeddedQueries.vectors.map((query) => nearestByCosine(poolVectors, query, k)),
    usage: addUsage(poolUsage, embeddedQueries.usage),
  };
}
