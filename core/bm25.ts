// Okapi BM25 over an inverted index: a search touches only the postings of the query's terms, so pools of
// 100k documents stay cheap. Deterministic: equal scores rank the lower document index first.

export interface Bm25Options {
  /** Term-frequency saturation. */
  k1?: number;
  /** Document-length normalization, 0 (none) to 1 (full). */
  b?: number;
}

export interface Bm25Hit {
  /** Position of the document in the array the index was built from. */
  index: number;
  score: number;
}

const stopWords = new Set(
  (
    'a an the and or but if then than so of to in on at by for with from into about as ' +
    'is are was were be been being am do does did has have had it its this that these those ' +
    'what which who whom whose there their they them he she his her we our you your i me my'
  ).split(' '),
);

/** Lowercased runs of letters (with their combining marks) and digits, stop words dropped. */
export function bm25Terms(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter((token) => token.length > 0 && !stopWords.has(token));
}

function countTerms(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  return counts;
}

interface Postings {
  documents: number[];
  frequencies: number[];
}

/** Whether hit (scoreA, indexA) ranks before (scoreB, indexB). */
const ranksBefore = (scoreA: number, indexA: number, scoreB: number, indexB: number) =>
  scoreA > scoreB || (scoreA === scoreB && indexA < indexB);

/** Keeps the k best hits in a binary heap whose root is the worst kept, so selection is O(m log k). */
function topK(candidates: readonly number[], scores: Float64Array, k: number): Bm25Hit[] {
  const heap: number[] = [];
  const worse = (i: number, j: number) => ranksBefore(scores[heap[j]], heap[j], scores[heap[i]], heap[i]);
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
  const siftDown = (i: number) => {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < heap.length && worse(left, worst)) worst = left;
      if (right < heap.length && worse(right, worst)) worst = right;
      if (worst === i) return;
      swap(i, worst);
      i = worst;
    }
  };
  for (const doc of candidates) {
    if (heap.length < k) {
      heap.push(doc);
      for (let i = heap.length - 1; i > 0 && worse(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
    } else if (ranksBefore(scores[doc], doc, scores[heap[0]], heap[0])) {
      heap[0] = doc;
      siftDown(0);
    }
  }
  return heap
    .sort((a, b) => (ranksBefore(scores[a], a, scores[b], b) ? -1 : 1))
    .map((index) => ({ index, score: scores[index] }));
}

export class Bm25Index {
  private readonly postings = new Map<string, Postings>();
  /** k1·(1 − b + b·|d|/avgdl) per document: the length-dependent part of each term's denominator. */
  private readonly lengthNorms: Float64Array;
  private readonly k1: number;
  /** Roughly what the index holds in memory: 16 bytes per posting, its terms' characters, 8 per document. */
  readonly estimatedBytes: number;

  constructor(documents: readonly string[], { k1 = 1.5, b = 0.75 }: Bm25Options = {}) {
    this.k1 = k1;
    const lengths = new Float64Array(documents.length);
    let postingCount = 0;
    documents.forEach((document, index) => {
      const tokens = bm25Terms(document);
      lengths[index] = tokens.length;
      for (const [term, frequency] of countTerms(tokens)) {
        let postings = this.postings.get(term);
        if (!postings) this.postings.set(term, (postings = { documents: [], frequencies: [] }));
        postings.documents.push(index);
        postings.frequencies.push(frequency);
        postingCount++;
      }
    });
    const averageLength = lengths.reduce((sum, n) => sum + n, 0) / Math.max(documents.length, 1) || 1;
    this.lengthNorms = lengths.map((length) => k1 * (1 - b + (b * length) / averageLength));
    let termChars = 0;
    for (const term of this.postings.keys()) termChars += term.length;
    this.estimatedBytes = 16 * postingCount + 2 * termChars + 8 * documents.length;
  }

  get size(): number {
    return this.lengthNorms.length;
  }

  /** Lucene's non-negative idf, so a term in most documents still counts a little rather than negatively. */
  private idf(documentFrequency: number): number {
    return Math.log(1 + (this.size - documentFrequency + 0.5) / (documentFrequency + 0.5));
  }

  /** The k best-scoring documents that share at least one term with the query, best first. */
  search(query: string, k: number): Bm25Hit[] {
    if (k < 1) return [];
    const scores = new Float64Array(this.size);
    const matched: number[] = [];
    for (const [term, queryFrequency] of countTerms(bm25Terms(query))) {
      const postings = this.postings.get(term);
      if (!postings) continue;
      const weight = queryFrequency * this.idf(postings.documents.length) * (this.k1 + 1);
      postings.documents.forEach((doc, i) => {
        const frequency = postings.frequencies[i];
        if (scores[doc] === 0) matched.push(doc);
        scores[doc] += (weight * frequency) / (frequency + this.lengthNorms[doc]);
      });
    }
    return topK(matched, scores, Math.floor(k));
  }
}
