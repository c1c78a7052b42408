// SELF-GUIDE's metrics on worked examples: Super-NaturalInstructions' exact match and ROUGE-L, and the authors'
// character variant.
import { porterStemmer } from '../../activities/stemmer';
import {
  authorsExactMatches,
  labelExactMatch,
  lastLabelOccurrence,
  lcsLength,
  normalizeAnswer,
  normalizeKeepingArticles,
  rougeLChars,
  rougeLWords,
  rougeTokens,
} from '../../core/text-metrics';

describe('exact match over labels', () => {
  it('normalizes like Super-NaturalInstructions: case, punctuation, articles, whitespace', () => {
    expect(normalizeAnswer('  The  Entailment!  ')).toBe('entailment');
    expect(normalizeAnswer('An apple, a day.')).toBe('apple day');
  });

  it('reads the last label occurring in the output, case-sensitively, preferring the longer label', () => {
    expect(lastLabelOccurrence('Not Neutral but Contradiction.', ['Neutral', 'Contradiction', 'Entailment'])).toBe(
      'Contradiction',
    );
    expect(lastLabelOccurrence('contradiction', ['Contradiction'])).toBeNull();
    expect(lastLabelOccurrence('it is supporting', ['support', 'supporting'])).toBe('supporting');
    expect(lastLabelOccurrence('Answer: 2 (not 3), so 1', ['1', '2', '3'])).toBe('1');
  });

  it('matches the normalized prediction with the normalized gold', () => {
    expect(labelExactMatch('I think the answer is weakener.', 'weakener', ['strengthener', 'weakener'])).toBe(true);
    expect(labelExactMatch('strengthener', 'weakener', ['strengthener', 'weakener'])).toBe(false);
    expect(labelExactMatch('no label here', 'weakener', ['strengthener', 'weakener'])).toBe(false);
  });
});

describe("the authors' exact match (evaluation.exactMatch: authors)", () => {
  it('normalizes keeping articles', () => {
    expect(normalizeKeepingArticles('  The  Entailment!  ')).toBe('the entailment');
    expect(normalizeKeepingArticles('An apple, a day.')).toBe('an apple a day');
  });

  it("takes the labels from the split's gold outputs, stripped: a task label no gold output has is not read", () => {
    // Their labels are Counter([entailment, contradiction]).keys(): "neutral" is not among them, so the last label
    // in the first answer is "entailment"; the stripped gold " contradiction " is a label as "contradiction".
    const split = [
      { response: 'entailment, not neutral', output: 'entailment' },
      { response: 'so: contradiction', output: ' contradiction ' },
    ];
    expect(authorsExactMatches(split)).toEqual([1, 1]);
    const taskLabels = ['entailment', 'neutral', 'contradiction'];
    expect(split.map((item) => Number(labelExactMatch(item.response, item.output, taskLabels)))).toEqual([0, 1]);
  });

  it('tries labels in the order first seen, so a label that starts a later one wins, and keeps articles', () => {
    // Pattern "yes|yes and no": at position 0 "yes" matches first, and " and no" holds no label: "yes" is read,
    // which is not "yes and no". Ours tries the longer label first.
    const order = [
      { response: 'yes', output: 'yes' },
      { response: 'yes and no', output: 'yes and no' },
    ];
    expect(authorsExactMatches(order)).toEqual([1, 0]);
    expect(labelExactMatch('yes and no', 'yes and no', ['yes', 'yes and no'])).toBe(true);
    // "an apple" is read and normalized to "an apple", not the gold "apple"; ours drop the article: a match.
    const articles = [
      { response: 'an apple', output: 'an apple' },
      { response: 'an apple', output: 'apple' },
    ];
    expect(authorsExactMatches(articles)).toEqual([1, 0]);
    expect(labelExactMatch('an apple', 'apple', ['an apple', 'apple'])).toBe(true);
  });
});

describe('ROUGE-L', () => {
  it('tokenizes like rouge_score: lowercase alphanumeric runs', () => {
    expect(rougeTokens("Don't stop-believing, 2024!")).toEqual(['don', 't', 'stop', 'believing', '2024']);
    expect(rougeTokens('Café über')).toEqual(['caf', 'ber']);
  });

  it('computes the LCS F-measure over words (worked example)', () => {
    // reference "the cat sat on the mat", prediction "the cat lay on a mat": LCS the,cat,on,mat = 4; P = R = 4/6.
    expect(rougeLWords('the cat lay on a mat', 'the cat sat on the mat')).toBeCloseTo(4 / 6, 12);
    expect(rougeLWords('', 'anything')).toBe(0);
    expect(rougeLWords('unrelated words', 'the gold')).toBe(0);
  });

  it('stems words longer than 3 characters with the Porter stemmer', async () => {
    const stem = await porterStemmer();
    expect(['cats', 'running', 'runs', 'generalization', 'ponies'].map(stem)).toEqual([
      'cat',
      'run',
      'run',
      'gener',
      'poni',
    ]);
    expect(rougeTokens('The cats are running', stem)).toEqual(['the', 'cat', 'are', 'run']);
    // Stemmed: prediction [the, cat, are, run], reference [a, cat, run]: LCS 2, P = 2/4, R = 2/3, F = 4/7.
    expect(rougeLWords('The cats are running', 'a cat runs', stem)).toBeCloseTo(4 / 7, 12);
    expect(rougeLWords('The cats are running', 'a cat runs')).toBe(0);
  });

  it("has the authors' character-level variant over code points", () => {
    expect(lcsLength([...'abcd'], [...'abxd'])).toBe(3);
    expect(rougeLChars('abcd', 'abxd')).toBeCloseTo(0.75, 12);
    // "😀a" vs "a": LCS 1, P = 1/2, R = 1, F = 2/3 (in UTF-16 units it would be 1/3 precision).
    expect(rougeLChars('😀a', 'a')).toBeCloseTo(2 / 3, 12);
  });
});
