import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
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

  describe('verifies what it reads', () => {
    const threeHundred = Array.from({ length: 300 }, (_, i) => ({ id: `q${i}`, text: 'x'.repeat(20) }));

    it('refuses a truncated blob instead of returning fewer records', async () => {
      const store = newStore();
      const ref = await store.writeJsonl(threeHundred);
      const blob = await store.localPath(ref);
      // Cut at a line end, after 200 records: every line left is valid JSON.
      const kept = readFileSync(blob, 'utf8').split('\n').slice(0, 200).join('\n').length + 1;
      truncateSync(blob, kept);
      await expect(store.readAll(ref)).rejects.toThrow(
        `Artifact ${ref.uri} is corrupt: its blob ${blob} holds 200 records where its reference records 300 ` +
          `and holds ${kept} bytes where its reference records ${ref.bytes} ` +
          'and does not hash to its sha256; it was cut short or changed after it was written.',
      );
      await expect(store.localPath(ref)).rejects.toThrow(/is corrupt: its blob .* does not hash to its sha256/);
      // Retrying cannot mend a blob: the activity that reads it fails at once and the run says why.
      await expect(store.readAll(ref)).rejects.toMatchObject({ type: 'ArtifactStoreIntegrity', nonRetryable: true });
    });

    it('refuses a blob whose content changed but whose record count did not', async () => {
      const store = newStore();
      const ref = await store.writeJsonl(threeHundred);
      const blob = await store.localPath(ref);
      writeFileSync(blob, readFileSync(blob, 'utf8').replace('"q7"', '"q8"'));
      await expect(store.readAll(ref)).rejects.toThrow(
        `Artifact ${ref.uri} is corrupt: its blob ${blob} does not hash to its sha256; ` +
          'it was cut short or changed after it was written.',
      );
    });

    it('refuses a symlink inside the store, even to the right content', async () => {
      const store = newStore();
      const ref = await store.writeJsonl(threeHundred, 'runs/r1/stage');
      const blob = await store.localPath(ref);
      const elsewhere = path.join(mkdtempSync(path.join(os.tmpdir(), 'flt-elsewhere-')), 'blob.jsonl');
      copyFileSync(blob, elsewhere);
      renameSync(blob, `${blob}.moved`);
      symlinkSync(elsewhere, blob);
      const refused = `Artifact store: ${blob} is a symbolic link; the store holds only plain files and folders.`;
      await expect(store.readAll(ref)).rejects.toThrow(refused);
      await expect(store.localPath(ref)).rejects.toThrow(refused);
      await expect(store.lookup('runs/r1/stage')).rejects.toThrow(refused);
      await expect(store.readAll(ref)).rejects.toMatchObject({ type: 'ArtifactStoreIntegrity', nonRetryable: true });

      const pointerStore = newStore();
      await pointerStore.writeJsonl([{ id: 1 }], 'runs/r2/real');
      const pointers = path.join(pointerStore.root, 'names', 'runs', 'r2');
      symlinkSync(path.join(pointers, 'real.json'), path.join(pointers, 'alias.json'));
      await expect(pointerStore.lookup('runs/r2/alias')).rejects.toThrow(
        `Artifact store: ${path.join(pointers, 'alias.json')} is a symbolic link; ` +
          'the store holds only plain files and folders.',
      );

      const folderStore = newStore();
      const folderRef = await folderStore.writeJsonl([{ id: 1 }]);
      const shardFolder = path.dirname(await folderStore.localPath(folderRef));
      const movedFolder = path.join(mkdtempSync(path.join(os.tmpdir(), 'flt-elsewhere-')), 'shard');
      mkdirSync(movedFolder);
      copyFileSync(await folderStore.localPath(folderRef), path.join(movedFolder, path.basename(blob)));
      renameSync(shardFolder, `${shardFolder}.moved`);
      symlinkSync(movedFolder, shardFolder);
      await expect(folderStore.readAll(folderRef)).rejects.toThrow(
        `Artifact store: ${shardFolder} is a symbolic link; the store holds only plain files and folders.`,
      );
    });
  });
});
