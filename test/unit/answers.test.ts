import { extractOpenAnswer, extractOptionLetter, readNumber } from '../../core/answers';

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

describe('extractOpenAnswer', () => {
  it.each([
    ['Answer: 42', '42'],
    ['Adding them up.\nAnswer: $1,234.50', '$1,234.50'],
    ['Answer: 7\nAnswer: 9', '9'],
    ['Answer: 5\nAnswer:', '5'],
    ['**Answer:** The Eiffel Tower', 'The Eiffel Tower'],
    ['the answer: 3.', '3.'],
    ['Answer:   12%  \nThat is my guess.', '12%'],
  ])('reads %j as %j', (text, answer) => {
    expect(extractOpenAnswer(text)).toBe(answer);
  });

  it('is null without an "Answer:" line that holds something', () => {
    expect(extractOpenAnswer('42')).toBeNull();
    expect(extractOpenAnswer('The total is 42.')).toBeNull();
    expect(extractOpenAnswer('Answer:')).toBeNull();
    expect(extractOpenAnswer('Answer: **')).toBeNull();
    expect(extractOpenAnswer('')).toBeNull();
  });
});

describe('readNumber', () => {
  it.each([
    ['42', 42],
    ['-3', -3],
    ['\u22124', -4],
    ['+7', 7],
    ['12.0', 12],
    ['.5', 0.5],
    ['2.5e3', 2500],
    ['1,234', 1234],
    ['$1,234.50', 1234.5],
    ['-$5', -5],
    ['\u20ac5', 5],
    ['12%', 0.12],
    ['12.5 %', 0.125],
    ['3.', 3],
    ['1,234.50.', 1234.5],
  ])('reads %j as %d', (answer, value) => {
    expect(readNumber(answer)).toBeCloseTo(value, 12);
  });

  it('is null for anything that is not one number once normalised', () => {
    for (const answer of ['twelve', 'about 12', '12 apples', '12-14', '1.2.3', '1,23', 'Q3', '$', '%', '', '.'])
      expect(readNumber(answer)).toBeNull();
  });
});
