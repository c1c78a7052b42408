// Retrieval of labeled examples by question text: BM25 (core/bm25.ts) or embeddings through the gateway.
// A worker prepares each pool once (its items, index or vectors) and keeps a few, keyed by content.
import { Bm25Index } from '../core/bm25';
import type { ProvidersConfig, RetrieverConfig } from '../core/config';
import type { Retrieval } from '../core/contracts';
import { nearestByCosine, normalize } from '../core/nearest';
import { addUsage, emptyUsage, type ArtifactRef, type McqItem, type StageUsage } from '../core/types';
import type { ArtifactStore } from '../lib/artifacts';
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
const maxCached = 8;

const itemsCache = new Map<string, Promise<McqItem[]>>();
const indexCache = new Map<string, Promise<Bm25Index>>();
const vectorCache = new Map<string, Promise<number[][]>>();

function cached<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (!value) {
    value = load();
    if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}

/** The pool's items, in order: positions returned by `nearest` index into this list. */
export function poolItems(store: ArtifactStore, pool: ArtifactRef): Promise<McqItem[]> {
  return cached(itemsCache, pool.sha256, () => store.readAll<McqItem>(pool));
}

async function embed(
  { gateway }: ActivityDeps,
  providers: ProvidersConfig,
  retriever: EmbeddingsRetriever,
  texts: string[],
  signal?: AbortSignal,
) {
  const embedder = gateway.embeddings(providers, retriever.provider, retriever.model);
  const vectors: number[][] = [];
  let usage = emptyUsage();
  for (let start = 0; start < texts.length; start += embeddingBatch) {
    const batch = texts.slice(start, start + embeddingBatch);
    const result = await retryTransient(
      () => embedder.embed(batch, signal),
      `embedding ${batch.length} questions with ${retriever.provider}/${retriever.model}`,
      { signal },
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
): Promise<Neighbours> {
  const questions = async () => (await poolItems(deps.store, pool)).map((item) => item.question);
  if (retriever.kind === 'bm25') {
    const index = await cached(indexCache, pool.sha256, async () => new Bm25Index(await questions()));
    return { positions: queries.map((query) => index.search(query, k).map((hit) => hit.index)), usage: emptyUsage() };
  }
  // Shared by every activity of the worker, so no one activity's cancellation signal aborts it; the response cache
  // makes a re-embedding after eviction free, and its usage is counted by the activity that started it.
  const key = JSON.stringify([pool.sha256, providers[retriever.provider], retriever.model]);
  let poolUsage = emptyUsage();
  const poolVectors = await cached(vectorCache, key, async () => {
    const result = await embed(deps, providers, retriever, await questions());
    poolUsage = result.usage;
    return result.vectors;
  });
  const embeddedQueries = await embed(deps, providers, retriever, queries, signal);
  return {
    positions: embeddedQueries.vectors.map((query) => nearestByCosine(poolVectors, query, k)),
    usage: addUsage(poolUsage, embeddedQueries.usage),
  };
}
