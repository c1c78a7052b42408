// `flt show`'s items: recorded stage outputs joined per item, filtered, and written as wrapped blocks.
import type { AnnotationSpec } from '../../core/selfguide-annotation';
import {
  filterItems,
  itemBlock,
  selfGuideItems,
  semievolItems,
  shellWord,
  wrap,
  type SemievolRecords,
} from '../../lib/show-items';

const say = (letter: string, logprobs = [-0.5]) => ({ response: `Because. Answer: ${letter}`, logprobs });
const questions = ['q1', 'q2', 'q3'].map((id) => ({
  id,
  question: `Is ${id} good news?`,
  options: ['positive', 'negative'],
  answer: null,
}));
const semievol = (over: Partial<SemievolRecords> = {}): SemievolRecords => ({
  questions,
  collaborators: [
    { model: 'warm', examples: 1 },
    { model: 'base', examples: 0 },
  ],
  reading: { answers: 'ours', entropyOver: 'response' },
  answers: new Map([
    ['q1', [say('A', [-0.2]), say('A')]],
    ['q2', [say('A'), say('B')]],
  ]),
  records: new Map([
    ['q1', { ...questions[0], collaborators: [say('A', [-0.2]), say('A')], reflection: null }],
    ['q2', { ...questions[1], collaborators: [say('A'), say('B')], reflection: say('B', [-0.4]) }],
  ]),
  selected: new Set(['q1']),
  gold: new Map([
    ['q1', 'A'],
    ['q2', null],
  ]),
  ...over,
});

describe('SemiEvol items', () => {
  it('joins answers, consistency, justification, entropy, selection and the gold per question', () => {
    const [q1, q2, q3] = semievolItems(semievol());
    expect(q1).toMatchObject({
      number: 1,
      consistent: true,
      justification: null,
      pseudoLabel: { label: 'A', entropy: 0.2 },
      selected: true,
      gold: 'A',
    });
    expect(q1.collaborators).toEqual([
      { model: 'M_warm', examples: 1, answer: 'A', response: 'Because. Answer: A' },
      { model: 'M_base', examples: 0, answer: 'A', response: 'Because. Answer: A' },
    ]);
    expect(q2).toMatchObject({
      consistent: false,
      justification: { answer: 'B' },
      pseudoLabel: { label: 'B', entropy: 0.4 },
      selected: false,
    });
    expect(q2).not.toHaveProperty('gold'); // the data has none for it
    expect(q3).toMatchObject({ collaborators: null, selected: false }); // refused in collaborate
  });

  it('shows only what the stages so far recorded', () => {
    const [q1] = semievolItems(semievol({ records: null, selected: null }));
    expect(q1.collaborators).toHaveLength(2);
    expect(q1).not.toHaveProperty('pseudoLabel');
    expect(q1).not.toHaveProperty('selected');
  });

  it('filters by selection, drop reason and a case-insensitive pattern over the text and answers', () => {
    const items = semievolItems(
      semievol({
        records: new Map([
          ['q1', { ...questions[0], collaborators: [say('A', [-0.2]), say('A')], reflection: null }],
          ['q2', { ...questions[1], collaborators: [say('A'), say('B')], reflection: say('?') }],
        ]),
      }),
    );
    const ids = (filters: Parameters<typeof filterItems>[1]) => filterItems(items, filters).map((i) => i.id);
    expect(ids({ selected: true })).toEqual(['q1']);
    expect(ids({ rejected: true })).toEqual(['q2', 'q3']);
    expect(ids({ reason: 'no-answer' })).toEqual(['q2']);
    expect(ids({ grep: /IS Q3/i })).toEqual(['q3']);
    expect(ids({ grep: /answer: b/i })).toEqual(['q2']);
  });

  it('writes a numbered block with every option, answer and the gold labelled as withheld', () => {
    const [q1, q2] = semievolItems(semievol());
    expect(itemBlock(q1, 3, 100)).toEqual([
      'item 1 of 3 · q1 · selected',
      '  question: Is q1 good news?',
      '  option A: positive',
      '  option B: negative',
      '  collaborator 1: A (M_warm, 1 example)',
      '  collaborator 2: A (M_base, 0 examples)',
      '  consistency: consistent: every collaborator agrees',
      '  pseudo-label: A, entropy 0.200',
      '  selected: yes',
      '  gold (withheld from the run): A',
    ]);
    expect(itemBlock(q2, 3, 100)).toContain('  justification: Because. Answer: B');
    expect(itemBlock(q2, 3, 100)[0]).toBe('item 2 of 3 · q2 · not selected');
  });
});

