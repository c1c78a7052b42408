// NLTK's PorterStemmer() in its default NLTK_EXTENSIONS mode, which rouge_score stems with: Porter's algorithm plus
// NLTK's irregular forms, its short-word and -ies/-ied rules, its y -> i condition, and Martin Porter's later
// extensions (-bli, -logi, -fulli, -alli). Pure; words are lowercased first, as NLTK does by default.

/** Words NLTK maps straight to a stem, skipping the steps. */
const irregularForms: ReadonlyMap<string, string> = new Map([
  ['sky', 'sky'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['news', 'news'],
  ['innings', 'inning'],
  ['inning', 'inning'],
  ['outings', 'outing'],
  ['outing', 'outing'],
  ['cannings', 'canning'],
  ['canning', 'canning'],
  ['howe', 'howe'],
  ['proceed', 'proceed'],
  ['exceed', 'exceed'],
  ['succeed', 'succeed'],
]);

/** A vowel is a, e, i, o, u, or a y after a consonant; y first in a word is a consonant. */
function isConsonant(word: string, i: number): boolean {
  const letter = word[i];
  if ('aeiou'.includes(letter)) return false;
  return letter === 'y' ? i === 0 || !isConsonant(word, i - 1) : true;
}

/** Porter's m: how many vowel-then-consonant boundaries the stem has. */
function measure(stem: string): number {
  let m = 0;
  for (let i = 1; i < stem.length; i++) if (!isConsonant(stem, i - 1) && isConsonant(stem, i)) m++;
  return m;
}

function hasVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

const endsDoubleConsonant = (word: string) =>
  word.length >= 2 && word.at(-1) === word.at(-2) && isConsonant(word, word.length - 1);

/** Porter's *o (consonant, vowel, consonant other than w, x, y), or NLTK's two-letter vowel-consonant word. */
function endsCvc(word: string): boolean {
  const n = word.length;
  if (n === 2) return !isConsonant(word, 0) && isConsonant(word, 1);
  return (
    n >= 3 &&
    isConsonant(word, n - 3) &&
    !isConsonant(word, n - 2) &&
    isConsonant(word, n - 1) &&
    !'wxy'.includes(word[n - 1])
  );
}

const positive = (stem: string) => measure(stem) > 0;
const overOne = (stem: string) => measure(stem) > 1;

/** A suffix, its replacement and a condition on the rest of the word; `doubled` matches a final double consonant. */
type Rule = [suffix: string | { doubled: true }, replacement: string, condition?: (stem: string) => boolean];

/** The first rule whose suffix the word ends with decides: replaced if its condition holds, else the word stays. */
function applyFirst(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    let stem: string;
    if (typeof suffix === 'string') {
      if (!word.endsWith(suffix)) continue;
      stem = word.slice(0, word.length - suffix.length);
    } else {
      if (!endsDoubleConsonant(word)) continue;
      stem = word.slice(0, -2);
    }
    return !condition || condition(stem) ? stem + replacement : word;
  }
  return word;
}

function step1a(word: string): string {
  if (word.endsWith('ies') && word.length === 4) return `${word.slice(0, -3)}ie`;
  return applyFirst(word, [
    ['sses', 'ss'],
    ['ies', 'i'],
    ['ss', 'ss'],
    ['s', ''],
  ]);
}

function step1b(word: string): string {
  if (word.endsWith('ied')) return `${word.slice(0, -3)}${word.length === 4 ? 'ie' : 'i'}`;
  if (word.endsWith('eed')) {
    const stem = word.slice(0, -3);
    return positive(stem) ? `${stem}ee` : word;
  }
  const suffix = ['ed', 'ing'].find((s) => word.endsWith(s) && hasVowel(word.slice(0, -s.length)));
  if (!suffix) return word;
  const stem = word.slice(0, -suffix.length);
  const last = stem.at(-1) ?? '';
  return applyFirst(stem, [
    ['at', 'ate'],
    ['bl', 'ble'],
    ['iz', 'ize'],
    [{ doubled: true }, last, () => !'lsz'.includes(last)],
    ['', 'e', (s) => measure(s) === 1 && endsCvc(s)],
  ]);
}

/** y -> i after a consonant that is not the word's only letter before it. */
const step1c = (word: string) =>
  applyFirst(word, [['y', 'i', (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)]]);

function step2(word: string): string {
  if (word.endsWith('alli') && positive(word.slice(0, -4))) return step2(`${word.slice(0, -4)}al`);
  const rules: Rule[] = [
    ['ational', 'ate', positive],
    ['tional', 'tion', positive],
    ['enci', 'ence', positive],
    ['anci', 'ance', positive],
    ['izer', 'ize', positive],
    ['bli', 'ble', positive],
    ['alli', 'al', positive],
    ['entli', 'ent', positive],
    ['eli', 'e', positive],
    ['ousli', 'ous', positive],
    ['ization', 'ize', positive],
    ['ation', 'ate', positive],
    ['ator', 'ate', positive],
    ['alism', 'al', positive],
    ['iveness', 'ive', positive],
    ['fulness', 'ful', positive],
    ['ousness', 'ous', positive],
    ['aliti', 'al', positive],
    ['iviti', 'ive', positive],
    ['biliti', 'ble', positive],
    ['fulli', 'ful', positive],
    // The l stays with the stem for the measure, so that geo-, theo- and the like count as archaeo- does.
    ['logi', 'log', () => positive(word.slice(0, -3))],
  ];
  return applyFirst(word, rules);
}

const step3 = (word: string) =>
  applyFirst(word, [
    ['icate', 'ic', positive],
    ['ative', '', positive],
    ['alize', 'al', positive],
    ['iciti', 'ic', positive],
    ['ical', 'ic', positive],
    ['ful', '', positive],
    ['ness', '', positive],
  ]);

const step4 = (word: string) =>
  applyFirst(word, [
    ...['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent'].map((suffix): Rule => [
      suffix,
      '',
      overOne,
    ]),
    ['ion', '', (stem) => overOne(stem) && 'st'.includes(stem.at(-1) ?? '-')],
    ...['ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize'].map((suffix): Rule => [suffix, '', overOne]),
  ]);

function step5a(word: string): string {
  if (!word.endsWith('e')) return word;
  const stem = word.slice(0, -1);
  const m = measure(stem);
  return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : word;
}

const step5b = (word: string) => applyFirst(word, [['ll', 'l', () => overOne(word.slice(0, -1))]]);

/** NLTK's `PorterStemmer().stem(word)`. */
export function nltkPorterStem(word: string): string {
  const lower = word.toLowerCase();
  const irregular = irregularForms.get(word);
  if (irregular !== undefined) return irregular;
  if (word.length <= 2) return lower;
  return [step1a, step1b, step1c, step2, step3, step4, step5a, step5b].reduce((stem, step) => step(stem), lower);
}
