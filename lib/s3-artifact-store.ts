// The artifact store in an S3-compatible bucket (`FLT_ARTIFACT_ROOT=s3://bucket/prefix`), so workers on several
// hosts share one store. Same layout and guarantees as the local folder: blobs by sha256, names as small pointers
// written only if absent (`If-None-Match: *`), every read checked against its reference. Blobs stream through a
// local spool file (uploads need their length and hash first), never through memory.
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidConfig, MissingArtifact } from '../core/errors';
import type { ArtifactRef } from '../core/types';
import type { S3Root } from './s3-root';
import { checkName, JsonlEncoder, parseRef, verifiedRecords, type ArtifactStore } from './artifact-contract';

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

const isMissing = (err: unknown) => statusOf(err) === 404 || (err as Error)?.name === 'NoSuchKey';

export class S3ArtifactStore implements ArtifactStore {
  readonly location: string;

  constructor(
    private readonly client: S3Client,
    private readonly root: S3Root,
    /** This host's folder for upload spool files and downloaded blobs (`localPath`). */
    private readonly localDir: string,
  ) {
    this.location = `s3://${root.bucket}/${root.prefix}`;
  }

  /**
   * The client from the standard AWS variables of `env`: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (an S3-compatible
   * server, addressed by path since its buckets have no DNS names), AWS_REGION, and AWS_ACCESS_KEY_ID with
   * AWS_SECRET_ACCESS_KEY (otherwise the SDK's own chain: profiles, instance roles).
   */
  static fromEnv(root: S3Root, env: NodeJS.ProcessEnv, localDir: string): S3ArtifactStore {
    const location = `s3://${root.bucket}/${root.prefix}`;
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region)
      throw ApplicationFailure.nonRetryable(
        `FLT_ARTIFACT_ROOT is ${location} but AWS_REGION is not set: expected the bucket's region ` +
          '(any name, such as us-east-1, for a server of your own).',
        InvalidConfig,
      );
    const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    if (endpoint !== undefined && !URL.canParse(endpoint))
      throw ApplicationFailure.nonRetryable(
        `AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL ${JSON.stringify(endpoint)}: expected a URL such as http://host:8333.`,
        InvalidConfig,
      );
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
    const client = new S3Client({
      region,
      endpoint,
      forcePathStyle: endpoint !== undefined,
      credentials:
        accessKeyId && secretAccessKey
          ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN }
          : undefined,
      // Checksums only where S3 requires them: not every S3-compatible server reads the SDK's trailing checksums,
      // and every read here is checked against the artifact's sha256 anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return new S3ArtifactStore(client, root, localDir);
  }

  private blobKey(sha256: string): string {
    return `${this.root.prefix}blobs/${sha256.slice(0, 2)}/${sha256}.jsonl`;
  }

  private nameKey(name: string): string {
    checkName(name);
    return `${this.root.prefix}names/${name}.json`;
  }

  private localBlob(sha256: string): string {
    return path.join(this.localDir, 'blobs', sha256.slice(0, 2), `${sha256}.jsonl`);
  }

