import { accuracy, answerMatches, numbersMatch, openAnswersAgree, summarizeAccuracy } from '../../core/metrics';

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

  it("is Python's math.isclose: 1% of the larger magnitude, the same in both directions", () => {
    // Exactly 1% of the larger: |200 - 198| = 2 = 0.01 * 200.
    expect(numbersMatch(198, 200)).toBe(true);
    expect(numbersMatch(200, 198)).toBe(true);
    // Just over: |200 - 197.99| = 2.01.
    expect(numbersMatch(197.99, 200)).toBe(false);
    expect(numbersMatch(200, 197.99)).toBe(false);
    // 1% of 101 is 1.01, so 100 and 101 agree whichever is the reference.
    expect(numbersMatch(100, 101)).toBe(true);
    expect(numbersMatch(98.99, 100)).toBe(false);
  });

  it('needs a number within 1e-9 of 0 where one side is 0', () => {
    expect(numbersMatch(0, 0)).toBe(true);
    expect(numbersMatch(1e-13, 0)).toBe(true);
    expect(numbersMatch(0, 1e-9)).toBe(true);
    expect(numbersMatch(-1e-9, 0)).toBe(true);
    expect(numbersMatch(2e-9, 0)).toBe(false);
    expect(numbersMatch(1e-6, 0)).toBe(false);
  });

  it('never matches NaN', () => {
    expect(numbersMatch(NaN, 1)).toBe(false);
    expect(numbersMatch(1, NaN)).toBe(false);
  });
});

describe('openAnswersAgree', () => {
  it('compares two answers that read as numbers within the tolerance, however they are written', () => {
    expect(openAnswersAgree('12', '12.0')).toBe(true);
    expect(openAnswersAgree('12.00', '12')).toBe(true);
    expect(openAnswersAgree('$1,234.50', '1234.5')).toBe(true);
    expect(openAnswersAgree('1,234', '1234.5')).toBe(true);
    expect(openAnswersAgree('12%', '0.12')).toBe(true);
    expect(openAnswersAgree('3.', '3')).toBe(true);
    expect(openAnswersAgree('198', '200')).toBe(true);
    expect(openAnswersAgree('197.99', '200')).toBe(false);
    expect(openAnswersAgree('0', '0.000000001')).toBe(true);
    expect(openAnswersAgree('0', '0.01')).toBe(false);
  });

  it('compares anything else as text after the Super-NaturalInstructions normalisation', () => {
    expect(openAnswersAgree('The Eiffel Tower', 'eiffel tower.')).toBe(true);
    expect(openAnswersAgree('Paris', 'Lyon')).toBe(false);
    expect(openAnswersAgree('about twelve', 'About twelve!')).toBe(true);
    // An unparseable answer never agrees with a number.
    expect(openAnswersAgree('12 apples', '12')).toBe(false);
    expect(openAnswersAgree('twelve', '12')).toBe(false);
    // Nothing left after normalisation is no answer.
    expect(openAnswersAgree('the', 'a')).toBe(false);
  });
});

describe('answerMatches', () => {
  it('option-letter: the same letter', () => {
    expect(answerMatches('B', 'B', 'option-letter')).toBe(true);
    expect(answerMatches('B', 'C', 'option-letter')).toBe(false);
    expect(answerMatches(null, 'B', 'option-letter')).toBe(false);
  });

  it('number: both read as numbers and agree within the tolerance', () => {
    expect(answerMatches('$1,234.50', '1234.5', 'number')).toBe(true);
    expect(answerMatches('12%', '0.12', 'number')).toBe(true);
    expect(answerMatches('101', '100', 'number')).toBe(true);
    expect(answerMatches('102', '100', 'number')).toBe(false);
    expect(answerMatches('about 12', '12', 'number')).toBe(false);
    expect(answerMatches('12', 'twelve', 'number')).toBe(false);
    expect(answerMatches(null, '12', 'number')).toBe(false);
  });

  it('text-match: equal after normalisation, numbers included', () => {
    expect(answerMatches('The Eiffel Tower.', 'eiffel tower', 'text-match')).toBe(true);
    expect(answerMatches('Paris', 'Lyon', 'text-match')).toBe(false);
    expect(answerMatches('1,000', '1000', 'text-match')).toBe(true);
    expect(answerMatches('the', 'a', 'text-match')).toBe(false);
    expect(answerMatches(null, 'Paris', 'text-match')).toBe(false);
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
