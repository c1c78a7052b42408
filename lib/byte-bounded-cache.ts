// A least-recently-used cache of promised values bounded by their estimated bytes rather than their number, so a
// few large entries cannot outgrow the worker's heap. Hand-written over a Map (whose insertion order is the recency
// order) because the only lru-cache in node_modules is an old transitive 5.x without size-based eviction.

interface Entry<T> {
  value: Promise<T>;
  /** Undefined while the value loads: a load in flight is never evicted, so callers awaiting it share one. */
  bytes?: number;
}

export class ByteBoundedCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private total = 0;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (value: T) => number,
  ) {}

  /** The estimated bytes of the loaded values kept. */
  get bytes(): number {
    return this.total;
  }

  /** The value under `key`, loading it on a miss; a value larger than the whole bound is returned but not kept. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry: Entry<T> = { value: load() };
    this.entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = this.sizeOf(value);
        this.total += entry.bytes;
        this.evictOver(this.maxBytes);
      },
      () => this.remove(key, entry),
    );
    return entry.value;
  }

  private evictOver(maxBytes: number): void {
    for (const [key, entry] of this.entries) {
      if (this.total <= maxBytes) return;
      if (entry.bytes !== undefined) this.remove(key, entry);
    }
  }

  private remove(key: string, entry: Entry<T>): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes ?? 0;
  }
}