  /** A missing bucket is a configuration error no retry mends: it fails the activity at once, saying so. */
  private async settled<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      if ((err as Error)?.name === 'NoSuchBucket')
        throw ApplicationFailure.nonRetryable(
          `Artifact store ${this.location}: the bucket "${this.root.bucket}" does not exist; ` +
            'create it, or point FLT_ARTIFACT_ROOT at an existing one.',
          InvalidConfig,
        );
      throw err;
    }
  }

  /** Creates the object only if the key is free (or, with `replacing`, still holds that ETag); false if not. */
  private async put(input: Omit<PutObjectCommandInput, 'Bucket'>, replacing?: string): Promise<boolean> {
    const condition = replacing === undefined ? { IfNoneMatch: '*' } : { IfMatch: replacing };
    try {
      await this.settled(this.client.send(new PutObjectCommand({ Bucket: this.root.bucket, ...input, ...condition })));
      return true;
    } catch (err) {
      if (statusOf(err) === 412) return false;
      throw err;
    }
  }

  async writeJsonl(records: Iterable<unknown> | AsyncIterable<unknown>, name?: string): Promise<ArtifactRef> {
    if (name) checkName(name);
    const spool = await this.spool(records);
    try {
      // Equal content has one address: a blob already there is the same bytes, not uploaded again.
      if (!(await this.hasBlob(spool.ref)))
        await this.put({
          Key: this.blobKey(spool.ref.sha256),
          Body: createReadStream(spool.file),
          ContentLength: spool.ref.bytes,
          ContentType: 'application/jsonl',
        });
      const kept = this.localBlob(spool.ref.sha256);
      await fs.mkdir(path.dirname(kept), { recursive: true });
      await fs.rename(spool.file, kept);
    } finally {
      await fs.rm(spool.file, { force: true });
    }
    return name ? this.writePointer(name, spool.ref) : spool.ref;
  }

  private async spool(
    records: Iterable<unknown> | AsyncIterable<unknown>,
  ): Promise<{ file: string; ref: ArtifactRef }> {
    const dir = path.join(this.localDir, 'tmp');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${process.pid}-${randomBytes(6).toString('hex')}.jsonl`);
    const encoder = new JsonlEncoder();
    try {
      await pipeline(encoder.lines(records), createWriteStream(file));
    } catch (err) {
      await fs.rm(file, { force: true });
      throw err;
    }
    return { file, ref: encoder.ref() };
  }

  /**
   * Points `name` at `ref` unless it already points at a blob in the store: two workers finishing the same shard
   * both get the first one's artifact. A pointer whose blob is gone is replaced, only if no one replaced it first.
   */
  private async writePointer(name: string, ref: ArtifactRef): Promise<ArtifactRef> {
    const pointer = { Key: this.nameKey(name), Body: JSON.stringify(ref), ContentType: 'application/json' };
    for (;;) {
      if (await this.put(pointer)) return ref;
      const existing = await this.readPointer(name);
      if (existing && (await this.hasBlob(existing.ref))) return existing.ref;
      if (existing && (await this.put(pointer, existing.etag))) return ref;
    }
  }

  private async readPointer(name: string): Promise<{ ref: ArtifactRef; etag: string } | null> {
    try {
      const object = await this.settled(
        this.client.send(new GetObjectCommand({ Bucket: this.root.bucket, Key: this.nameKey(name) })),
      );
      const ref = JSON.parse(await object.Body!.transformToString()) as ArtifactRef;
      return { ref, etag: object.ETag! };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  private async hasBlob(ref: ArtifactRef): Promise<boolean> {
    try {
      const key = this.blobKey(parseRef(ref));
      await this.settled(this.client.send(new HeadObjectCommand({ Bucket: this.root.bucket, Key: key })));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async lookup(name: string): Promise<ArtifactRef | null> {
    const pointer = await this.readPointer(name);
    // A name not written yet, or one whose blob is gone: that work has not finished.
    return pointer && (await this.hasBlob(pointer.ref)) ? pointer.ref : null;
  }

  /** Blobs are never deleted by a run, so a missing one stays missing however often the activity retries. */
  private async blobStream(ref: ArtifactRef): Promise<{ body: Readable; where: string }> {
    const key = this.blobKey(parseRef(ref));
    try {
      const object = await this.settled(this.client.send(new GetObjectCommand({ Bucket: this.root.bucket, Key: key })));
      // In Node the SDK's body is a Readable stream.
      return { body: object.Body as Readable, where: `s3://${this.root.bucket}/${key}` };
    } catch (err) {
      if (!isMissing(err)) throw err;
      throw ApplicationFailure.nonRetryable(
        `Artifact ${ref.uri} is not in the store at ${this.location}.`,
        MissingArtifact,
      );
    }
  }

  async *readJsonl<T>(ref: ArtifactRef): AsyncIterable<T> {
    const { body, where } = await this.blobStream(ref);
    try {
      yield* verifiedRecords<T>(ref, body, where, true);
    } finally {
      body.destroy();
    }
  }

  async readAll<T>(ref: ArtifactRef): Promise<T[]> {
    const records: T[] = [];
    for await (const record of this.readJsonl<T>(ref)) records.push(record);
    return records;
  }

  /** A copy on this host, checked against the reference whenever it is asked for; downloaded when missing or bad. */
  async localPath(ref: ArtifactRef): Promise<string> {
    const file = this.localBlob(parseRef(ref));
    if (await this.holdsVerified(ref, file, file)) return file;
    const { body, where } = await this.blobStream(ref);
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await fs.mkdir(path.dirname(file), { recursive: true });
    try {
      await pipeline(body, createWriteStream(tmp));
      await this.holdsVerified(ref, tmp, where);
      await fs.rename(tmp, file);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return file;
  }

  /** False when `file` is missing or does not match `ref`; for a download (`where` the bucket's key), throws then. */
  private async holdsVerified(ref: ArtifactRef, file: string, where: string): Promise<boolean> {
    const input = createReadStream(file);
    try {
      for await (const record of verifiedRecords(ref, input, where, false)) void record;
      return true;
    } catch (err) {
      if (where !== file) throw err;
      return false;
    } finally {
      input.destroy();
    }
  }
}
