// What every artifact store backend shares: the interface, content addresses, names, JSONL encoding and the verified
// read that refuses a blob whose bytes no longer match its reference.
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { ArtifactStoreIntegrity, InvalidInput } from '../core/errors';
import type { ArtifactRef } from '../core/types';

export interface ArtifactStore {
  /** Where the store keeps its data (a folder or an s3:// URL), for messages. */
  readonly location: string;
  /**
   * Writes records as JSONL (one JSON value per line); `name` additionally points that name at the blob, unless the
   * name already points somewhere: then the name keeps its first blob, and that blob's reference is returned.
   */
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
export function integrityFailure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: ArtifactStoreIntegrity, nonRetryable: true });
}

export function refUri(sha256: string): string {
  return `artifact:sha256/${sha256}`;
}

/** Validates a reference before any path or key is built from it, so no reference can point outside the store. */
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

export function checkName(name: string): void {
  if (!namePattern.test(name) || name.split('/').some((part) => part === '..' || part === '.')) {
    throw ApplicationFailure.nonRetryable(
      `Invalid artifact name ${JSON.stringify(name)}: ` +
        'expected slash-separated parts of letters, digits, "_", ".", "=" or "-".',
      InvalidInput,
    );
  }
}

/** The JSONL lines of `records`, hashing and counting as they pass; `ref()` is the reference once all have passed. */
export class JsonlEncoder {
  private readonly hash = createHash('sha256');
  private count = 0;
  private bytes = 0;

  async *lines(records: Iterable<unknown> | AsyncIterable<unknown>): AsyncIterable<string> {
    for await (const record of records as AsyncIterable<unknown>) {
      const line = `${JSON.stringify(record)}\n`;
      this.hash.update(line);
      this.bytes += Buffer.byteLength(line);
      this.count++;
      yield line;
    }
  }

  ref(): ArtifactRef {
    const sha256 = this.hash.digest('hex');
    return { uri: refUri(sha256), sha256, count: this.count, bytes: this.bytes };
  }
}

/**
 * Streams the records of a blob's bytes while hashing them; at the end, the sha256, the size and the record count
 * must match the reference, or the read fails naming `where` the blob lives. A consumer may therefore see records of a
 * corrupt blob before the error, but never finishes reading one. With `parse` false the lines are only checked.
 */
export async function* verifiedRecords<T>(
  ref: ArtifactRef,
  chunks: AsyncIterable<Buffer>,
  where: string,
  parse: boolean,
): AsyncIterable<T> {
  const hash = createHash('sha256');
  const decoder = new StringDecoder('utf8');
  let count = 0;
  let bytes = 0;
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
      unparsable = true; // a corrupt blob: reported below, once the whole blob is hashed
      return null;
    }
  };
  for await (const chunk of chunks) {
    hash.update(chunk);
    bytes += chunk.length;
    for (const line of linesOf(decoder.write(chunk), false)) {
      const record = recordOf(line);
      if (record) yield record.value;
    }
  }
  for (const line of linesOf(decoder.end(), true)) {
    const record = recordOf(line);
    if (record) yield record.value;
  }
  const problems = [
    ...(typeof ref.count === 'number' && count !== ref.count
      ? [`holds ${count} records where its reference records ${ref.count}`]
      : []),
    ...(typeof ref.bytes === 'number' && bytes !== ref.bytes
      ? [`holds ${bytes} bytes where its reference records ${ref.bytes}`]
      : []),
    ...(hash.digest('hex') !== ref.sha256 || unparsable ? ['does not hash to its sha256'] : []),
  ];
  if (problems.length)
    throw integrityFailure(
      `Artifact ${ref.uri} is corrupt: its blob ${where} ${problems.join(' and ')}; ` +
        'it was cut short or changed after it was written.',
    );
}
