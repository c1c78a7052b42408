// The authors' answer handling, case by case as their common.py behaves (each expectation checked against Python).
import {
  answerAgreement,
  answerIsCorrect,
  goldIsNumeric,
  readAnswer,
  withTrainingAnswer,
} from '../../core/answer-reading';
import {
  authorsAnswer,
  authorsFuzzyMatch,
  authorsNumbers,
  authorsNumbersMatch,
  authorsPackedAnswer,
  pythonIsClose,
} from '../../core/authors-answers';
import { evaluatePythonArithmetic } from '../../core/python-arithmetic';
import { parsePythonStringList, pythonStrip } from '../../core/python-string-list';

describe('authorsAnswer (extract_result)', () => {
  it.each([
    ['Answer: C', 'C'],
    ['Answer: C.', 'C.'],
    ['answer:c', 'c'],
    ['ANSWER :  (B) because', '(B)'],
    ['Answer: 42 dollars', '42'],
    ['Answer: about 42', 'about'],
    ['Answer: A\nAnswer: B', 'A'],
    ['The final answer: D', 'D'],
    ['FinalAnswer:D', 'D'],
    ['Answer:\n\nB', 'B'],
    ['The answer is C', ''],
    ['C', ''],
    ['Answer:', ''],
    ['', ''],
  ])('reads %j as %j', (response, answer) => {
    expect(authorsAnswer(response)).toBe(answer);
  });
});

describe('evaluatePythonArithmetic (eval on their number strings)', () => {
  it.each([
    ['42', 42],
    ['-3.5', -3.5],
    ['+7', 7],
    ['.5', 0.5],
    ['5.', 5],
    ['5.e3', 5000],
    ['1e-2', 0.01],
    ['00', 0],
    ['0123.5', 123.5],
    ['12/100', 0.12],
    ['5/100/100', 0.0005],
    ['-(2 + 3) * 4', -20],
    ['1e999', Infinity],
  ])('evaluates %j to %d', (expression, value) => {
    expect(evaluatePythonArithmetic(expression)).toBe(value);
  });

  it.each(['007', '.5.', '1.5.3', '1e', '5 5', '1/0', '0.0/0', '(1', '', '5(3)', '٣'])(
    'refuses %j, where Python raises',
    (expression) => {
      expect(evaluatePythonArithmetic(expression)).toBeNull();
    },
  );

  it('refuses what their number pattern never produces: powers, floor division, names', () => {
    expect(['2**3', '5//2', 'x'].map(evaluatePythonArithmetic)).toEqual([null, null, null]);
  });
});

describe('authorsNumbers (normoalize_num)', () => {
  it('reads every number, percent as /100 and commas dropped', () => {
    expect(authorsNumbers('12%')).toEqual([0.12]);
    expect(authorsNumbers('1,000')).toEqual([1000]);
    expect(authorsNumbers('$1,234.50')).toEqual([1234.5]);
    expect(authorsNumbers('between 3 and -4.5')).toEqual([3, -4.5]);
    expect(authorsNumbers('3-2')).toEqual([3, -2]);
    expect(authorsNumbers('about')).toEqual([]);
  });

  it('reads a number Python cannot evaluate as infinity', () => {
    expect(authorsNumbers('007')).toEqual([Infinity]);
    expect(authorsNumbers('.5.')).toEqual([Infinity]);
  });
});

describe('pythonIsClose and authorsNumbersMatch (check_value_equal)', () => {
  it('is relative to the larger magnitude, with no absolute tolerance', () => {
    expect(pythonIsClose(100, 101, 1e-2)).toBe(true);
    expect(pythonIsClose(100, 102, 1e-2)).toBe(false);
    expect(pythonIsClose(0, 1e-7, 1e-2)).toBe(false);
    expect(pythonIsClose(0, 0, 1e-2)).toBe(true);
    expect(pythonIsClose(Infinity, Infinity, 1e-2)).toBe(true);
    expect(pythonIsClose(Infinity, 1e308, 1e-2)).toBe(false);
  });

  it('matches when any predicted number is close to any gold number', () => {
    expect(authorsNumbersMatch([7, 100.5], [3, 100])).toBe(true);
    expect(authorsNumbersMatch([7], [3, 100])).toBe(false);
    expect(authorsNumbersMatch([], [3])).toBe(false);
  });
});

describe('authorsFuzzyMatch (fuzzy_match)', () => {
  it('takes one normalised text contained in the other', () => {
    expect(authorsFuzzyMatch('Eiffel', 'the Eiffel Tower')).toBe(true);
    expect(authorsFuzzyMatch('The Eiffel Tower.', 'eiffel')).toBe(true);
    expect(authorsFuzzyMatch('Paris', 'Lyon')).toBe(false);
    expect(authorsFuzzyMatch('', 'Paris')).toBe(false);
    expect(authorsFuzzyMatch('the', '.')).toBe(true);
  });
});

