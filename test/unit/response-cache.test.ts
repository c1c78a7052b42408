// The host's response cache: answers appended to one journal per writer, found by every reader on the host.
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { workerIdentity } from '../../lib/host-identity';
import { ResponseCache } from '../../lib/response-cache';

const tempRoot = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'flt-cache-')), 'calls');
const key = (n: number) => ResponseCache.key({ request: n });

describe('ResponseCache', () => {
  it('keeps answers in one journal file per writer, however many calls', async () => {
    const root = tempRoot();
    const cache = new ResponseCache(root);
    for (let n = 0; n < 50; n++) await cache.set(key(n), { answer: n, text: 'é\n"quoted"' });
    expect(await cache.get(key(7))).toEqual({ answer: 7, text: 'é\n"quoted"' });
    expect(await cache.get(key(99))).toBeUndefined();
    expect(readdirSync(root)).toEqual(['journal']);
    expect(readdirSync(path.join(root, 'journal'))).toHaveLength(1);
    expect(ResponseCache.count(root)).toBe(50);
  });

  it('finds what another writer appended after this reader last looked', async () => {
    const root = tempRoot();
    const reader = new ResponseCache(root);
    const writer = new ResponseCache(root);
    await writer.set(key(1), 'first');
    expect(await reader.get(key(1))).toBe('first');
    expect(await reader.get(key(2))).toBeUndefined();
    await writer.set(key(2), 'second');
    expect(await reader.get(key(2))).toBe('second');
    // A later answer to the same request (a re-run under a salt never shares keys; a retry race may) wins.
    await reader.set(key(1), 'again');
    expect(await new ResponseCache(root).get(key(1))).toMatch(/first|again/);
  });

  it('takes no answer from a line cut short, and reads the line once its writer has finished it', async () => {
    const root = tempRoot();
    const folder = path.join(root, 'journal');
    mkdirSync(folder, { recursive: true });
    const live = path.join(folder, `${workerIdentity().replaceAll('/', '+')}~other.jsonl`);
    const line = `${key(1)} ${JSON.stringify({ answer: 'A' })}\n`;
    appendFileSync(live, line.slice(0, 70));
    const cache = new ResponseCache(root);
    expect(await cache.get(key(1))).toBeUndefined();
    appendFileSync(live, line.slice(70));
    expect(await cache.get(key(1))).toEqual({ answer: 'A' });
  });

  it("reads an ended writer's journal once, skipping the line its death cut short", async () => {
    const root = tempRoot();
    const folder = path.join(root, 'journal');
    mkdirSync(folder, { recursive: true });
    const deadPid = 4_194_303; // above any pid this host hands out
    const ended = path.join(folder, `${workerIdentity(undefined, deadPid).replaceAll('/', '+')}~gone.jsonl`);
    writeFileSync(ended, `${key(1)} "kept"\n${key(2)} "cut sho`);
    const cache = new ResponseCache(root);
    expect(await cache.get(key(1))).toBe('kept');
    expect(await cache.get(key(2))).toBeUndefined();
    // Nothing more is read from it: its writer is gone.
    appendFileSync(ended, `rt"\n${key(3)} "late"\n`);
    expect(await cache.get(key(3))).toBeUndefined();
    expect(await new ResponseCache(root).get(key(3))).toBe('late');
  });

  it('still reads the one-file-per-call answers of earlier versions', async () => {
    const root = tempRoot();
    mkdirSync(path.join(root, key(1).slice(0, 2)), { recursive: true });
    writeFileSync(path.join(root, key(1).slice(0, 2), `${key(1)}.json`), JSON.stringify({ answer: 'old' }));
    const cache = new ResponseCache(root);
    await cache.set(key(2), { answer: 'new' });
    expect(await cache.get(key(1))).toEqual({ answer: 'old' });
    expect(await cache.get(key(2))).toEqual({ answer: 'new' });
    expect(ResponseCache.count(root)).toBe(2);
  });

  it('forgets answers whose folder was removed (a cache cleared by hand) and keeps new ones', async () => {
    const root = tempRoot();
    const cache = new ResponseCache(root);
    await cache.set(key(1), { answer: 'A' });
    rmSync(root, { recursive: true });
    expect(await cache.get(key(1))).toBeUndefined();
    await cache.set(key(1), { answer: 'B' });
    await cache.set(key(2), { answer: 'C' });
    expect(await cache.get(key(1))).toEqual({ answer: 'B' });
    expect(await new ResponseCache(root).get(key(2))).toEqual({ answer: 'C' });
  });
});