describe('SELF-GUIDE items', () => {
  const annotation: AnnotationSpec = {
    kind: 'classification',
    labels: ['E', 'C', 'N'],
    exampleOutputs: ['E'],
    noiseTerms: [],
    lengthFilter: false,
    minShare: 0.5,
    shareOf: 'kept',
    seed: 0,
  };
  const items = selfGuideItems({
    generated: [
      { input: ' first input ', round: 1 },
      { input: 'second input', round: 1 },
      { input: 'first input', round: 2 },
      { input: 'third input', round: 2 },
      { input: 'fourth input', round: 2 },
    ],
    filtered: [
      { input: ' first input ', kept: true, reason: null },
      { input: 'second input', kept: true, reason: null },
      { input: 'first input', kept: false, reason: 'duplicate' },
      { input: 'third input', kept: true, reason: null },
      { input: 'fourth input', kept: true, reason: null },
    ],
    samples: new Map([
      ['first input', ['E', 'E', 'C', '']],
      ['second input', ['E', 'C', 'N', 'x']],
      ['third input', ['C', 'C', 'C', 'C']],
    ]),
    pairs: new Map([['first input', 'E']]),
    annotation,
  });

  it('joins each input with its round, filter verdict, votes and kept answer, or why it has none', () => {
    expect(items[0]).toEqual({
      number: 1,
      input: ' first input ',
      round: 1,
      filter: { kept: true, reason: null },
      annotation: {
        samples: 4,
        votes: [
          { answer: 'E', count: 2 },
          { answer: 'C', count: 1 },
        ],
        kept: 'E',
        dropped: null,
      },
    });
    expect(items[1].annotation).toMatchObject({ kept: null, dropped: 'no-majority' });
    expect(items[2]).toEqual({
      number: 3,
      input: 'first input',
      round: 2,
      filter: { kept: false, reason: 'duplicate' },
    });
    expect(items[3].annotation).toMatchObject({ kept: null, dropped: 'balancing' });
    expect(items[4].annotation).toMatchObject({ samples: 0, kept: null, dropped: 'refused' });
  });

  it('filters by verdict and by filter or vote reason', () => {
    const numbers = (filters: Parameters<typeof filterItems>[1]) => filterItems(items, filters).map((i) => i.number);
    expect(numbers({ selected: true })).toEqual([1, 2, 4, 5]);
    expect(numbers({ rejected: true })).toEqual([3]);
    expect(numbers({ reason: 'duplicate' })).toEqual([3]);
    expect(numbers({ reason: 'balancing' })).toEqual([4]);
    expect(numbers({ grep: /^C$/m })).toEqual([1, 2, 4]);
  });

  it('writes the votes, most first, and the kept answer', () => {
    expect(itemBlock(items[0], 5, 100)).toEqual([
      'item 1 of 5 · round 1',
      '  input: first input',
      '  filter: kept',
      '  samples: 4 drawn, 3 passed the sample filters and voted',
      '    2 ×: E',
      '    1 ×: C',
      '  kept answer: E',
    ]);
    expect(itemBlock(items[2], 5, 100)).toContain('  filter: removed: duplicate');
  });
});

describe('wrapping and quoting', () => {
  it('wraps at the width, keeps line breaks, breaks a word longer than a line, and loses nothing', () => {
    const text = 'one two three four five six\nseven eight\n\n' + 'x'.repeat(25);
    const lines = wrap(text, 16, '  label: ', '    ');
    expect(lines).toEqual([
      '  label: one two',
      '    three four',
      '    five six',
      '    seven eight',
      '    xxxxxxxxxxxx',
      '    xxxxxxxxxxxx',
      '    x',
    ]);
    expect(lines.every((line) => line.length <= 16)).toBe(true);
    expect(lines.join(' ').replace(/\s+|label:/g, '')).toBe(text.replace(/\s+/g, ''));
  });

  it('quotes shell words only where the shell would read them otherwise', () => {
    expect(shellWord('run-1')).toBe('run-1');
    expect(shellWord("it's|a")).toBe(`'it'\\''s|a'`);
  });
});
