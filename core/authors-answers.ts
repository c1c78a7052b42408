// The SemiEvol authors' answer handling (common.py of their latest revision), for `semievol.answers: authors`:
// `extract_result`, the numbers `normoalize_num` reads, `check_value_equal`, `fuzzy_match`, and the training answers
// `pack_answer` writes.
import { evaluatePythonArithmetic } from './python-arithmetic';
import { parsePythonStringList, pythonStrip, pythonStripChars } from './python-string-list';
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

/** Python's `min(items, key=len)`: the first of the shortest, by code points. */
const shortest = (items: readonly string[]): string =>
  items.reduce((best, item) => ([...item].length < [...best].length ? item : best));

/**
 * `clean_string`, which `pack_answer` applies to every training answer (gold or pseudo-label): a text holding `' '`
 * or `" "` is cut at each `' '` into items; one that starts with `[` is read as a Python list (after their removal of
 * numpy's `array(` and `, dtype=object)`); of a list the shortest item stays. Then quotes, `[]` and every period go,
 * and surrounding whitespace: "C." gives "C", "1,234.5" gives "1,2345", "['4 mm', '4mm']" gives "4mm". Where their
 * `literal_eval` or `min` would raise (`[C]`, `[]`, a list of numbers), the text is cleaned as it stands.
 */
export function authorsPackedAnswer(label: string): string {
  let text = label;
  if (text.includes("' '") || text.includes('" "')) {
    const items = pythonStripChars(text, '[]')
      .split("' '")
      .map((item) => pythonStripChars(item, "' "));
    text = shortest(items);
  } else if (text.startsWith('[')) {
    const items = parsePythonStringList(text.replaceAll('array(', '').replaceAll(', dtype=object)', ''));
    if (items?.length) text = shortest(items);
  }
  return pythonStrip(text.replaceAll('"', '').replaceAll("'", '').replaceAll('[]', '').replaceAll('.', ''));
}
