// Durable cache of finished model calls keyed by the full request, so a retried activity or a re-run stage
// never pays twice for a call that already completed.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { canonicalJson } from './canonical-json';
import { deadLocalWorker, workerIdentity } from './host-identity';

/** Finished calls by request key: `ResponseCache` on this host, `ShardResponseCache` for one shard in the store. */
export interface CallCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** A journal line: the key (64 hex digits), a space, the answer as JSON, a newline. */
const keyLength = 64;
const journalSuffix = '.jsonl';

interface Journal {
  fd: number;
  /** Bytes read and indexed so far: every whole line before this offset. */
  indexed: number;
  /** Its writer is a process of this host that has ended: nothing more will be appended. */
  finished: boolean;
}

interface Entry {
  journal: Journal;
  /** Where the answer's JSON lies in the journal. */
  offset: number;
  length: number;
}

/**
 * Append-only journals in a folder: each cache appends one line per call to a file of its own
 * (`journal/<pid>@<host>~<random>.jsonl`) in a single write, so an answer survives the process's death once `set`
 * returns. Creating a file per call took a seventh of a busy worker's main-thread time (BENCHMARKS.md, overhead); a
 * line costs one small write. Readers index where each key's line lies (not the answers) and, on a miss, read what the
 * other journals gained since, so a call another process finished before the miss is found. Journals of this host's
 * ended processes are read once. One file per call from earlier versions (`<2 hex>/<key>.json`) is still read.
 */
export class ResponseCache implements CallCache {
  private readonly folder: string;
  private readonly journals = new Map<string, Journal>();
  private readonly entries = new Map<string, Entry>();
  private own: { name: string; journal: Journal } | undefined;
  /** Whether per-call files of earlier versions exist here: looked for once. */
  private legacy: boolean | undefined;

  constructor(readonly root: string) {
    this.folder = path.join(root, 'journal');
  }

  static key(parts: unknown): string {
    return createHash('sha256').update(canonicalJson(parts)).digest('hex');
  }

  /** How many distinct calls the cache at `root` holds: for tests and benchmarks. */
  static count(root: string): number {
    const cache = new ResponseCache(root);
    try {
      cache.refresh();
      return cache.entries.size + (cache.hasLegacy() ? legacyFiles(root) : 0);
    } finally {
      cache.close();
    }
  }

  /** Closes the journals' files; the cache is not used after. */
  close(): void {
    for (const journal of this.journals.values()) fs.closeSync(journal.fd);
    this.journals.clear();
    this.entries.clear();
    this.own = undefined;
  }

  async get<T>(key: string): Promise<T | undefined> {
    let entry = this.entries.get(key);
    if (entry && fs.fstatSync(entry.journal.fd).nlink === 0) entry = this.forget(entry.journal);
    if (!entry) {
      this.refresh();
      entry = this.entries.get(key);
    }
    if (entry) return this.read<T>(entry);
    return this.hasLegacy() ? readLegacy<T>(this.root, key) : undefined;
  }

  /** Drops a journal removed since it was indexed (a cache cleared by hand): its answers are gone. */
  private forget(journal: Journal): undefined {
    for (const [key, entry] of this.entries) if (entry.journal === journal) this.entries.delete(key);
    for (const [name, known] of this.journals) if (known === journal) this.journals.delete(name);
    if (this.own?.journal === journal) this.own = undefined;
    fs.closeSync(journal.fd);
    return undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    const own = this.ownJournal();
    const line = Buffer.from(`${key} ${JSON.stringify(value)}\n`);
    writeWhole(own.journal.fd, line);
    this.entries.set(key, {
      journal: own.journal,
      offset: own.journal.indexed + keyLength + 1,
      length: line.length - keyLength - 2,
    });
    own.journal.indexed += line.length;
  }

