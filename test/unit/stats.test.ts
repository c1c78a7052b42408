import {
  mean,
  meanNegativeLogprob,
  percentile,
  populationStd,
  seededRandom,
  seededSample,
  seededShuffle,
} from '../../core/stats';

describe('percentile (numpy default, linear)', () => {
  it('interpolates between closest ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 25)).toBe(1.75);
    expect(percentile([1, 2, 3, 4], 30)).toBe(1.9);
    expect(percentile([10, 20], 30)).toBe(13);
    expect(percentile([0.1, 0.5, 0.2, 0.9, 0.3], 30)).toBe(0.22);
  });

  it("uses numpy's two-sided lerp above the midpoint", () => {
    // 0.1 + 0.1 * 0.7 would give 0.16999999999999998; numpy computes 0.2 - 0.1 * 0.3.
    expect(percentile([0.1, 0.2], 70)).toBe(0.17);
  });

  it('returns the extremes at q = 0 and q = 100', () => {
    expect(percentile([3, 1, 4, 2], 0)).toBe(1);
    expect(percentile([3, 1, 4, 2], 100)).toBe(4);
  });

  it('sorts its input without changing it', () => {
    const values = [3, 1, 2];
    expect(percentile(values, 50)).toBe(2);
    expect(values).toEqual([3, 1, 2]);
  });

  it('handles ties and a single element', () => {
    expect(percentile([5, 5, 5, 1], 50)).toBe(5);
    expect(percentile([5, 5, 5, 1], 10)).toBe(2.2);
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 63)).toBe(7);
  });

  it('propagates NaN like numpy', () => {
    expect(percentile([1, NaN, 3], 50)).toBeNaN();
  });

  it('rejects an empty list and q outside [0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 100.5)).toThrow(RangeError);
    expect(() => percentile([1], NaN)).toThrow(RangeError);
  });
});

describe('mean and populationStd', () => {
  it('computes the mean and the divisor-n standard deviation', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(populationStd([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(populationStd([5])).toBe(0);
  });

  it('rejects empty lists', () => {
    expect(() => mean([])).toThrow(RangeError);
    expect(() => populationStd([])).toThrow(RangeError);
  });
});

describe('meanNegativeLogprob', () => {
  it("is SemiEvol's entropy: minus the mean log-probability", () => {
    expect(meanNegativeLogprob([-1, -3])).toBe(2);
    expect(meanNegativeLogprob([0])).toBe(-0);
  });

  it('is null without tokens', () => {
    expect(meanNegativeLogprob([])).toBeNull();
  });
});

describe('seeded randomness', () => {
  it('is mulberry32: the same seed gives the same sequence', () => {
    const random = seededRandom(42);
    // Checked against an independent Python implementation of mulberry32.
    expect([random(), random(), random()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('stays within [0, 1) and differs between seeds', () => {
    const a = seededRandom(1);
    const b = seededRandom(2);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(draws[0]).not.toBe(b());
  });

  it('shuffles into a permutation, deterministically, leaving the input alone', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = seededShuffle(items, 7);
    expect(shuffled).toEqual(seededShuffle(items, 7));
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(shuffled).not.toEqual(items);
    expect(items).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('samples the first k of the shuffle with the same seed', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    expect(seededSample(items, 3, 11)).toEqual(seededShuffle(items, 11).slice(0, 3));
    expect(new Set(seededSample(items, 6, 11)).size).toBe(6);
    expect(seededSample(items, 10, 11)).toHaveLength(6);
    expect(seededSample(items, 0, 11)).toEqual([]);
    expect(() => seededSample(items, -1, 11)).toThrow(RangeError);
  });
});
