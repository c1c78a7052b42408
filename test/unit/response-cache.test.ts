// The per-call response cache makes its folders once per process; a folder removed since is made again.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ResponseCache } from '../../lib/response-cache';

describe('ResponseCache', () => {
  it('keeps answers across writes, also after its folder was removed, and leaves no temporary file', async () => {
    const root = path.join(mkdtempSync(path.join(os.tmpdir(), 'flt-cache-')), 'calls');
    const cache = new ResponseCache(root);
    const key = ResponseCache.key({ request: 1 });
    await cache.set(key, { answer: 'A' });
    rmSync(root, { recursive: true });
    expect(await cache.get(key)).toBeUndefined();
    await cache.set(key, { answer: 'B' });
    await cache.set(ResponseCache.key({ request: 2 }), { answer: 'C' });
    expect(await cache.get(key)).toEqual({ answer: 'B' });
    expect(readdirSync(path.join(root, key.slice(0, 2)))).toEqual([`${key}.json`]);
  });
});
