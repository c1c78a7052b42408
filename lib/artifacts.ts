// Content-addressed JSONL artifact store. Workflows only ever see ArtifactRefs; the bytes live here.
// Blobs are immutable and named by sha256; a "name" (run/stage/shard) is a small pointer to a blob, so a
// retried activity that finds its name already written returns the finished work instead of redoing it.
// This file holds the local-folder backend and the choice of backend; S3 is in s3-artifact-store.ts.
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MissingArtifact } from '../core/errors';
import type { ArtifactRef } from '../core/types';
import {
  checkName,
  integrityFailure,
  JsonlEncoder,
  parseRef,
  verifiedRecords,
  type ArtifactStore,
} from './artifact-contract';
import type * as S3Store from './s3-artifact-store';
import { parseS3Root } from './s3-root';

export { parseRef, refUri, type ArtifactStore } from './artifact-contract';

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private blobPath(sha256: string): string {
    return path.join(this.root, 'blobs', sha256.slice(0, 2), `${sha256}.jsonl`);
  }

  private namePath(name: string): string {
    checkName(name);
    return path.join(this.root, 'names', `${name}.json`);
  }

  async writeJsonl(records: Iterable<unknown> | AsyncIterable<unknown>, name?: string): Promise<ArtifactRef> {
    if (name) checkName(name);
    const tmpDir = path.join(this.root, 'tmp');
    await fs.mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}.jsonl`);
    const encoder = new JsonlEncoder();
    const out = createWriteStream(tmp);
    try {
      for await (const line of encoder.lines(records)) {
        if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      const ref = encoder.ref();
      const blob = this.blobPath(ref.sha256);
      await fs.mkdir(path.dirname(blob), { recursive: true });
      await fs.rename(tmp, blob);
      return name ? await this.writePointer(name, ref) : ref;
    } catch (err) {
      out.destroy();
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  /** Points `name` at `ref` unless it already points at a blob in the store: the first writer keeps the name. */
  private async writePointer(name: string, ref: ArtifactRef): Promise<ArtifactRef> {
    const file = this.namePath(name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(ref));
    try {
      await fs.link(tmp, file); // atomic create-if-absent: a reader sees no pointer or a whole one
      return ref;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const existing = await this.lookup(name);
      if (existing) return existing;
      await fs.rename(tmp, file); // the name points at a blob that is gone: nothing to keep
      return ref;
    } finally {
      await fs.rm(tmp, { force: true });
    }
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
    for await (const record of this.verified(ref, file, false)) void record;
    return file;
  }

  async *readJsonl<T>(ref: ArtifactRef): AsyncIterable<T> {
    yield* this.verified<T>(ref, await this.plainBlobPath(ref), true);
  }

  private async *verified<T>(ref: ArtifactRef, file: string, parse: boolean): AsyncIterable<T> {
    const input = createReadStream(file);
    try {
      yield* verifiedRecords<T>(ref, input, file, parse);
    } finally {
      input.destroy();
    }
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
  readonly location = 'nowhere (a dry run)';

  async writeJsonl(records: Iterable<unknown> | AsyncIterable<unknown>): Promise<ArtifactRef> {
    const encoder = new JsonlEncoder();
    for await (const line of encoder.lines(records)) void line;
    return encoder.ref();
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

/** `FLT_ARTIFACT_ROOT`: a folder (by default `$FLT_HOME/artifacts`) or `s3://bucket/prefix`. */
export function defaultArtifactStore(env: NodeJS.ProcessEnv = process.env): ArtifactStore {
  const root = env.FLT_ARTIFACT_ROOT;
  const s3 = parseS3Root(root);
  if (s3) {
    // Required here, not imported: the S3 client takes a fifth of a second to load, which the CLI pays only when used.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3ArtifactStore } = require('./s3-artifact-store') as typeof S3Store;
    return S3ArtifactStore.fromEnv(s3, env, path.join(dataHome(env), 's3-artifacts'));
  }
  return new LocalArtifactStore(path.resolve(root ?? path.join(dataHome(env), 'artifacts')));
}
