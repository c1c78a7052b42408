// The pools a worker keeps prepared for retrieval are bounded by their bytes: loading more pools than the budget
// holds evicts the least recently used, and every query is still answered as by a freshly built index.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivityDeps } from '../../activities/context';
import { ModelGateway } from '../../activities/providers/gateway';
import { nearest, retrievalCacheBytes } from '../../activities/retrieval';
import { Bm25Index } from '../../core/bm25';
import type { McqItem } from '../../core/types';
import { AdapterCopies } from '../../lib/adapter-archive';
import { LocalArtifactStore } from '../../lib/artifacts';
import { ResponseCache } from '../../lib/response-cache';

function depsWith(env: NodeJS.ProcessEnv): ActivityDeps {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-retrieval-cache-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  return {
    store,
    gateway: new ModelGateway(new ResponseCache(path.join(home, 'response-cache')), env),
    jobsDir: path.join(home, 'jobs'),
    adapters: new AdapterCopies(store, path.join(home, 'adapters')),
    env,
  };
}

const words = ['profit', 'loss', 'board', 'shares', 'merger', 'dividend', 'quarter', 'sales', 'debt', 'outlook'];
/** A pool of 2,000 distinct questions: under 1 MiB prepared (items and index), so eight exceed the budget. */
const poolOf = (seed: number): McqItem[] =>
  Array.from({ length: 2000 }, (_, i) => ({
    id: `p${seed}-${i}`,
    question: `Pool ${seed} question ${i}: ${words[i % 10]} ${words[(i * 7 + seed) % 10]} ${words[(i * 3) % 10]} rose`,
    options: ['negative', 'neutral', 'positive'],
    answer: 'A',
  }));

describe('retrieval cache', () => {
  it('keeps its bytes within FLT_RETRIEVAL_CACHE_MIB over eight pools, answering as a fresh index would', async () => {
    const budget = 2;
    const deps = depsWith({ FLT_RETRIEVAL_CACHE_MIB: String(budget) });
    const pools = await Promise.all(Array.from({ length: 8 }, (_, seed) => deps.store.writeJsonl(poolOf(seed))));
    const queries = ['profit rose in the quarter', 'debt and dividend outlook', 'board merger shares'];
    const expected = (seed: number) => {
      const index = new Bm25Index(poolOf(seed).map((item) => item.question));
      return queries.map((query) => index.search(query, 4).map((hit) => hit.index));
    };
    let peak = 0;
    // Every pool twice, the second round in reverse: the first pools were evicted and are prepared again.
    for (const seed of [0, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3, 2, 1, 0]) {
      const { positions } = await nearest(deps, {}, { pool: pools[seed], k: 4, retriever: { kind: 'bm25' } }, queries);
      expect(positions).toEqual(expected(seed));
      peak = Math.max(peak, retrievalCacheBytes(deps));
      expect(retrievalCacheBytes(deps)).toBeLessThanOrEqual(budget * 2 ** 20);
    }
    // Something is kept: more than one pool's worth, so the budget, not a count, decides.
    expect(peak).toBeGreaterThan(2 ** 20);
  });
});
