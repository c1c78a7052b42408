import { extractNumber, extractOptionLetter } from '../../core/answers';

describe('extractOptionLetter', () => {
  it.each([
    ['Answer: C', 'C'],
    ['answer: (c)', 'C'],
    ['answer: c', 'C'],
    ['The answer is C.', 'C'],
    ['The answer is: option C', 'C'],
    ['The final answer is C, because Paris is the capital.', 'C'],
    ['The correct answer is (D) since the others are wrong.', 'D'],
    ['Answer: **C**', 'C'],
    ['**Answer:** B', 'B'],
    ['**Answer**: B', 'B'],
    ['Answer: [A]', 'A'],
    ['Answer: C. Paris', 'C'],
    ['**C**', 'C'],
    ['C.', 'C'],
    ['C)', 'C'],
    ['(C)', 'C'],
    ['  c  ', 'C'],
    ['C. Paris', 'C'],
    ['(B) Berlin is wrong, but that is what I pick', 'B'],
    ['**D** is my choice', 'D'],
    ['The best option is B.', 'B'],
    ['Correct choice: (A)', 'A'],
  ])('reads %j as %s', (text, letter) => {
    expect(extractOptionLetter(text, 4)).toBe(letter);
  });

  it('prefers the last explicit marker', () => {
    expect(extractOptionLetter('Answer: C\nWait, let me reconsider.\nAnswer: B', 4)).toBe('B');
    expect(extractOptionLetter('The answer is A. On reflection the answer is D.', 4)).toBe('D');
  });

  it('skips later markers that name no option', () => {
    expect(extractOptionLetter('Answer: B\n\nI hope this answer is helpful.', 4)).toBe('B');
    expect(extractOptionLetter('Answer: D\nanswer: E', 4)).toBe('D');
  });

  it('never takes the article "A" in prose for an answer', () => {
    expect(extractOptionLetter('A company reported a loss, so sentiment is negative.', 3)).toBeNull();
    expect(extractOptionLetter('The answer is a bit unclear.', 4)).toBeNull();
    expect(extractOptionLetter('A', 3)).toBe('A');
    expect(extractOptionLetter('The answer is a.', 3)).toBe('A');
  });

  it('takes an uppercase letter after a marker even before more words', () => {
    expect(extractOptionLetter('Answer: A because the company reported a loss', 3)).toBe('A');
  });

  it('only accepts letters within the option count', () => {
    expect(extractOptionLetter('Answer: E', 4)).toBeNull();
    expect(extractOptionLetter('Answer: E', 5)).toBe('E');
    expect(extractOptionLetter('D', 3)).toBeNull();
  });

  it('reads a bare letter on the first or the last line', () => {
    expect(extractOptionLetter('B\n\nExplanation: the answer is not A, since Berlin is in Germany.', 3)).toBe('B');
    expect(extractOptionLetter('Paris is the capital of France.\n\n(B)', 3)).toBe('B');
  });

  it('returns null when nothing is unambiguous', () => {
    expect(extractOptionLetter('', 4)).toBeNull();
    expect(extractOptionLetter('Answer: Paris', 4)).toBeNull();
    expect(extractOptionLetter('I think it is B', 4)).toBeNull();
    expect(extractOptionLetter('C is correct', 4)).toBeNull();
    expect(extractOptionLetter('A.I. is hard to predict.', 4)).toBeNull();
    expect(extractOptionLetter('Question: Capital of France?\nOptions:\nA. Berlin\nB. Paris', 4)).toBeNull();
  });
});

describe('extractNumber', () => {
  it.each([
    ['Answer: 42', 42],
    ['The total is 1,234.5 dollars', 1234.5],
    ['Answer: -3', -3],
    ['Answer: \u22124', -4],
    ['it grew to 2.5e3 units', 2500],
    ['Answer: 45%', 0.45],
    ['Answer: .5', 0.5],
    ['I computed 10 and 20. Answer: 15 (roughly)', 15],
    ['Answer: 12 + 30 = 42', 42],
    ['first 3 then 7', 7],
    ['from 10-20', 20],
    ['Answer: 7\nAnswer: unclear', 7],
  ])('reads %j as %d', (text, value) => {
    expect(extractNumber(text)).toBe(value);
  });

  it('ignores digits glued to letters', () => {
    expect(extractNumber('see Q3 and x201a')).toBeNull();
  });

  it('returns null without a number', () => {
    expect(extractNumber('no numbers here')).toBeNull();
    expect(extractNumber('')).toBeNull();
  });
});
