// The artifact store's contract, run against both backends: the local folder and S3 on a real Versity Gateway server.
// Corruption is made the way it would happen to each: a file edited in place, an object overwritten in the bucket.
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ArtifactRef } from '../../core/types';
import { defaultArtifactStore, LocalArtifactStore, parseRef, type ArtifactStore } from '../../lib/artifacts';
import { S3ArtifactStore } from '../../lib/s3-artifact-store';
import { startS3Server, type S3Server } from '../support/s3-server';

interface Backend {
  /** A fresh, empty store; `host` names a separate local folder, as another machine would have. */
  newStore(host?: string): ArtifactStore;
  /** Replaces the blob's bytes where the store keeps them. */
  overwriteBlob(store: ArtifactStore, ref: ArtifactRef, bytes: string): Promise<void>;
  deleteBlob(store: ArtifactStore, ref: ArtifactRef): Promise<void>;
  /** Where the store's corruption message says the blob is. */
  blobLocation(store: ArtifactStore, ref: ArtifactRef): string;
}

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), prefix));

const localBackend: Backend = {
  newStore: () => new LocalArtifactStore(tmp('flt-contract-')),
  blobLocation: (store, ref) =>
    path.join((store as LocalArtifactStore).root, 'blobs', ref.sha256.slice(0, 2), `${ref.sha256}.jsonl`),
  async overwriteBlob(store, ref, bytes) {
    writeFileSync(this.blobLocation(store, ref), bytes);
  },
  async deleteBlob(store, ref) {
    rmSync(this.blobLocation(store, ref));
  },
};

function s3Backend(server: () => S3Server): Backend {
  let stores = 0;
  const prefixOf = (store: ArtifactStore) => store.location.slice(`s3://${server().bucket}/`.length);
  const blobKey = (store: ArtifactStore, ref: ArtifactRef) =>
    `${prefixOf(store)}blobs/${parseRef(ref).slice(0, 2)}/${ref.sha256}.jsonl`;
  return {
    newStore: () =>
      defaultArtifactStore({
        ...server().env,
        FLT_ARTIFACT_ROOT: `s3://${server().bucket}/contract-${process.pid}-${++stores}`,
        FLT_HOME: tmp('flt-contract-host-'),
      }),
    blobLocation: (store, ref) => `s3://${server().bucket}/${blobKey(store, ref)}`,
    async overwriteBlob(store, ref, bytes) {
      await server().client.send(
        new PutObjectCommand({ Bucket: server().bucket, Key: blobKey(store, ref), Body: bytes }),
      );
    },
    async deleteBlob(store, ref) {
      await server().client.send(new DeleteObjectCommand({ Bucket: server().bucket, Key: blobKey(store, ref) }));
    },
  };
}

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => s3?.stop());

