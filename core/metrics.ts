// Scoring predictions against gold answers.

export interface Accuracy {
  correct: number;
  total: number;
  /** correct / total, 0 when there is nothing to score. */
  accuracy: number;
}

/** Gold 0 has no scale to be relative to, so it must be met within this absolute tolerance. */
const zeroTolerance = 1e-12;

/** Relative closeness, like SemiEvol's math.isclose(pred, gold, rel_tol=1e-2), measured against the gold. */
export function numbersMatch(predicted: number, gold: number, relTol = 1e-2): boolean {
  const scale = gold === 0 ? zeroTolerance : relTol * Math.abs(gold);
  return Math.abs(predicted - gold) <= scale;
}

export function accuracy(correct: readonly boolean[]): number {
  return correct.length === 0 ? 0 : correct.filter(Boolean).length / correct.length;
}

export function summarizeAccuracy(correct: readonly boolean[]): Accuracy {
  return { correct: correct.filter(Boolean).length, total: correct.length, accuracy: accuracy(correct) };
}
