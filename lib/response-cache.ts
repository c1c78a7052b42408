// Durable cache of finished model calls keyed by the full request, so a retried activity or a re-run stage
// never pays twice for a call that already completed.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { canonicalJson } from './canonical-json';

/** Finished calls by request key: `ResponseCache` on this host, `ShardResponseCache` for one shard in the store. */
export interface CallCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** Names this process's temporary files apart from any other writer's, on this host or another sharing the folder. */
const writerTag = `${process.pid}-${randomBytes(6).toString('hex')}`;

/**
 * One small file per call in a folder. Each write is a temporary file renamed into place, so a reader never sees half
 * an answer. The folders are made once per process, not at every write: at hundreds of calls a second, a `mkdir` and
 * random bytes per call were a tenth of a busy worker's CPU (BENCHMARKS.md, overhead). The files are read and written
 * synchronously: a few small local syscalls, where the promise API's file handles, thread-pool round trips and async
 * hooks (the worker's AsyncLocalStorage) cost a busy worker several times their CPU, delaying the responses of the
 * calls in flight.
 */
export class ResponseCache implements CallCache {
  private readonly madeFolders = new Set<string>();
  private written = 0;

  constructor(readonly root: string) {}

  static key(parts: unknown): string {
    return createHash('sha256').update(canonicalJson(parts)).digest('hex');
  }

  private file(key: string): string {
    return path.join(this.root, key.slice(0, 2), `${key}.json`);
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(readFileSync(this.file(key), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof SyntaxError) return undefined; // torn write from a killed process: pay again once
      throw err;
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    const file = this.file(key);
    const folder = path.dirname(file);
    const tmp = `${file}.${writerTag}-${++this.written}.tmp`;
    if (!this.madeFolders.has(folder)) this.makeFolder(folder);
    try {
      writeFileSync(tmp, JSON.stringify(value));
    } catch (err) {
      // The folder was removed since (a cache cleared by hand): made again, once.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.makeFolder(folder);
      writeFileSync(tmp, JSON.stringify(value));
    }
    renameSync(tmp, file);
  }

  private makeFolder(folder: string): void {
    mkdirSync(folder, { recursive: true });
    this.madeFolders.add(folder);
  }
}