describe.each([
  ['a local folder', localBackend],
  ['S3 (Versity Gateway)', s3Backend(() => s3)],
])('the artifact store in %s', (_where, backend) => {
  const threeHundred = Array.from({ length: 300 }, (_, i) => ({ id: `q${i}`, text: 'x'.repeat(20) }));
  const jsonl = (records: unknown[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

  it('stores JSONL by content, reads it back in order, and hands out a local file of the same bytes', async () => {
    const store = backend.newStore();
    const records = [
      { id: 'a', n: 1 },
      { id: 'b', text: 'line\nbreak "quoted" and ünïcödé' },
    ];
    const ref = await store.writeJsonl(records);
    const bytes = Buffer.byteLength(jsonl(records));
    expect(ref).toEqual({ uri: `artifact:sha256/${ref.sha256}`, sha256: ref.sha256, count: 2, bytes });
    expect(await store.readAll(ref)).toEqual(records);
    expect(readFileSync(await store.localPath(ref), 'utf8')).toBe(jsonl(records));
  });

  it('streams an artifact of many megabytes through, record by record', async () => {
    const store = backend.newStore();
    const many = function* () {
      for (let i = 0; i < 40_000; i++) yield { id: i, text: `${i} `.repeat(40) };
    };
    const ref = await store.writeJsonl(many());
    expect(ref.count).toBe(40_000);
    expect(ref.bytes).toBeGreaterThan(8 * 1024 * 1024);
    let expected = 0;
    for await (const record of store.readJsonl<{ id: number }>(ref)) expect(record.id).toBe(expected++);
    expect(expected).toBe(40_000);
  });

  it('gives equal content the same address, and finds finished work by name', async () => {
    const store = backend.newStore();
    expect(await store.lookup('runs/r1/evaluate-1/answers-00003')).toBeNull();
    const named = await store.writeJsonl(
      (async function* () {
        yield { x: 1 };
      })(),
      'runs/r1/evaluate-1/answers-00003',
    );
    expect(await store.writeJsonl([{ x: 1 }])).toEqual(named);
    expect(await store.lookup('runs/r1/evaluate-1/answers-00003')).toEqual(named);
  });

  it('keeps the first artifact under a name: two workers finishing one shard both get it', async () => {
    const store = backend.newStore();
    const first = await store.writeJsonl([{ answer: 'A' }], 'runs/r1/shard-00001');
    expect(await store.writeJsonl([{ answer: 'B' }], 'runs/r1/shard-00001')).toEqual(first);
    expect(await store.lookup('runs/r1/shard-00001')).toEqual(first);

    const racing = await Promise.all(
      ['A', 'B', 'C', 'D'].map((answer) => store.writeJsonl([{ answer }], 'runs/r1/shard-00002')),
    );
    const winner = await store.lookup('runs/r1/shard-00002');
    expect(racing).toEqual([winner, winner, winner, winner]);
    expect(['A', 'B', 'C', 'D']).toContain((await store.readAll<{ answer: string }>(winner!))[0].answer);
  });

  it('treats a name whose blob is gone as unfinished, and lets the work be written again', async () => {
    const store = backend.newStore();
    const lost = await store.writeJsonl([{ answer: 'A' }], 'runs/r1/shard-00003');
    await backend.deleteBlob(store, lost);
    expect(await store.lookup('runs/r1/shard-00003')).toBeNull();
    await expect(store.readAll(lost)).rejects.toMatchObject({ type: 'MissingArtifact', nonRetryable: true });
    await expect(store.readAll(lost)).rejects.toThrow(`Artifact ${lost.uri} is not in the store at ${store.location}.`);
    const redone = await store.writeJsonl([{ answer: 'B' }], 'runs/r1/shard-00003');
    expect(await store.lookup('runs/r1/shard-00003')).toEqual(redone);
  });

  it('rejects references and names that could escape the store', async () => {
    const store = backend.newStore();
    const evil = { uri: 'artifact:sha256/../../etc/passwd', sha256: '../../etc/passwd', count: 0, bytes: 0 };
    await expect(store.localPath(evil)).rejects.toThrow(/Invalid artifact reference/);
    await expect(store.readAll(evil)).rejects.toThrow(/Invalid artifact reference/);
    await expect(store.lookup('runs/../../x')).rejects.toThrow(/Invalid artifact name/);
    await expect(store.writeJsonl([], '/abs/path')).rejects.toThrow(/Invalid artifact name/);
  });

  it('refuses a blob cut short, even at a line end, naming where it lies; no retry mends it', async () => {
    const store = backend.newStore();
    const ref = await store.writeJsonl(threeHundred);
    await backend.overwriteBlob(store, ref, jsonl(threeHundred.slice(0, 200)));
    const where = backend.blobLocation(store, ref);
    await expect(store.readAll(ref)).rejects.toThrow(
      `Artifact ${ref.uri} is corrupt: its blob ${where} holds 200 records where its reference records 300 and ` +
        `holds ${jsonl(threeHundred.slice(0, 200)).length} bytes where its reference records ${ref.bytes} and ` +
        'does not hash to its sha256; it was cut short or changed after it was written.',
    );
    await expect(store.readAll(ref)).rejects.toMatchObject({ type: 'ArtifactStoreIntegrity', nonRetryable: true });
  });

  it('refuses a blob changed in place, the same size and record count', async () => {
    const store = backend.newStore();
    const ref = await store.writeJsonl(threeHundred);
    await backend.overwriteBlob(store, ref, jsonl(threeHundred).replace('"q7"', '"q8"'));
    await expect(store.readAll(ref)).rejects.toThrow(
      `Artifact ${ref.uri} is corrupt: its blob ${backend.blobLocation(store, ref)} does not hash to its sha256; ` +
        'it was cut short or changed after it was written.',
    );
  });
});

describe('the S3 store across hosts', () => {
  it('a second host reads what the first wrote; its local copy of a blob is checked against the bucket', async () => {
    const root = `s3://${s3.bucket}/hosts-${process.pid}`;
    const hostA = defaultArtifactStore({ ...s3.env, FLT_ARTIFACT_ROOT: root, FLT_HOME: tmp('flt-host-a-') });
    const hostB = defaultArtifactStore({ ...s3.env, FLT_ARTIFACT_ROOT: root, FLT_HOME: tmp('flt-host-b-') });
    expect(hostB).toBeInstanceOf(S3ArtifactStore);
    const ref = await hostA.writeJsonl([{ id: 1 }, { id: 2 }], 'runs/r9/shard-00000');
    expect(await hostB.lookup('runs/r9/shard-00000')).toEqual(ref);
    const copy = await hostB.localPath(ref);
    expect(copy.startsWith(os.tmpdir())).toBe(true);
    expect(readFileSync(copy, 'utf8')).toBe('{"id":1}\n{"id":2}\n');
    // A local copy damaged on disk is fetched again rather than handed to an upload.
    writeFileSync(copy, '{"id":1}\n');
    expect(readFileSync(await hostB.localPath(ref), 'utf8')).toBe('{"id":1}\n{"id":2}\n');
  });

  it('refuses a bad root or a missing region in one sentence, before any request', () => {
    expect(() => defaultArtifactStore({ FLT_ARTIFACT_ROOT: 's3://' })).toThrow(
      'FLT_ARTIFACT_ROOT "s3://": expected s3://<bucket>/<prefix>, the bucket 3 to 63 lowercase letters, digits, ' +
        '"." or "-", the prefix slash-separated parts of letters, digits, "_", ".", "=" or "-".',
    );
    expect(() => defaultArtifactStore({ FLT_ARTIFACT_ROOT: 's3://flt/runs' })).toThrow(
      "FLT_ARTIFACT_ROOT is s3://flt/runs/ but AWS_REGION is not set: expected the bucket's region " +
        '(any name, such as us-east-1, for a server of your own).',
    );
  });

  it('says which bucket is missing, as a failure no retry mends', async () => {
    const store = defaultArtifactStore({ ...s3.env, FLT_ARTIFACT_ROOT: 's3://no-such-bucket-flt/x' });
    await expect(store.writeJsonl([{ id: 1 }])).rejects.toMatchObject({
      type: 'InvalidConfig',
      nonRetryable: true,
      message:
        'Artifact store s3://no-such-bucket-flt/x/: the bucket "no-such-bucket-flt" does not exist; ' +
        'create it, or point FLT_ARTIFACT_ROOT at an existing one.',
    });
  });
});
