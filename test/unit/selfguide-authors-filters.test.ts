// `generation.filters: authors`: the authors' input and output-sample filters on hand-computed cases, each reasoned
// through as their Python runs it (prompt2model's input generator and output annotator, quality_evaluator/*).
import { synthesizePairs } from '../../core/selfguide-annotation';
import {
  applyAuthorsInputFilters,
  authorsLengthBounds,
  filterInputsBy,
  outputSampleFilter,
} from '../../core/selfguide-filters';
import { numpyStd, numpySum } from '../../core/stats';

const inRound = (round: number, inputs: string[]) => inputs.map((input) => ({ input, round }));
const spec = (exampleInputs: string[], lengthFilter: boolean) => ({
  exampleInputs,
  noiseTerms: ['input', '\n\n'],
  lengthFilter,
});

describe("numpy's sum and std", () => {
  it('sum 8 or more values in eight interleaved accumulators, as numpy does', () => {
    // 2^53 + 1 rounds back to 2^53 (ties to even), so one after another every 1 is lost: the sum is 0. numpy's
    // order is ((2^53 + 1) + (1 + 1)) + ((1 + 1) + (1 + 1)) = 2^53 + 6, exact, then -2^53 leaves 6.
    const values = [2 ** 53, 1, 1, 1, 1, 1, 1, 1, -(2 ** 53)];
    expect(values.reduce((a, b) => a + b, 0)).toBe(0);
    expect(numpySum(values)).toBe(6);
    expect(numpySum([1, 2, 3])).toBe(6);
  });

  it('std divides by n', () => {
    // np.std([2, 4, 4, 4, 5, 5, 7, 9]) == 2.0
    expect(numpyStd([2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
  });
});

describe("the authors' length bounds", () => {
  it('truncate mu ± 2 sigma toward zero, keeping a negative lower bound; the top is exclusive', () => {
    // Lengths 2, 4: mu 3, sigma 1, int(1) = 1 and int(5) = 5: 1 <= len < 5, so length 5 is out (ours keep it).
    expect(authorsLengthBounds(['ab', 'abcd'])).toEqual({ min: 1, max: 5 });
    // Lengths 1, 1, 10: mu 4, sigma sqrt(18) = 4.243, int(-4.485) = -4 (toward zero), int(12.485) = 12.
    expect(authorsLengthBounds(['a', 'b', 'abcdefghij'])).toEqual({ min: -4, max: 12 });
    // Lengths 1, 1, 1, 4: mu 1.75, sigma 1.299; int(-0.848) is 0 in Python, not -0.
    expect(authorsLengthBounds(['a', 'b', 'c', 'abcd'])).toEqual({ min: 0, max: 4 });
    // Zero spread: 3 <= len < 3 keeps nothing.
    expect(authorsLengthBounds(['abc', 'xyz'])).toEqual({ min: 3, max: 3 });
    const lengthOnly = applyAuthorsInputFilters(inRound(1, ['abc', 'abcd']), spec(['abc', 'xyz'], true));
    expect(lengthOnly.map((f) => f.reason)).toEqual(['length', 'length']);
  });
});

describe("the authors' input filters", () => {
  it('test emptiness, length, noise on the raw text, in that order, then duplicates', () => {
    // Gold lengths 2, 4: 1 <= len < 5. "Of course! x" (12 code points) fails length before noise is tested;
    // "ab\n\n" (4) passes length and is noise; "abcde" (5) is length; "   " is not '' and is kept.
    const inputs = ['', 'Of course! x', 'ab\n\n', 'abcde', 'abc', '   '];
    const filtered = applyAuthorsInputFilters(inRound(1, inputs), spec(['ab', 'abcd'], true));
    expect(filtered.map((f) => f.reason)).toEqual(['empty', 'length', 'noise', 'length', null, null]);
    // Ours: noise before length, 5 within mu + 2 sigma inclusive, and the blank input empty.
    expect(filterInputsBy('ours', inRound(1, inputs), spec(['ab', 'abcd'], true)).map((f) => f.reason)).toEqual([
      'empty',
      'noise',
      'noise',
      null,
      null,
      'empty',
    ]);
  });

  it('drop repeats of earlier kept inputs round by round: raw within a round, stripped across rounds', () => {
    // Round 1: the unique set starts empty (gold inputs are not in it), so the copy of gold "abcd" is kept; " x "
    // is kept (stored "x"), its raw repeat is a duplicate, raw "x" is not " x " and is kept too.
    // Round 2: the set is the stored inputs {abcd, x}: raw " x " is not in it and is kept, "x" is a duplicate.
    const generated = [...inRound(1, ['abcd', ' x ', ' x ', 'x']), ...inRound(2, [' x ', 'x', 'y'])];
    const filtered = applyAuthorsInputFilters(generated, spec(['abcd', 'efgh'], false));
    expect(filtered.map((f) => f.reason)).toEqual([null, null, 'duplicate', null, null, 'duplicate', null]);
    expect(filterInputsBy('ours', generated, spec(['abcd', 'efgh'], false)).map((f) => f.reason)).toEqual([
      'duplicate',
      null,
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      null,
    ]);
  });

  it('match an empty noise term everywhere, as Python\'s `"" in text` does', () => {
    const filtered = applyAuthorsInputFilters(inRound(1, ['abc']), { ...spec(['abc'], false), noiseTerms: [''] });
    expect(filtered.map((f) => f.reason)).toEqual(['noise']);
  });
});

describe("the authors' output-sample filters", () => {
  const outputs = { exampleOutputs: ['aa', 'bbbb'], noiseTerms: ['output'] };

  it('drop only "" before stripping, then test length (1 <= len < 5 here) and noise on the stripped text', () => {
    const samples = ['aaa', 'aaaaa', ' ab ', 'ab output', '  ', ''];
    // "  " strips to "", whose length 0 is under the lower bound 1.
    expect(outputSampleFilter({ ...outputs, lengthFilter: true }, 'authors')(samples)).toEqual(['aaa', 'ab']);
    expect(outputSampleFilter({ ...outputs, lengthFilter: false }, 'authors')(samples)).toEqual([
      'aaa',
      'aaaaa',
      'ab',
      '',
    ]);
    // Ours keep 5 code points (mu + 2 sigma = 5, inclusive) and drop the blank sample.
    expect(outputSampleFilter({ ...outputs, lengthFilter: true }, 'ours')(samples)).toEqual(['aaa', 'aaaaa', ' ab ']);
  });

  it('let blank samples vote: a blank majority leaves the input without a pair', () => {
    // Theirs vote over ["", "", "yes"]: "" has 2 of 3 and wins, and `consistent_output != ""` keeps no pair.
    // Ours vote over ["yes"] alone.
    const annotated = [{ input: 'i', samples: ['  ', '\n', 'yes', ''] }];
    const common = {
      ...outputs,
      lengthFilter: false,
      kind: 'generation' as const,
      labels: [],
      minShare: 0.3,
      shareOf: 'kept' as const,
      seed: 1,
    };
    const theirs = synthesizePairs(annotated, { ...common, filters: 'authors' });
    expect(theirs).toEqual({ pairs: [], dropped: { 'no-majority': 1, 'not-a-label': 0, balancing: 0 } });
    expect(synthesizePairs(annotated, common).pairs).toEqual([{ input: 'i', output: 'yes' }]);
  });
});
