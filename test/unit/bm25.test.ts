import { Bm25Index, bm25Terms } from '../../core/bm25';
import { seededRandom } from '../../core/stats';

describe('bm25Terms', () => {
  it('lowercases, splits on anything but letters and digits, and drops stop words', () => {
    expect(bm25Terms('The cat-sat on THE mat, in 2024!')).toEqual(['cat', 'sat', 'mat', '2024']);
  });

  it('keeps non-Latin letters and accents', () => {
    expect(bm25Terms('Café naïve Ωmega 東京')).toEqual(['café', 'naïve', 'ωmega', '東京']);
  });
});

describe('Bm25Index', () => {
  const corpus = [
    'the cat sat on the mat', // cat sat mat (3 terms)
    'the dog sat on the log', // dog sat log (3)
    'cats and dogs', // cats dogs (2)
    'the cat chased the dog', // cat chased dog (3)
  ];
  const index = new Bm25Index(corpus);
  // Hand computation with k1 = 1.5, b = 0.75: N = 4, avgdl = 11 / 4.
  const idf = (df: number) => Math.log(1 + (4 - df + 0.5) / (df + 0.5));
  const termScore = (df: number, tf: number, length: number) =>
    (idf(df) * tf * 2.5) / (tf + 1.5 * (0.25 + (0.75 * length) / 2.75));

  it('scores with Okapi BM25 and breaks ties by the lower index', () => {
    const hits = index.search('cat', 10);
    expect(hits.map((h) => h.index)).toEqual([0, 3]);
    expect(hits[0].score).toBeCloseTo(termScore(2, 1, 3), 12);
    expect(hits[1].score).toBe(hits[0].score);
  });

  it('adds up the query terms', () => {
    const hits = index.search('dog sat', 10);
    expect(hits.map((h) => h.index)).toEqual([1, 0, 3]);
    expect(hits[0].score).toBeCloseTo(2 * termScore(2, 1, 3), 12);
  });

  it('returns only documents that share a term, at most k of them', () => {
    expect(index.search('mat', 10).map((h) => h.index)).toEqual([0]);
    expect(index.search('dog sat', 1).map((h) => h.index)).toEqual([1]);
    expect(index.search('the and of', 10)).toEqual([]);
    expect(index.search('cat', 0)).toEqual([]);
  });

  it('prefers the shorter document at equal term frequency', () => {
    const lengths = new Bm25Index(['apple banana cherry date', 'apple banana']);
    expect(lengths.search('apple', 2).map((h) => h.index)).toEqual([1, 0]);
  });

  it('rewards rarer terms more', () => {
    const rare = new Bm25Index(['common rare', 'common', 'common', 'common']);
    const [hit] = rare.search('rare', 1);
    expect(hit.index).toBe(0);
    expect(rare.search('common', 4)[0].score).toBeLessThan(hit.score);
  });

  it('takes k1 and b', () => {
    const flat = new Bm25Index(['apple banana cherry date', 'apple banana'], { b: 0 });
    const [a, b] = flat.search('apple', 2);
    expect(a.score).toBe(b.score);
    expect(a.index).toBe(0);
  });

  it('handles an empty corpus and empty documents', () => {
    expect(new Bm25Index([]).search('cat', 3)).toEqual([]);
    expect(new Bm25Index(['', 'the']).search('cat', 3)).toEqual([]);
    expect(new Bm25Index([]).size).toBe(0);
  });

  // Speed on large corpora is measured by `npm run bench` (retrieval in bench/harness.ts), not asserted here.
  it('selects the same top k as a full ranking', () => {
    const random = seededRandom(3);
    const word = () => `w${Math.floor(random() ** 2 * 500)}`;
    const documents = Array.from({ length: 5_000 }, () => Array.from({ length: 12 }, word).join(' '));
    const big = new Bm25Index(documents);
    const queries = Array.from({ length: 20 }, () => `${word()} ${word()} ${word()}`);
    expect(big.size).toBe(5_000);
    queries.forEach((q) => expect(big.search(q, 5)).toEqual(big.search(q, Infinity).slice(0, 5)));
  });
});
