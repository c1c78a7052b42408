// A trained adapter's folder carried through the artifact store, so a machine other than the trainer's can load it
// (a serving engine, embedded llama.cpp, the next stage's trainer). The folder is one JSONL artifact whose records are
// its files in base64 chunks: a third more bytes than the files, but the store's content address, its checks against
// cut or changed blobs and its create-once names apply unchanged, on a local folder and in S3 alike.
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AdapterArchive, ArtifactRef } from '../core/types';
import { integrityFailure, type ArtifactStore } from './artifact-contract';

/** Bytes of a file per record: records stay small enough to stream. */
const chunkBytes = 1 << 20;

type ArchiveRecord = { file: string; size: number } | { file: string; data: string };

async function* folderRecords(root: string, onBytes: (bytes: number) => void): AsyncIterable<ArchiveRecord> {
  const files = (await fs.promises.readdir(root, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
  for (const file of files) {
    const handle = await fs.promises.open(path.join(root, file), 'r');
    try {
      const { size } = await handle.stat();
      yield { file, size };
      const buffer = Buffer.alloc(chunkBytes);
      for (let read = 0; read < size;) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(chunkBytes, size - read), read);
        if (bytesRead === 0) break;
        read += bytesRead;
        onBytes(bytesRead);
        yield { file, data: buffer.subarray(0, bytesRead).toString('base64') };
      }
    } finally {
      await handle.close();
    }
  }
}

/** The store's name for a job's adapter folder, or for the folder of one of its epochs. */
export const storedAdapterName = (jobId: string, epoch?: number): string =>
  epoch === undefined ? `adapters/${jobId}` : `adapters/${jobId}-epoch-${epoch}`;

/**
 * Stores the folder `root` (every file below it) under `name`, once: a second archive of the same job (a retried
 * poll) finds the name taken and gets the first archive's reference. `onBytes` hears of each file chunk read.
 */
export async function archiveAdapter(
  store: ArtifactStore,
  root: string,
  name: string,
  onBytes: (bytes: number) => void = () => undefined,
): Promise<AdapterArchive> {
  const ref = (await store.lookup(name)) ?? (await store.writeJsonl(folderRecords(root, onBytes), name));
  return { ref, root };
}

/**
 * A local folder with the archive's files: `dir/<sha256>`, unpacked once (into a temporary folder renamed into place,
 * so a worker killed while unpacking leaves no half folder behind).
 */
async function unpacked(store: ArtifactStore, ref: ArtifactRef, dir: string): Promise<string> {
  const target = path.join(dir, ref.sha256);
  if (fs.existsSync(target)) return target;
  const partial = `${target}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.promises.mkdir(partial, { recursive: true });
  let current: { file: string; handle: fs.promises.FileHandle; left: number } | null = null;
  const finish = async () => {
    if (!current) return;
    await current.handle.close();
    if (current.left !== 0)
      throw integrityFailure(`adapter archive ${ref.uri} holds ${current.file} short by ${current.left} bytes`);
    current = null;
  };
  try {
    for await (const record of store.readJsonl<ArchiveRecord>(ref)) {
      const file = path.join(partial, record.file);
      if (!file.startsWith(`${partial}${path.sep}`))
        throw integrityFailure(`adapter archive ${ref.uri} names ${record.file}, outside its folder`);
      if ('size' in record) {
        await finish();
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        current = { file: record.file, handle: await fs.promises.open(file, 'w'), left: record.size };
      } else {
        if (current?.file !== record.file) throw integrityFailure(`adapter archive ${ref.uri} is out of order`);
        const data = Buffer.from(record.data, 'base64');
        await current.handle.write(data);
        current.left -= data.length;
      }
    }
    await finish();
    await fs.promises.rename(partial, target).catch((err: NodeJS.ErrnoException) => {
      // Another attempt unpacked it first: theirs is the same content.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } catch (err) {
    // An archive that is not what it should be stays so: failed at once, as the store fails a corrupt blob.
    if (err instanceof ApplicationFailure) throw err;
    throw new Error(`could not unpack adapter ${ref.uri}: ${err instanceof Error ? err.message : err}`, { cause: err });
  } finally {
    await (current as { handle: fs.promises.FileHandle } | null)?.handle.close().catch(() => undefined);
    await fs.promises.rm(partial, { recursive: true, force: true });
  }
  return target;
}

/** Adapters as this machine reaches them: where the run recorded them, else unpacked from the artifact store. */
export class AdapterCopies {
  /** `dir`: where unpacked copies are kept, one folder per archive. */
  constructor(
    private readonly store: ArtifactStore,
    private readonly dir: string,
  ) {}

  /**
   * Where `adapter.path` (inside the trainer's adapter folder, as the run recorded it) is on this machine: as recorded
   * when it exists here (the trainer's host, or a shared mount), else in the archive's unpacked copy.
   */
  async localPath({ path: recorded, archive }: { path: string; archive?: AdapterArchive }): Promise<string> {
    if (!archive || fs.existsSync(recorded)) return recorded;
    const inside = path.relative(archive.root, recorded);
    if (inside.startsWith('..') || path.isAbsolute(inside)) return recorded;
    return path.join(await unpacked(this.store, archive.ref, this.dir), inside);
  }
}
