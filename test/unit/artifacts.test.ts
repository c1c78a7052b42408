import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalArtifactStore, parseRef } from '../../lib/artifacts';

const newStore = () => new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-artifacts-')));

describe('LocalArtifactStore', () => {
  it('stores JSONL by content and reads it back in order', async () => {
    const store = newStore();
    const records = [
      { id: 'a', n: 1 },
      { id: 'b', text: 'line\nbreak "quoted"' },
    ];
    const ref = await store.writeJsonl(records);
    expect(ref.count).toBe(2);
    expect(ref.uri).toBe(`artifact:sha256/${ref.sha256}`);
    expect(await store.readAll(ref)).toEqual(records);
    expect(readFileSync(await store.localPath(ref), 'utf8')).toBe(
      records.map((r) => JSON.stringify(r) + '\n').join(''),
    );
  });

  it('gives equal content the same address, whatever the name', async () => {
    const store = newStore();
    const a = await store.writeJsonl([{ x: 1 }], 'runs/r1/stage/shard-00000');
    const b = await store.writeJsonl([{ x: 1 }]);
    expect(a).toEqual(b);
  });

  it('finds finished work by name and nothing for unfinished work', async () => {
    const store = newStore();
    expect(await store.lookup('runs/r1/evaluate-1/answers-00003')).toBeNull();
    const ref = await store.writeJsonl(
      (async function* () {
        yield { id: 1 };
        yield { id: 2 };
      })(),
      'runs/r1/evaluate-1/answers-00003',
    );
    expect(await store.lookup('runs/r1/evaluate-1/answers-00003')).toEqual(ref);
  });

  it('rejects references and names that could escape the store root', async () => {
    const store = newStore();
    const evil = { uri: 'artifact:sha256/../../etc/passwd', sha256: '../../etc/passwd', count: 0, bytes: 0 };
    expect(() => parseRef(evil)).toThrow(/Invalid artifact reference/);
    await expect(store.localPath(evil)).rejects.toThrow(/Invalid artifact reference/);
    await expect(store.lookup('runs/../../x')).rejects.toThrow(/Invalid artifact name/);
    await expect(store.writeJsonl([], '/abs/path')).rejects.toThrow(/Invalid artifact name/);
  });

  it('rejects a reference whose uri and sha256 disagree', () => {
    const a = 'a'.repeat(64);
    expect(() => parseRef({ uri: `artifact:sha256/${a}`, sha256: 'b'.repeat(64), count: 0, bytes: 0 })).toThrow();
  });
});
