// SELF-GUIDE's input filters (stage 2) on hand-computed cases (test/e2e/selfguide-filter.test.ts runs the CLI).
import {
  chatbotPhrases,
  countReasons,
  applyInputFilters,
  keepOutputSample,
  lengthBounds,
} from '../../core/selfguide-filters';

const spec = (exampleInputs: string[], lengthFilter = true, noiseTerms: string[] = ['input', '\n\n']) => ({
  exampleInputs,
  noiseTerms,
  lengthFilter,
});
const reasons = (inputs: string[], s: ReturnType<typeof spec>) => applyInputFilters(inputs, s).map((f) => f.reason);

describe('SELF-GUIDE input filters', () => {
  it('measures length in code points: an emoji outside the BMP counts once', () => {
    // Gold lengths 2 and 4 code points (4 and 4 UTF-16 units): mu 3, population sigma 1, keep 1..5.
    expect(lengthBounds(['😀😀', 'abcd'])).toEqual({ min: 1, max: 5 });
    const inputs = ['😀😀😀😀😀', '😀😀😀😀😀😀', 'x'];
    expect(reasons(inputs, spec(['😀😀', 'abcd']))).toEqual([null, 'length', null]);
  });

  it('keeps exactly the gold length when the gold inputs have zero spread', () => {
    expect(lengthBounds(['abc', 'xyz'])).toEqual({ min: 3, max: 3 });
    expect(reasons(['abd', 'ab', 'abcd', '  abe  '], spec(['abc', 'xyz']))).toEqual([null, 'length', 'length', null]);
  });

  it('removes duplicates of gold inputs and of inputs kept earlier, after trimming; the first wins', () => {
    expect(reasons([' abc ', 'new', 'new ', 'xyz'], spec(['abc', 'xyz'], false))).toEqual([
      'duplicate',
      null,
      'duplicate',
      'duplicate',
    ]);
  });

  it('applies empty, noise, length and duplicate in that order', () => {
    const gold = ['abcdef', 'ghijkl'];
    const inputs = ['   ', 'Of course! abc', 'an input here', 'Input ok', 'a\n\nb', 'ab', 'abcdef', 'zzzzzz', 'zzzzzz'];
    const filtered = applyInputFilters(inputs, spec(gold));
    expect(filtered.map((f) => f.reason)).toEqual([
      'empty',
      'noise',
      'noise',
      'length',
      'noise',
      'length',
      'duplicate',
      null,
      'duplicate',
    ]);
    expect(filtered[0]).toEqual({ input: '   ', kept: false, reason: 'empty' });
    expect(countReasons(filtered)).toEqual({ kept: 1, empty: 1, noise: 3, length: 2, duplicate: 2 });
    // Without the length rule, "Input ok" (task noise terms are case-sensitive) and "ab" are kept.
    expect(reasons(inputs, spec(gold, false))).toEqual([
      'empty',
      'noise',
      'noise',
      null,
      'noise',
      null,
      'duplicate',
      null,
      'duplicate',
    ]);
  });

  it('checks noise before trimming, as the authors do: surrounding blank lines are the noise term "\n\n"', () => {
    // The authors' ablation filter sees the raw generation and strips only the inputs it keeps.
    const filtered = applyInputFilters(['\n\ntext\n\n', 'text', ' other '], spec(['abcd'], false));
    expect(filtered.map((f) => f.reason)).toEqual(['noise', null, null]);
    // Without surrounding whitespace nothing changes: the same input alone is kept.
    expect(reasons(['text'], spec(['abcd'], false))).toEqual([null]);
  });

  it('lists the chatbot phrases the paper names', () => {
    for (const phrase of [
      "Sure, I'd be happy to help!",
      'Of course!',
      'Great question!',
      'Absolutely!',
      'I understand your question.',
    ]) {
      expect(chatbotPhrases).toContain(phrase);
    }
  });

  it('filters output samples: empty and noise always, the gold-output length rule when on', () => {
    const outputs = { exampleOutputs: ['aa', 'bbbb'], noiseTerms: ['output'], lengthFilter: true };
    expect(['aaa', ' ', 'output', 'aaaaaa', 'Absolutely! aa'].map((s) => keepOutputSample(s, outputs))).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
    expect(keepOutputSample('aaaaaa', { ...outputs, lengthFilter: false })).toBe(true);
  });
});
