// SELF-GUIDE's evaluation metrics: Super-NaturalInstructions' exact match over labels and its ROUGE-L, plus the
// SELF-GUIDE authors' exact match and character-level ROUGE-L. Pure; the Porter stemmer is injected because it loads
// asynchronously.

export type Stemmer = (word: string) => string;

/** Python's string.punctuation: the ASCII punctuation Super-NaturalInstructions strips. */
const asciiPunctuation = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

const collapseWhitespace = (text: string) => text.split(/\s+/).filter(Boolean).join(' ');

/** Super-NaturalInstructions' normalize_answer: lowercase, drop punctuation, drop articles, collapse whitespace. */
export function normalizeAnswer(text: string): string {
  return collapseWhitespace(normalizeKeepingArticles(text).replace(/\b(a|an|the)\b/g, ' '));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The label a classification output settles on: the last occurrence (case-sensitive, non-overlapping, scanning
 * from the left as Python's re.finditer does) of any label string. Longer labels are tried first at each position,
 * so "supporting" is not read as "support" when both are labels.
 */
export function lastLabelOccurrence(output: string, labels: readonly string[]): string | null {
  const alternatives = [...new Set(labels)]
    .filter(Boolean)
    .sort((a, b) => b.length - a.length)
    .map(escapeRegExp);
  if (alternatives.length === 0) return null;
  let last: string | null = null;
  for (const match of output.matchAll(new RegExp(alternatives.join('|'), 'g'))) last = match[0];
  return last;
}

/** Exact match of a classification output: its last label occurrence, normalized, against the normalized gold. */
export function labelExactMatch(output: string, gold: string, labels: readonly string[]): boolean {
  const predicted = lastLabelOccurrence(output, labels);
  return predicted !== null && normalizeAnswer(predicted) === normalizeAnswer(gold);
}

/** The SELF-GUIDE authors' normalization: Super-NaturalInstructions' without removing articles. */
export function normalizeKeepingArticles(text: string): string {
  return collapseWhitespace(text.toLowerCase().replace(asciiPunctuation, ''));
}

/**
 * The SELF-GUIDE authors' exact match over a whole split: the labels are the split's gold outputs, stripped, in the
 * order first seen (their `Counter(GROUND_TRUTH).keys()`), tried in that order at each position of one regex (so a
 * label that is a prefix of a later one wins where both start), the last match compared with the stripped gold
 * output, both normalized keeping articles. One 0 or 1 per item.
 */
export function authorsExactMatches(items: readonly { response: string; output: string }[]): number[] {
  const golds = items.map((item) => item.output.trim());
  const pattern = new RegExp([...new Set(golds)].map(escapeRegExp).join('|'), 'g');
  return items.map(({ response }, i) => {
    let last: string | null = null;
    for (const match of response.matchAll(pattern)) last = match[0];
    return Number(last !== null && normalizeKeepingArticles(last) === normalizeKeepingArticles(golds[i]));
  });
}

/**
 * rouge_score's tokenizer: lowercase, every run of characters outside [a-z0-9] is a separator, and (with a stemmer)
 * only tokens longer than 3 characters are stemmed.
 */
export function rougeTokens(text: string, stem?: Stemmer): string[] {
  const tokens = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/);
  return tokens
    .map((token) => (stem && token.length > 3 ? stem(token) : token))
    .filter((token) => /^[a-z0-9]+$/.test(token));
}

/** Length of the longest common subsequence, in O(|b|) memory. */
export function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++)
      current[j] = x === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    previous = current;
  }
  return previous[b.length];
}

/** F-measure of an LCS: precision over the prediction, recall over the reference; 0 when either is empty. */
function lcsFMeasure<T>(prediction: readonly T[], reference: readonly T[]): number {
  if (prediction.length === 0 || reference.length === 0) return 0;
  const lcs = lcsLength(reference, prediction);
  if (lcs === 0) return 0;
  const precision = lcs / prediction.length;
  const recall = lcs / reference.length;
  return (2 * precision * recall) / (precision + recall);
}

/** ROUGE-L F-measure over rouge_score tokens (Super-NaturalInstructions uses it with the Porter stemmer). */
export function rougeLWords(prediction: string, reference: string, stem?: Stemmer): number {
  return lcsFMeasure(rougeTokens(prediction, stem), rougeTokens(reference, stem));
}

/** The SELF-GUIDE authors' variant: the same F-measure over the raw strings' characters (code points). */
export function rougeLChars(prediction: string, reference: string): number {
  return lcsFMeasure([...prediction], [...reference]);
}
