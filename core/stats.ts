// Small numeric helpers. Randomness is seeded and self-contained, because workflows must replay identically.

function requireValues(values: readonly number[], what: string): void {
  if (values.length === 0) throw new RangeError(`${what} of an empty list is undefined`);
}

const ascending = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * numpy.percentile with its default "linear" method: the value at virtual index (q/100)·(n−1) of the sorted
 * values, interpolated with numpy's two-sided lerp so results match it bit for bit. NaN in, NaN out, as numpy.
 */
export function percentile(values: readonly number[], q: number): number {
  requireValues(values, 'a percentile');
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile q must be within [0, 100], got ${q}`);
  if (values.some(Number.isNaN)) return NaN;
  const sorted = [...values].sort(ascending);
  const last = sorted.length - 1;
  const virtualIndex = (q / 100) * last;
  if (virtualIndex >= last) return sorted[last];
  const below = Math.floor(virtualIndex);
  const gamma = virtualIndex - below;
  const a = sorted[below];
  const b = sorted[below + 1];
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

export function mean(values: readonly number[]): number {
  requireValues(values, 'a mean');
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Standard deviation with divisor n (numpy.std's default). */
export function populationStd(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
}

/**
 * numpy's float64 sum of a contiguous 1-D array (its pairwise summation): under 8 values one after another, up to
 * 128 in 8 interleaved accumulators combined pairwise, longer halves recursively. The order changes the rounding.
 */
export function numpySum(values: readonly number[]): number {
  const n = values.length;
  if (n < 8) return values.reduce((sum, v) => sum + v, 0);
  if (n <= 128) {
    const r = values.slice(0, 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[i + j];
    let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) sum += values[i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return numpySum(values.slice(0, half)) + numpySum(values.slice(half));
}

/** numpy.std with its defaults (divisor n), summed in numpy's order, so its rounding matches numpy's. */
export function numpyStd(values: readonly number[]): number {
  requireValues(values, 'a standard deviation');
  const m = numpySum(values) / values.length;
  return Math.sqrt(numpySum(values.map((v) => (v - m) * (v - m))) / values.length);
}

/** SemiEvol's entropy H of a response: the mean negative log-probability of its tokens; null without tokens. */
export function meanNegativeLogprob(logprobs: readonly number[]): number | null {
  return logprobs.length === 0 ? null : -logprobs.reduce((sum, v) => sum + v, 0) / logprobs.length;
}

/** mulberry32: a fast 32-bit PRNG, uniform in [0, 1). The seed is reduced to 32 bits (seed >>> 0). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The first `count` steps of a forward Fisher–Yates shuffle, so a sample of k is always the first k of the
 * full shuffle under the same seed.
 */
function partialShuffle<T>(items: readonly T[], count: number, seed: number): T[] {
  const random = seededRandom(seed);
  const result = [...items];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (result.length - i));
    [result[i], result[j]] = [result[j], result[i]];
  }
  return result.slice(0, count);
}

/** A new array with the items in a seed-determined order. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return partialShuffle(items, items.length, seed);
}

/** min(k, n) distinct items chosen by the seed, in the order drawn. */
export function seededSample<T>(items: readonly T[], k: number, seed: number): T[] {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`sample size must be a non-negative integer, got ${k}`);
  return partialShuffle(items, Math.min(k, items.length), seed);
}
