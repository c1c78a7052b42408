// Scoring predictions against gold answers, and when two open answers agree.
import { readNumber } from './answers';
import { normalizeAnswer } from './text-metrics';

export interface Accuracy {
  correct: number;
  total: number;
  /** correct / total, 0 when there is nothing to score. */
  accuracy: number;
}

/**
 * How a prediction is scored: the option letter; an open answer's number within 1% (`numbersMatch`); or an open
 * answer's text after the Super-NaturalInstructions normalisation.
 */
export type Metric = 'option-letter' | 'number' | 'text-match';

/** Where one number is 0 there is no scale to be relative to, so the other must be within this of it. */
const absoluteTolerance = 1e-9;

/**
 * Python's math.isclose(a, b, rel_tol=1e-2, abs_tol=1e-9), as the SemiEvol authors compare numbers: the tolerance
 * is relative to the larger magnitude, so it does not matter which number is the reference.
 */
export function numbersMatch(a: number, b: number, relTol = 1e-2): boolean {
  return Math.abs(a - b) <= Math.max(relTol * Math.max(Math.abs(a), Math.abs(b)), absoluteTolerance);
}

function textsMatch(a: string, b: string): boolean {
  const normalized = normalizeAnswer(a);
  return normalized !== '' && normalized === normalizeAnswer(b);
}

/**
 * Whether two open answers agree, with no metric to go by (SemiEvol's consistency): as numbers when both read as
 * one, else as normalised text, so an answer that is no number never agrees with one that is.
 */
export function openAnswersAgree(a: string, b: string): boolean {
  const [x, y] = [readNumber(a), readNumber(b)];
  if (x !== null && y !== null) return numbersMatch(x, y);
  return x === null && y === null && textsMatch(a, b);
}

/** Whether an extracted prediction is right by the metric. */
export function answerMatches(prediction: string | null, gold: string, metric: Metric): boolean {
  if (prediction === null) return false;
  if (metric === 'option-letter') return prediction === gold;
  if (metric === 'text-match') return textsMatch(prediction, gold);
  const [predicted, expected] = [readNumber(prediction), readNumber(gold)];
  return predicted !== null && expected !== null && numbersMatch(predicted, expected);
}

export function accuracy(correct: readonly boolean[]): number {
  return correct.length === 0 ? 0 : correct.filter(Boolean).length / correct.length;
}

export function summarizeAccuracy(correct: readonly boolean[]): Accuracy {
  return { correct: correct.filter(Boolean).length, total: correct.length, accuracy: accuracy(correct) };
}
