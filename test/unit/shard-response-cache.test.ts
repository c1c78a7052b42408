// A shard's finished calls reach the shared store within the save interval even when no later call finishes to
// trigger the save: a shard held quiet (a slow provider, a paused stage) would otherwise keep them only on its host.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalArtifactStore } from '../../lib/artifacts';
import { ResponseCache } from '../../lib/response-cache';
import { ShardResponseCache } from '../../lib/shard-response-cache';

describe('ShardResponseCache', () => {
  afterEach(() => jest.useRealTimers());

  it('saves the calls finished since the last save once the interval has passed, with no call after them', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-shard-cache-'));
    const store = new LocalArtifactStore(path.join(dir, 'store'));
    const segmentsStarted: string[] = [];
    const watched = Object.assign(Object.create(store) as LocalArtifactStore, {
      writeJsonl: (records: AsyncIterable<unknown> | Iterable<unknown>, name?: string) => {
        segmentsStarted.push(name!);
        return store.writeJsonl(records, name);
      },
    });
    const cache = new ShardResponseCache(watched, 'run/7', new ResponseCache(path.join(dir, 'calls')), 2_000);
    await cache.set('a', { answer: 'A' });
    await cache.set('b', { answer: 'B' });
    const retry = () => new ShardResponseCache(store, 'run/7', new ResponseCache(path.join(dir, 'elsewhere')));
    expect(await retry().get('a')).toBeUndefined();

    await jest.advanceTimersByTimeAsync(2_000);
    expect(segmentsStarted).toHaveLength(1);
    // Its write runs on real file I/O: a later save of the same cache (with nothing left to write) waits for it.
    await cache.save();
    expect(segmentsStarted).toHaveLength(1);
    const elsewhere = retry();
    expect([await elsewhere.get('a'), await elsewhere.get('b')]).toEqual([{ answer: 'A' }, { answer: 'B' }]);
  });
});
