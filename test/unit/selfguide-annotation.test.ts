// SELF-GUIDE stage 3's rules: the 30% majority vote, labels, class balancing.
import { balanceLabels, majorityAnswer, synthesizePairs } from '../../core/selfguide-annotation';

describe('majorityAnswer', () => {
  it('keeps the most frequent answer when it makes up at least 30% of all samples drawn', () => {
    expect(majorityAnswer(['A', 'A', 'A', 'B', 'B'], 10, 0.3)).toBe('A');
    expect(majorityAnswer(['A', 'A', 'B'], 10, 0.3)).toBeNull();
    // Filtered-out samples still count in the denominator.
    expect(majorityAnswer(['A', 'A'], 10, 0.2)).toBe('A');
    expect(majorityAnswer([], 10, 0.3)).toBeNull();
  });

  it('compares trimmed answers and breaks ties by the shortest, then the first seen', () => {
    expect(majorityAnswer([' long answer', 'long answer ', 'short', 'short ', 'x', 'y'], 6, 0.3)).toBe('short');
    expect(majorityAnswer(['bb', 'aa', 'bb', 'aa'], 4, 0.3)).toBe('bb');
  });
});

describe('balanceLabels', () => {
  const pairs = ['A', 'B', 'A', 'A', 'B', 'C', 'A'].map((output, i) => ({ input: `x${i}`, output }));

  it('downsamples every present label to the rarest one, keeping the original order, same for the same seed', () => {
    const balanced = balanceLabels(pairs, 7);
    expect(balanced.map((p) => p.output).sort()).toEqual(['A', 'B', 'C']);
    expect(balanceLabels(pairs, 7)).toEqual(balanced);
    const order = balanced.map((p) => Number(p.input.slice(1)));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('synthesizePairs', () => {
  const sample = (answers: Record<string, number>) =>
    Object.entries(answers).flatMap(([a, n]) => Array<string>(n).fill(a));
  const base = {
    exampleOutputs: ['yes', 'no'],
    noiseTerms: ['output'],
    lengthFilter: false,
    minShare: 0.3,
    shareOf: 'all' as const,
    seed: 1,
  };

  it('classification: votes, requires a label after trimming, then balances', () => {
    const annotated = [
      { input: ' i1 ', samples: sample({ yes: 6, no: 4 }) },
      { input: 'i2', samples: sample({ ' no ': 5, maybe: 5 }) },
      { input: 'i3', samples: sample({ maybe: 8, yes: 2 }) },
      { input: 'i4', samples: sample({ yes: 2, no: 2, maybe: 2, 'output: yes': 4 }) },
      { input: 'i5', samples: sample({ yes: 9, no: 1 }) },
    ];
    const result = synthesizePairs(annotated, { ...base, kind: 'classification', labels: ['yes', 'no'] });
    expect(result.dropped).toEqual({ 'no-majority': 1, 'not-a-label': 1, balancing: 1 });
    expect(result.pairs.map((p) => p.output).sort()).toEqual(['no', 'yes']);
    expect(result.pairs.find((p) => p.output === 'no')).toEqual({ input: 'i2', output: 'no' });
  });

  it('shareOf: the 30% share counts the samples left after the filters (the authors) or all samples drawn', () => {
    // [bb, bb, a, a, c] survive out of 10: 2 of 5 passes 30%, the tie goes to the shorter "a"; 2 of 10 does not.
    const annotated = [{ input: 'i', samples: ['bb', 'bb', 'a', 'a', 'c', ...Array<string>(5).fill('output')] }];
    const gen = { ...base, kind: 'generation' as const, labels: [] };
    expect(synthesizePairs(annotated, { ...gen, shareOf: 'kept' }).pairs).toEqual([{ input: 'i', output: 'a' }]);
    expect(synthesizePairs(annotated, { ...gen, shareOf: 'all' }).dropped['no-majority']).toBe(1);
  });

  it("generation: the output length rule drops samples outside the gold outputs' mu ± 2 sigma", () => {
    const annotated = [{ input: 'i', samples: [...sample({ 'a much too long answer': 7 }), ...sample({ abc: 3 })] }];
    const gen = { ...base, exampleOutputs: ['ab', 'abcd'], kind: 'generation' as const, labels: [] };
    expect(synthesizePairs(annotated, gen).pairs).toEqual([{ input: 'i', output: 'a much too long answer' }]);
    expect(synthesizePairs(annotated, { ...gen, lengthFilter: true }).pairs).toEqual([{ input: 'i', output: 'abc' }]);
  });
});
