// SELF-GUIDE's metrics on worked examples: Super-NaturalInstructions' exact match and ROUGE-L, and the authors'
// character variant.
import { porterStemmer } from '../../activities/stemmer';
import {
  labelExactMatch,
  lastLabelOccurrence,
  lcsLength,
  normalizeAnswer,
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