describe('authorsPackedAnswer (clean_string, which pack_answer applies to every training answer)', () => {
  it.each([
    ['C', 'C'],
    ['C.', 'C'],
    [' B. ', 'B'],
    ['"C"', 'C'],
    ["'A'", 'A'],
    ['1,234.5', '1,2345'],
    ['3.14%', '314%'],
    ['', ''],
    // Cut at ' ' (single quotes, one space), the shortest item kept.
    ["['4.5 mm' '4.5mm']", '45mm'],
    ['["ab" "c"]', 'ab c'],
    // Read as a Python list, the shortest string kept (the first of equals; length in code points).
    ["['4 mm', '4mm']", '4mm'],
    ["['x\\u00e9', 'longer']", 'x\u00e9'],
    ["['a',]", 'a'],
    ["['a\\n', 'bc']", 'a'],
    ["['A'  'B', 'xyz']", 'AB'],
    ["['\u00e9', 'ab']", '\u00e9'],
    ["['\u{1f600}\u{1f600}', 'abc']", '\u{1f600}\u{1f600}'],
    // Python's strip() takes U+001F off, and leaves U+FEFF.
    ['C. \x1f', 'C'],
    ['Answer\ufeff', 'Answer\ufeff'],
  ])('packs %j as %j', (label, packed) => {
    expect(authorsPackedAnswer(label)).toBe(packed);
  });

  it.each([
    ['[]', ''],
    ['[C]', '[C]'],
    ['[1, 2]', '[1, 2]'],
  ])('cleans %j as it stands where their literal_eval or min raises', (label, packed) => {
    expect(authorsPackedAnswer(label)).toBe(packed);
  });

  it('reads only flat lists of plain or u-prefixed string literals', () => {
    expect(parsePythonStringList(`[u'a', "b\\x41\\101\\q"]`)).toEqual(['a', 'bAA\\q']);
    for (const other of ["['a'] + ['b']", "[r'a']", "[b'a']", "['''a''']", "['a' 1]", "['a\nb']", "['\\N{DASH}']"])
      expect(parsePythonStringList(other)).toBeNull();
    expect(pythonStrip('\x85\u3000 a b\t')).toBe('a b');
  });

  it("packs training answers under the authors' reading only", () => {
    const item = { id: 'q', question: 'How much?', options: [], answer: '12.5' };
    expect(withTrainingAnswer(item, 'authors')).toEqual({ ...item, answer: '125' });
    expect(withTrainingAnswer(item, 'ours')).toBe(item);
  });
});

describe('the reading a run chooses', () => {
  const options = ['Berlin', 'Paris', 'Rome'];

  it('reads letters and open answers as the authors do, never null', () => {
    expect(readAnswer('Answer: C.', options, 'authors')).toBe('C.');
    expect(readAnswer('Answer: C.', options, 'ours')).toBe('C');
    expect(readAnswer('I think it is Paris.', options, 'authors')).toBe('');
    expect(readAnswer('I think it is Paris.', options, 'ours')).toBeNull();
    expect(readAnswer('Answer: about 42', [], 'authors')).toBe('about');
    expect(readAnswer('Answer: about 42', [], 'ours')).toBe('about 42');
  });

  it('agrees by equal strings under the authors, so "C." and "C" disagree and empty answers agree', () => {
    const authors = answerAgreement(options, 'authors');
    expect(authors('C.', 'C')).toBe(false);
    expect(authors('', '')).toBe(true);
    expect(answerAgreement([], 'authors')('12%', '0.12')).toBe(false);
    expect(answerAgreement([], 'ours')('12%', '0.12')).toBe(true);
  });

  it('scores by their check functions under the authors', () => {
    expect(answerIsCorrect('C.', 'C', 'option-letter', 'authors')).toBe(false);
    expect(answerIsCorrect('42', 'The total is 41.8 dollars', 'number', 'authors')).toBe(true);
    expect(answerIsCorrect('42', 'The total is 41.8 dollars', 'number', 'ours')).toBe(false);
    expect(answerIsCorrect('0', '0.0000001', 'number', 'authors')).toBe(false);
    expect(answerIsCorrect('0', '0.0000000001', 'number', 'authors')).toBe(false);
    expect(answerIsCorrect('0', '0.0000000001', 'number', 'ours')).toBe(true);
    expect(answerIsCorrect('12%', '0.12', 'number', 'authors')).toBe(true);
    expect(answerIsCorrect('Eiffel', 'the Eiffel Tower', 'text-match', 'authors')).toBe(true);
    expect(answerIsCorrect('Eiffel', 'the Eiffel Tower', 'text-match', 'ours')).toBe(false);
    expect(answerIsCorrect(null, 'C', 'option-letter', 'authors')).toBe(false);
  });

  it('takes a gold answer holding any number as numeric under the authors', () => {
    expect(goldIsNumeric('about 12 apples', 'authors')).toBe(true);
    expect(goldIsNumeric('about 12 apples', 'ours')).toBe(false);
    expect(goldIsNumeric('Gustave Eiffel', 'authors')).toBe(false);
  });
});
