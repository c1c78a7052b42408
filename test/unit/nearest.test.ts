import { nearestByCosine, normalize } from '../../core/nearest';

describe('nearestByCosine', () => {
  const pool = [
    [1, 0],
    [0, 1],
    [1, 1],
    [2, 0],
  ].map(normalize);

  it('ranks pool vectors by cosine similarity to the query, ties by lower position', () => {
    expect(nearestByCosine(pool, normalize([1, 0]), 3)).toEqual([0, 3, 2]);
    expect(nearestByCosine(pool, normalize([0, 3]), 1)).toEqual([1]);
  });

  it('returns at most the pool, and nothing for k 0', () => {
    expect(nearestByCosine(pool, normalize([1, 0]), 10)).toHaveLength(4);
    expect(nearestByCosine(pool, normalize([1, 0]), 0)).toEqual([]);
  });

  it('normalizes to unit length and leaves a zero vector at zero', () => {
    expect(normalize([3, 4])).toEqual([0.6, 0.8]);
    expect(normalize([0, 0])).toEqual([0, 0]);
  });
});