  private ownJournal(): { name: string; journal: Journal } {
    if (this.own && fs.existsSync(path.join(this.folder, this.own.name))) return this.own;
    if (this.own) this.forget(this.own.journal);
    // First write, or the journal was removed since (a cache cleared by hand): a new journal.
    fs.mkdirSync(this.folder, { recursive: true });
    const name = `${workerIdentity().replaceAll('/', '+')}~${randomBytes(6).toString('hex')}${journalSuffix}`;
    const journal: Journal = { fd: fs.openSync(path.join(this.folder, name), 'a+'), indexed: 0, finished: false };
    this.journals.set(name, journal);
    this.own = { name, journal };
    return this.own;
  }

  /** Indexes the lines every other journal gained since the last look, and journals that are new. */
  private refresh(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      if (!name.endsWith(journalSuffix) || this.journals.has(name)) continue;
      try {
        this.journals.set(name, { fd: fs.openSync(path.join(this.folder, name), 'r'), indexed: 0, finished: false });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed meanwhile
      }
    }
    for (const [name, journal] of this.journals) {
      if (journal.finished || journal === this.own?.journal) continue;
      // Asked before reading: whatever an ended writer wrote is in the file by then. This process's other caches
      // (its own pid) are alive.
      const ended = deadLocalWorker(name.split('~')[0].replaceAll('+', '/'), undefined, -1);
      this.index(journal);
      journal.finished = ended;
    }
  }

  /** Reads a journal from where it was last indexed to its end, indexing each whole line. */
  private index(journal: Journal): void {
    const size = fs.fstatSync(journal.fd).size;
    if (size <= journal.indexed) return;
    const bytes = Buffer.alloc(size - journal.indexed);
    readWhole(journal.fd, bytes, journal.indexed);
    let start = 0;
    for (let end = bytes.indexOf(10); end !== -1; start = end + 1, end = bytes.indexOf(10, start)) {
      // A line cut short by a writer that was killed mid-write is no answer: its key stays unknown.
      if (end - start > keyLength + 1 && bytes[start + keyLength] === 32) {
        const key = bytes.toString('latin1', start, start + keyLength);
        this.entries.set(key, {
          journal,
          offset: journal.indexed + start + keyLength + 1,
          length: end - start - keyLength - 1,
        });
      }
    }
    journal.indexed += start; // a line still being written is read again at the next look
  }

  private read<T>(entry: Entry): T | undefined {
    const bytes = Buffer.alloc(entry.length);
    readWhole(entry.journal.fd, bytes, entry.offset);
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (err) {
      if (err instanceof SyntaxError) return undefined; // a damaged line: pay again once
      throw err;
    }
  }

  private hasLegacy(): boolean {
    return (this.legacy ??= legacyFiles(this.root, 1) > 0);
  }
}

function writeWhole(fd: number, bytes: Buffer): void {
  for (let written = 0; written < bytes.length;) written += fs.writeSync(fd, bytes, written);
}

function readWhole(fd: number, bytes: Buffer, position: number): void {
  for (let read = 0; read < bytes.length;) {
    const n = fs.readSync(fd, bytes, read, bytes.length - read, position + read);
    if (n === 0) throw new Error(`response cache: a journal ended before byte ${position + bytes.length}`);
    read += n;
  }
}

/** Per-call files of earlier versions under `root`, counted up to `atMost`. */
function legacyFiles(root: string, atMost = Infinity): number {
  let count = 0;
  let folders: string[];
  try {
    folders = fs.readdirSync(root).filter((name) => /^[0-9a-f]{2}$/.test(name));
  } catch {
    return 0;
  }
  for (const folder of folders) {
    count += fs.readdirSync(path.join(root, folder)).filter((name) => name.endsWith('.json')).length;
    if (count >= atMost) break;
  }
  return count;
}

function readLegacy<T>(root: string, key: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, key.slice(0, 2), `${key}.json`), 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof SyntaxError) return undefined; // torn write from a killed process: pay again once
    throw err;
  }
}
