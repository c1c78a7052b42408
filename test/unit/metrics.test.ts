import { accuracy, numbersMatch, summarizeAccuracy } from '../../core/metrics';

describe('numbersMatch', () => {
  it('allows a 1% relative error by default', () => {
    expect(numbersMatch(100.5, 100)).toBe(true);
    expect(numbersMatch(101, 100)).toBe(true);
    expect(numbersMatch(102, 100)).toBe(false);
    expect(numbersMatch(-3.02, -3)).toBe(true);
    expect(numbersMatch(3, -3)).toBe(false);
  });

  it('takes a custom tolerance', () => {
    expect(numbersMatch(105, 100, 0.05)).toBe(true);
    expect(numbersMatch(100.5, 100, 1e-3)).toBe(false);
  });

  it('needs (almost) exactly 0 for a gold of 0', () => {
    expect(numbersMatch(0, 0)).toBe(true);
    expect(numbersMatch(1e-13, 0)).toBe(true);
    expect(numbersMatch(1e-6, 0)).toBe(false);
  });

  it('never matches NaN', () => {
    expect(numbersMatch(NaN, 1)).toBe(false);
    expect(numbersMatch(1, NaN)).toBe(false);
  });
});

describe('accuracy', () => {
  it('is the share of true values, 0 when empty', () => {
    expect(accuracy([true, false, true, true])).toBe(0.75);
    expect(accuracy([])).toBe(0);
  });

  it('summarizes counts', () => {
    expect(summarizeAccuracy([true, false, true, true])).toEqual({ correct: 3, total: 4, accuracy: 0.75 });
    expect(summarizeAccuracy([])).toEqual({ correct: 0, total: 0, accuracy: 0 });
  });
});
