// Content-addressed JSONL artifact store. Workflows only ever see ArtifactRefs; the bytes live here.
// Blobs are immutable and named by sha256; a "name" (run/stage/shard) is a small pointer to a blob, so a
// retried activity that finds its name already written returns the finished work instead of redoing it.
import { ApplicationFailure } from '@temporalio/common';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ArtifactStoreIntegrity, InvalidInput, MissingArtifact } from '../core/errors';
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

/**
 * A store that holds a corrupt blob or a symbolic link cannot be mended by trying again: the activity that reads it
 * fails at once (not retried for ever), and the run's failure carries this message.
 */
function integrityFailure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: ArtifactStoreIntegrity, nonRetryable: true });
}

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

  /**
   * Refuses a symbolic link at any level below the store root (a folder or the file itself), so that nothing
   * outside the store is ever read as part of it. A missing file rejects with ENOENT.
   */
  private async checkPlainPath(file: string): Promise<void> {
    let current = this.root;
    for (const part of path.relative(this.root, file).split(path.sep)) {
      current = path.join(current, part);
      if ((await fs.lstat(current)).isSymbolicLink())
        throw integrityFailure(
          `Artifact store: ${current} is a symbolic link; the store holds only plain files and folders.`,
        );
    }
  }

  /** Blobs are never deleted by a run, so a missing one stays missing however often the activity retries. */
  private async plainBlobPath(ref: ArtifactRef): Promise<string> {
    const file = this.blobPath(parseRef(ref));
    try {
      await this.checkPlainPath(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw ApplicationFailure.nonRetryable(
        `Artifact ${ref.uri} is not in the store at ${this.root}.`,
        MissingArtifact,
      );
    }
    return file;
  }

  async lookup(name: string): Promise<ArtifactRef | null> {
    try {
      const pointer = this.namePath(name);
      await this.checkPlainPath(pointer);
      const ref = JSON.parse(await fs.readFile(pointer, 'utf8')) as ArtifactRef;
      await this.plainBlobPath(ref);
      return ref;
    } catch (err) {
      // A name not written yet, or one whose blob is gone: that work has not finished.
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return null;
      if (err instanceof ApplicationFailure && err.type === MissingArtifact) return null;
      throw err;
    }
  }

  /** The blob's path, once its whole content has been checked against the reference. */
  async localPath(ref: ArtifactRef): Promise<string> {
    const file = await this.plainBlobPath(ref);
    for await (const record of this.verifiedRecords(ref, file, false)) void record;
    return file;
  }

  /**
   * Streams the records while hashing the bytes; at the end, the sha256 (and the record count, where the reference
   * records one) must match the reference, or the read fails. A consumer may therefore see records of a corrupt blob
   * before the error, but never finishes reading one: readAll never returns one.
   */
  async *readJsonl<T>(ref: ArtifactRef): AsyncIterable<T> {
    yield* this.verifiedRecords<T>(ref, await this.plainBlobPath(ref), true);
  }

  private async *verifiedRecords<T>(ref: ArtifactRef, file: string, parse: boolean): AsyncIterable<T> {
    const hash = createHash('sha256');
    const decoder = new StringDecoder('utf8');
    const input = createReadStream(file);
    let count = 0;
    let unparsable = false;
    let rest = '';
    const linesOf = function* (text: string, final: boolean) {
      const lines = (rest + text).split('\n');
      rest = final ? '' : lines.pop()!;
      for (const line of lines) if (line) yield line;
    };
    const recordOf = (line: string): { value: T } | null => {
      count++;
      if (!parse || unparsable) return null;
      try {
        return { value: JSON.parse(line) as T };
      } catch {
        unparsable = true; // a corrupt blob: reported below, once the whole file is hashed
        return null;
      }
    };
    try {
      for await (const chunk of input) {
        hash.update(chunk as Buffer);
        for (const line of linesOf(decoder.write(chunk as Buffer), false)) {
          const record = recordOf(line);
          if (record) yield record.value;
        }
      }
      for (const line of linesOf(decoder.end(), true)) {
        const record = recordOf(line);
        if (record) yield record.value;
      }
    } finally {
      input.destroy();
    }
    const problems = [
      ...(typeof ref.count === 'number' && count !== ref.count
        ? [`holds ${count} records where its reference records ${ref.count}`]
        : []),
      ...(hash.digest('hex') !== ref.sha256 || unparsable ? ['does not hash to its sha256'] : []),
    ];
    if (problems.length)
      throw integrityFailure(
        `Artifact ${ref.uri} is corrupt: its blob ${file} ${problems.join(' and ')}; ` +
          'it was cut short or changed after it was written.',
      );
  }

  async readAll<T>(ref: ArtifactRef): Promise<T[]> {
    const records: T[] = [];
    for await (const record of this.readJsonl<T>(ref)) records.push(record);
    return records;
  }
}

/**
 * A store that keeps nothing, for `flt validate`: writeJsonl returns the reference the records would get (the same
 * sha256, count and bytes as LocalArtifactStore's) and writes no file; anything that would read is refused.
 */
export class DryRunArtifactStore implements ArtifactStore {
  async writeJsonl(records: Iterable<unknown> | AsyncIterable<unknown>): Promise<ArtifactRef> {
    const hash = createHash('sha256');
    let count = 0;
    let bytes = 0;
    for await (const record of records as AsyncIterable<unknown>) {
      const line = `${JSON.stringify(record)}\n`;
      hash.update(line);
      bytes += Buffer.byteLength(line);
      count++;
    }
    const sha256 = hash.digest('hex');
    return { uri: refUri(sha256), sha256, count, bytes };
  }

  private nothingStored(): never {
    throw new Error(
      'This artifact store keeps nothing (it checks a config without writing); there is nothing to read.',
    );
  }

  // eslint-disable-next-line require-yield
  async *readJsonl<T>(): AsyncIterable<T> {
    this.nothingStored();
  }

  async readAll<T>(): Promise<T[]> {
    this.nothingStored();
  }

  async lookup(): Promise<ArtifactRef | null> {
    return null;
  }

  async localPath(): Promise<string> {
    this.nothingStored();
  }
}

/** The project data directory: artifacts, the response cache, local trainer jobs, the dev server's SQLite file. */
export function dataHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.FLT_HOME ?? '.flt');
}

export function defaultArtifactStore(env: NodeJS.ProcessEnv = process.env): LocalArtifactStore {
  return new LocalArtifactStore(path.resolve(env.FLT_ARTIFACT_ROOT ?? path.join(dataHome(env), 'artifacts')));
}
