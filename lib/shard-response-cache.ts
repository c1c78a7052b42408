// The finished calls of one shard activity, kept in the artifact store so that its retry on any host pays none of
// them again. A call is one entry of a segment: each save writes the calls finished since the last one as one JSONL
// artifact named `response-cache/<shard>/<n>`, so a shard of hundreds of calls costs a few writes, not one per call.
// Segments are numbered and created only if absent, so two attempts of a shard (a retry while a lost worker still
// runs) never overwrite each other's. Every call is also written to this host's per-call cache at once, which keeps
// the answers that a worker killed between saves had paid for, for a retry on the same host.
import { createHash } from 'node:crypto';
import { JsonlEncoder, type ArtifactStore } from './artifact-contract';
import type { CallCache } from './response-cache';

interface Entry {
  key: string;
  value: unknown;
}

export class ShardResponseCache implements CallCache {
  private readonly entries = new Map<string, unknown>();
  private unsaved: Entry[] = [];
  private readonly folder: string;
  private nextSegment = 0;
  private lastSave = Date.now();
  /** Saves run one after another, so segments are numbered in order. */
  private saving: Promise<void> = Promise.resolve();
  /** The save due when calls stop finishing: without it, the calls after the last save waited for the shard's end. */
  private trailingSave: NodeJS.Timeout | undefined;
  private readonly loaded: Promise<void>;

  constructor(
    private readonly store: ArtifactStore,
    /** The shard activity execution, the same across its attempts. */
    shard: string,
    private readonly hostCache: CallCache,
    /** A call finished this long after the last save starts one: bounds what a killed worker's retry re-pays. */
    private readonly saveEveryMs = 2_000,
  ) {
    this.folder = `response-cache/${createHash('sha256').update(shard).digest('hex')}`;
    this.loaded = this.load();
    this.loaded.catch(() => undefined); // reported by the first get
  }

  private segmentName(index: number): string {
    return `${this.folder}/${String(index).padStart(5, '0')}`;
  }

  private async load(): Promise<void> {
    for (; ; this.nextSegment++) {
      const ref = await this.store.lookup(this.segmentName(this.nextSegment));
      if (!ref) return;
      for await (const { key, value } of this.store.readJsonl<Entry>(ref)) this.entries.set(key, value);
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    await this.loaded;
    return (this.entries.get(key) as T | undefined) ?? this.hostCache.get<T>(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.entries.set(key, value);
    this.unsaved.push({ key, value });
    await this.hostCache.set(key, value);
    // A periodic save that fails keeps its calls for the next one; the shard's final save reports the failure.
    const due = this.lastSave + this.saveEveryMs - Date.now();
    if (due <= 0) await this.save().catch(() => undefined);
    else if (this.trailingSave === undefined && Number.isFinite(due))
      this.trailingSave = setTimeout(() => void this.save().catch(() => undefined), due).unref();
  }

  /** Writes the calls finished since the last save as one segment. */
  save(): Promise<void> {
    this.saving = this.saving.catch(() => undefined).then(() => this.writeSegment());
    return this.saving;
  }

  private async writeSegment(): Promise<void> {
    clearTimeout(this.trailingSave);
    this.trailingSave = undefined;
    this.lastSave = Date.now();
    const batch = this.unsaved.splice(0);
    if (batch.length === 0) return;
    const own = new JsonlEncoder();
    for await (const line of own.lines(batch)) void line;
    const { sha256 } = own.ref();
    try {
      // A segment number another attempt took keeps its content: take the next one.
      while ((await this.store.writeJsonl(batch, this.segmentName(this.nextSegment))).sha256 !== sha256)
        this.nextSegment++;
      this.nextSegment++;
    } catch (err) {
      this.unsaved.unshift(...batch); // kept for the next save
      throw err;
    }
  }
}
