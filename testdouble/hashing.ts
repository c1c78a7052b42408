// Deterministic randomness: every "random" choice of the provider test double is a hash of its inputs,
// so runs are reproducible without shared state.
import { createHash, randomBytes } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A uniform number in [0, 1) derived from the parts. */
export function unitHash(...parts: (string | number)[]): number {
  return parseInt(sha256Hex(parts.join('\u241f')).slice(0, 13), 16) / 2 ** 52;
}

/** 32-bit FNV-1a: fast bucket hashing for embeddings. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A seeded PRNG (sfc32) whose state comes from the hash of `seed`. */
export function textSeededRandom(seed: string): () => number {
  const digest = createHash('sha256').update(seed).digest();
  let a = digest.readUInt32LE(0),
    b = digest.readUInt32LE(4),
    c = digest.readUInt32LE(8),
    d = digest.readUInt32LE(12);
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** A PRNG seeded from the OS, for requests without `seed`. */
export function unseededRandom(): () => number {
  return textSeededRandom(randomBytes(16).toString('hex'));
}

/** A random id body like OpenAI's (`ftjob-<id>`), 24 alphanumerics. */
export function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(24), (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * Ids for files and jobs. Random by default; with `deterministicIds` each id is derived from what was created and
 * how many identical creations came before, so two doubles that receive the same requests hand out the same ids
 * (the crash harness compares a killed run with an uninterrupted one, and fine-tuned model names embed job ids).
 */
export class IdMinter {
  private readonly seen = new Map<string, number>();

  constructor(private readonly deterministic: () => boolean) {}

  /** 24 alphanumerics, like `randomId`. */
  next(what: string): string {
    if (!this.deterministic()) return randomId();
    const count = (this.seen.get(what) ?? 0) + 1;
    this.seen.set(what, count);
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    return Array.from(
      createHash('sha256').update(`${what}#${count}`).digest().subarray(0, 24),
      (byte) => alphabet[byte % alphabet.length],
    ).join('');
  }
}
