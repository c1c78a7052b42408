// The SemiEvol authors' answer handling (common.py of their latest revision), for `semievol.answers: authors`:
// `extract_result`, the numbers `normoalize_num` reads, `check_value_equal` and `fuzzy_match`.
import { evaluatePythonArithmetic } from './python-arithmetic';
import { normalizeAnswer } from './text-metrics';

/**
 * Their `(?i)Answer\s*:\s*([^\s\n]+)`. Python's `\s` also matches the separators U+001C..U+001F, which JavaScript's
 * does not, so they are named.
 */
// eslint-disable-next-line no-control-regex -- the separators are matched on purpose, as Python's \s matches them
const answerToken = /Answer[\s\x1c-\x1f]*:[\s\x1c-\x1f]*([^\s\x1c-\x1f]+)/iu;

/**
 * `extract_result`: the first whitespace-free token after the first "Answer:", verbatim ("C." stays "C.", "Answer:
 * about 42" gives "about"), or '' without one. Their first revision read the response's first character instead.
 */
export function authorsAnswer(response: string): string {
  return answerToken.exec(response)?.[1] ?? '';
}

/** Their VALUE_PATTERRN; Python's `\d` is any Unicode decimal digit. */
const writtenValue = /[-+]?[.]?\p{Nd}+(?:,\p{Nd}{3})*[.]?\p{Nd}*(?:[eE][-+]?\p{Nd}+)?%*/gu;

/**
 * `normoalize_num`: every number written in `text`, each with "%" read as "/100" and commas dropped, then evaluated
 * as Python evaluates it; one that Python cannot evaluate ("007", "٣") is infinity, as theirs sets it.
 */
export function authorsNumbers(text: string): number[] {
  return [...text.matchAll(writtenValue)].map(
    ([written]) => evaluatePythonArithmetic(written.replaceAll('%', '/100').replaceAll(',', '')) ?? Infinity,
  );
}

/** Python's math.isclose(a, b, rel_tol=relTol), abs_tol left at 0: a 0 is close only to 0, infinity only to itself. */
export function pythonIsClose(a: number, b: number, relTol: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const difference = Math.abs(b - a);
  return difference <= Math.abs(relTol * b) || difference <= Math.abs(relTol * a);
}

/** `check_value_equal`: any predicted number within 1% of any gold number. */
export function authorsNumbersMatch(predicted: readonly number[], gold: readonly number[]): boolean {
  return gold.some((g) => predicted.some((p) => pythonIsClose(p, g, 1e-2)));
}

/** `fuzzy_match`: after the Super-NaturalInstructions normalisation, either text contains the other. */
export function authorsFuzzyMatch(a: string, b: string): boolean {
  const [x, y] = [normalizeAnswer(a), normalizeAnswer(b)];
  if (x === '' || y === '') return x === y;
  return x.includes(y) || y.includes(x);
}
