// Nearest neighbours by cosine similarity, for retrieval over embedded pools. Deterministic: equal similarities
// rank the lower pool index first, as BM25 does.

/** The vector scaled to length 1 (a zero vector stays zero, so it is similar to nothing). */
export function normalize(vector: readonly number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm === 0 ? vector.map(() => 0) : vector.map((v) => v / norm);
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Positions of the k pool vectors most similar to the query, most similar first; both sides already normalized. */
export function nearestByCosine(pool: readonly (readonly number[])[], query: readonly number[], k: number): number[] {
  const scored = pool.map((vector, index) => ({ index, similarity: dot(vector, query) }));
  scored.sort((a, b) => b.similarity - a.similarity || a.index - b.index);
  return scored.slice(0, Math.max(0, Math.floor(k))).map((s) => s.index);
}
