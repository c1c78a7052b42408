// Content-addressed JSONL artifact store. Workflows only ever see ArtifactRefs; the bytes live here.
// Blobs are immutable and named by sha256; a "name" (run/stage/shard) is a small pointer to a blob, so a
// retried activity that finds its name already written returns the finished work instead of redoing it.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ApplicationFailure } from '@temporalio/common';
import { InvalidInput, MissingArtifact } from '../core/errors';
import type { ArtifactRef } from '../core/types';

export interface ArtifactStore {
  /** Writes records as JSONL (one JSON value per line); `name` additionally points that name at the blob. */
  writeJsonl(records: Iterable<unknown> | AsyncIterable<unknown>, name?: string): Promise<ArtifactRef>;
  /** Streams the records of an artifact, in order. */
  readJsonl<T>(ref: ArtifactRef): AsyncIterable<T>;
  readAll<T>(ref: ArtifactRef): Promise<T[]>;
  /** The artifact a name points to, or null when that work has not finished. */
  lookup(name: string): Promise<ArtifactRef | null>;
  /** A local file holding the artifact's bytes (for uploads to providers). */
  localPath(ref: ArtifactRef): Promise<string>;
}

const uriPattern = /^artifact:sha256\/([0-9a-f]{64})$/;
const namePattern = /^[A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*$/;

export function refUri(sha256: string): string {
  return `artifact:sha256/${sha256}`;
}

/** Validates a reference before any path is built from it, so no reference can point outside the store. */
export function parseRef(ref: ArtifactRef): string {
  const match = uriPattern.exec(ref?.uri ?? '');
  if (!match || match[1] !== ref.sha256)
    throw ApplicationFailure.nonRetryable(
      `Invalid artifact reference ${JSON.stringify(ref?.uri)}: ` +
        'expected artifact:sha256/<64 hex digits> matching its sha256.',
      InvalidInput,
    );
  return match[1];
}

function checkName(name: string): void {
  if (!namePattern.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
    throw ApplicationFailure.nonRetryable(
      `Invalid artifact name ${JSON.stringify(name)}: ` +
        'expected slash-separated parts of letters, digits, "_", ".", "=" or "-".',
      InvalidInput,
    );
  }
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  private blobPath(sha256: string): string {
    return path.join(this.root, 'blobs', sha256.slice(0, 2), `${sha256}.jsonl`);
  }

  private namePath(name: string): string {
    checkName(name);
    return path.join(this.root, 'names', `${name}.json`);
  }

  async writeJsonl(records: Iterable<unknown> | AsyncIterable<unknown>, name?: string): Promise<ArtifactRef> {
    const tmpDir = path.join(this.root, 'tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}.jsonl`);
    const hash = createHash('sha256');
    const out = createWriteStream(tmp);
    let count = 0;
    let bytes = 0;
    try {
      for await (const record of records as AsyncIterable<unknown>) {
        const line = `${JSON.stringify(record)}\n`;
        hash.update(line);
        bytes += Buffer.byteLength(line);
        count++;
        if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      const sha256 = hash.digest('hex');
      const blob = this.blobPath(sha256);
      await fs.mkdir(path.dirname(blob), { recursive: true });
      await fs.rename(tmp, blob);
      const ref: ArtifactRef = { uri: refUri(sha256), sha256, count, bytes };
      if (name) await this.writePointer(name, ref);
      return ref;
    } catch (err) {
      out.destroy();
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  private async writePointer(name: string, ref: ArtifactRef): Promise<void> {
    const file = this.namePath(name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(ref));
    await fs.rename(tmp, file); // atomic: a reader sees the old pointer or the new one, never half
  }

  async lookup(name: string): Promise<ArtifactRef | null> {
    try {
      const ref = JSON.parse(await fs.readFile(this.namePath(name), 'utf8')) as ArtifactRef;
      await fs.access(this.blobPath(parseRef(ref)));
      return ref;
    } catch (err) {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return null;
      throw err;
    }
  }

  async localPath(ref: ArtifactRef): Promise<string> {
    const file = this.blobPath(parseRef(ref));
    try {
      await fs.access(file);
    } catch (err) {
      // Blobs are never deleted by a run, so a missing one stays missing however often the activity retries.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw ApplicationFailure.nonRetryable(
          `Artifact ${ref.uri} is not in the store at ${this.root}.`,
          MissingArtifact,
        );
      throw err;
    }
    return file;
  }

  async *readJsonl<T>(ref: ArtifactRef): AsyncIterable<T> {
    const lines = readline.createInterface({ input: createReadStream(await this.localPath(ref)), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line) yield JSON.parse(line) as T;
    }
  }

  async readAll<T>(ref: ArtifactRef): Promise<T[]> {
    const records: T[] = [];
    for await (const record of this.readJsonl<T>(ref)) records.push(record);
    return records;
  }
}

/** The project data directory: artifacts, the response cache, local trainer jobs, the dev server's SQLite file. */
export function dataHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.FLT_HOME ?? '.flt');
}

export function defaultArtifactStore(env: NodeJS.ProcessEnv = process.env): LocalArtifactStore {
  return new LocalArtifactStore(path.resolve(env.FLT_ARTIFACT_ROOT ?? path.join(dataHome(env), 'artifacts')));
}
