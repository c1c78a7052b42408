// Reproducible pseudo-random floats from a text seed, for test adapters that must be identical on every machine.
import { createHash } from 'node:crypto';

/** Uniform values in [-scale, scale): the first 16 bytes of sha256(seed) start an xorshift128 generator. */
export function seededUniform(seed: string, count: number, scale: number): Float32Array {
  const digest = createHash('sha256').update(seed).digest();
  const state = new Uint32Array([0, 4, 8, 12].map((at) => digest.readUInt32LE(at)));
  // xorshift128 must not start from all zeros.
  state[3] |= 1;
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let t = state[0]!;
    t ^= t << 11;
    t ^= t >>> 8;
    state[0] = state[1]!;
    state[1] = state[2]!;
    state[2] = state[3]!;
    state[3] = state[3]! ^ (state[3]! >>> 19) ^ t;
    values[i] = (state[3]! / 2 ** 32) * 2 * scale - scale;
  }
  return values;
}
