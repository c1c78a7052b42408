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

/**
 * Numbers as models write them: "-3", "+4", "1,234.5", ".5", "2.5e3", "45%". A sign only counts when it does
 * not follow a digit ("10-20" is 10 and 20), and digits glued to letters ("Q3", "x201a") are not numbers.
 */
const numberPattern =
  /(?<![\p{L}\p{N}_.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?%?/gu;

/** A percent is a fraction, as in SemiEvol's own normalization: "45%" is 0.45. */
function parseNumber(written: string): number {
  const plain = written.replace(/,/g, '').replace('\u2212', '-');
  return plain.endsWith('%') ? Number(plain.slice(0, -1)) / 100 : Number(plain);
}

function lastNumberIn(text: string): number | null {
  const all = text.match(numberPattern);
  return all ? parseNumber(all[all.length - 1]) : null;
}

/** The last number after the last "Answer:" marker that is followed by one, else the last number in the text. */
export function extractNumber(text: string): number | null {
  for (const end of markerEnds(text).reverse()) {
    const value = lastNumberIn(text.slice(end));
    if (value !== null) return value;
  }
  return lastNumberIn(text);
}
