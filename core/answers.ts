// Forgiving answer extraction from free-form model responses. An explicit "Answer:" (or "the answer is")
// marker always wins, the last one first, since models often revise themselves; without one, only a bare
// letter in an unmistakable position counts, so the article in "A company reported..." is never a vote.

/**
 * "answer:", "Answer is", "**Final answer**:", "the correct choice is", "best option would be". Not the plural
 * "Options:", which opens an echoed option list rather than a verdict.
 */
const answerMarker = /\b(?:answers?|choice|option)\b[\s*_]*(?:\b(?:is|would be|will be|should be)\b[\s*_]*:?|:)/gi;

/** What may follow a marker: decoration, an optional "option"/"letter" word, then a letter standing alone. */
const letterAfterMarker = /^[\s*_"'`]*(?:(?:option|choice|letter)\s+)?([([])?([A-Za-z])([)\]])?(?=$|[^\p{L}\p{N}])/iu;

/** After a lowercase letter the sentence must stop, so "the answer is a bit unclear" is no answer. */
const endsAfterLowercase = /^(?:\s*$|[.,;:!?*_"'`)\]\r\n])/;

/** A whole line that is one letter, maybe decorated: "C", "c", "(C)", "**C**", "C.". */
const bareLetter = /^[*_"'`]*[([]?([A-Za-z])[)\]]?[.:)]?[*_"'`]*$/;

/** The response opens with an uppercase letter in option form: "C. Paris", "C) Paris", "(C) Paris", "**C** Paris". */
const leadingLetter = /^(?:[*_]{1,2})?(?:[([]([A-Z])[)\]]|([A-Z])(?:[.:)]|(?=[*_]{1,2})))(?=$|[\s.:,*_])/;

function validLetter(letter: string, optionCount: number): string | null {
  const upper = letter.toUpperCase();
  const index = upper.charCodeAt(0) - 65;
  return index >= 0 && index < optionCount ? upper : null;
}

function letterFollowingMarker(rest: string, optionCount: number): string | null {
  const match = letterAfterMarker.exec(rest);
  if (!match) return null;
  const [whole, open, letter, close] = match;
  const isLowercase = letter !== letter.toUpperCase();
  if (isLowercase && !open && !close && !endsAfterLowercase.test(rest.slice(whole.length))) return null;
  return validLetter(letter, optionCount);
}

function markerEnds(text: string): number[] {
  return [...text.matchAll(answerMarker)].map((m) => m.index + m[0].length);
}

/**
 * The option letter a response chose, among the first `optionCount` letters, or null when it does not say
 * unambiguously. Markers are tried from the last back; then a first line that is a bare letter, an opening
 * token in option form, and a last line that is a bare letter.
 */
export function extractOptionLetter(text: string, optionCount: number): string | null {
  for (const end of markerEnds(text).reverse()) {
    const letter = letterFollowingMarker(text.slice(end), optionCount);
    if (letter) return letter;
  }
  const trimmed = text.trim();
  const lines = trimmed.split('\n');
  const found =
    bareLetter.exec(lines[0].trim())?.[1] ??
    leadingLetter.exec(trimmed)?.slice(1).find(Boolean) ??
    bareLetter.exec(lines[lines.length - 1].trim())?.[1];
  return found === undefined ? null : validLetter(found, optionCount);
}

/** An "Answer:" marker and the rest of its line. */
const answerLine = /\banswer\s*:([^\n]*)/gi;

/** Markdown emphasis around an answer ("**Answer:** 42"). */
const emphasis = /^[\s*_]+|[\s*_]+$/g;

/**
 * The answer to an open question (one without options): what follows the last "Answer:" marker on its line that
 * holds anything, as written. Null without one: an open answer is never guessed from free text.
 */
export function extractOpenAnswer(text: string): string | null {
  const written = [...text.matchAll(answerLine)].map((m) => m[1].replace(emphasis, '')).filter(Boolean);
  return written.at(-1) ?? null;
}

/** The answer a response gives: an option letter when the question has options, else the open answer. */
export function extractAnswer(text: string, options: readonly string[]): string | null {
  return options.length ? extractOptionLetter(text, options.length) : extractOpenAnswer(text);
}

/**
 * One number, written as models and datasets write them: a sign, a currency sign, thousands separators in groups of
 * three, a decimal part, an exponent, a percent sign, a trailing period ("-$1,234.50", "12.5 %", "3.").
 */
const writtenNumber =
  /^([-+\u2212]?)\s*[$€£¥]?\s*((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE]([-+]?\d+))?\s*(%?)\.?$/u;

/**
 * An open answer's value when the whole answer is one number; null for anything else ("about 12", "12 apples"). A
 * percent is a fraction, as the SemiEvol authors evaluate it: "12%" is 0.12.
 */
export function readNumber(answer: string): number | null {
  const match = writtenNumber.exec(answer.trim());
  if (!match) return null;
  const [, sign, digits, exponent, percent] = match;
  const magnitude = Number(`${digits.replace(/,/g, '')}e${exponent ?? 0}`);
  const value = (sign === '-' || sign === '\u2212' ? -magnitude : magnitude) / (percent ? 100 : 1);
  return Number.isFinite(value) ? value : null;
}
