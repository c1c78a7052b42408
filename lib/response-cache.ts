// Durable cache of finished model calls keyed by the full request, so a retried activity or a re-run stage
// never pays twice for a call that already completed.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { canonicalJson } from './canonical-json';

/** Finished calls by request key: `ResponseCache` on this host, `ShardResponseCache` for one shard in the store. */
export interface CallCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** One small file per call in a folder. */
export class ResponseCache implements CallCache {
  constructor(readonly root: string) {}

  static key(parts: unknown): string {
    return createHash('sha256').update(canonicalJson(parts)).digest('hex');
  }

  private file(key: string): string {
    return path.join(this.root, key.slice(0, 2), `${key}.json`);
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.file(key), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof SyntaxError) return undefined; // torn write from a killed process: pay again once
      throw err;
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(value));
    await fs.rename(tmp, file);
  }
}
