// `flt review --apply`'s check of an edited review file: each refusal names the file and line, and only `decision`
// may differ from what was exported.
import { readReviewFile, selfGuideReviewItem, semievolReviewItem, type ReviewItem } from '../../core/review';

const exported: ReviewItem[] = [
  semievolReviewItem(
    { id: 'q1', pseudo_label: 'A', entropy: 0.1, consistent: true },
    { id: 'q1', question: 'Up or down?', options: ['up', 'down'], answer: null },
  ),
  semievolReviewItem(
    { id: 'q2', pseudo_label: 'B', entropy: 0.7, consistent: false },
    { id: 'q2', question: 'Left or right?', options: ['left', 'right'], answer: null },
  ),
];
const lines = (items: object[]) => items.map((item) => JSON.stringify(item)).join('\n') + '\n';
const read = (text: string) => readReviewFile(text, 'review.jsonl', exported);

describe('readReviewFile', () => {
  it('counts the decisions of a file as exported, with one item rejected', () => {
    const text = lines([exported[0], { ...exported[1], decision: 'reject' }]);
    expect(read(text)).toEqual({
      verdicts: [
        { id: 'q1', decision: 'accept' },
        { id: 'q2', decision: 'reject' },
      ],
      accepted: 1,
      rejected: 1,
    });
  });

  it('takes the lines in any order, with blank lines and CRLF endings', () => {
    const text = `\r\n${JSON.stringify(exported[1])}\r\n\r\n${JSON.stringify(exported[0])}\r\n`;
    expect(read(text).verdicts.map((v) => v.id)).toEqual(['q2', 'q1']);
  });

  it.each([
    ['a line that is not JSON', `${JSON.stringify(exported[0])}\n{"id": "q2",\n`, 'review.jsonl line 2 is not JSON'],
    ['a JSON array', `${JSON.stringify(exported[0])}\n[1]\n`, 'review.jsonl line 2 is not a JSON object'],
    ['an unknown id', lines([exported[0], { ...exported[1], id: 'q9' }]), 'review.jsonl line 2: id "q9" is not among'],
    ['an item twice', lines([exported[0], exported[0]]), 'review.jsonl line 2: item q1 is already decided on line 1'],
    [
      'a decision other than accept or reject',
      lines([exported[0], { ...exported[1], decision: 'maybe' }]),
      'review.jsonl line 2: decision must be "accept" or "reject", got "maybe"',
    ],
    [
      'an edited label',
      lines([exported[0], { ...exported[1], pseudo_label: 'A' }]),
      'review.jsonl line 2: "pseudo_label" of item q2 differs from the exported item',
    ],
    [
      'a field left out',
      lines([exported[0], { id: 'q2', decision: 'accept' }]),
      'review.jsonl line 2: "question" of item q2 differs',
    ],
    ['a missing item', lines([exported[1]]), 'review.jsonl has no line for item q1'],
  ])('refuses %s, naming the file and line', (_, text, message) => {
    expect(() => read(text)).toThrow(message);
  });

  it('numbers SELF-GUIDE pairs from 1, in the order of the pairs', () => {
    const items = [
      { input: 'a', output: 'x' },
      { input: 'b', output: 'y' },
    ].map(selfGuideReviewItem);
    expect(items).toEqual([
      { id: '1', decision: 'accept', input: 'a', output: 'x' },
      { id: '2', decision: 'accept', input: 'b', output: 'y' },
    ]);
  });
});
