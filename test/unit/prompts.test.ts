import { extractOptionLetter } from '../../core/answers';
import {
  answerTurn,
  fewShotMessages,
  formatMcqQuestion,
  formatOptions,
  justificationMessages,
  mcqInstruction,
  openQuestionInstruction,
  optionLetter,
  pythonJsonList,
  trainingExample,
  zeroShotMessages,
} from '../../core/prompts';
import type { McqItem } from '../../core/types';

const capital: McqItem = {
  id: 'q1',
  question: 'What is the capital of France?',
  options: ['Berlin', 'Paris', 'Rome'],
  answer: 'B',
};
const planet: McqItem = { id: 'q2', question: 'Which planet is red?', options: ['Mars', 'Venus'], answer: 'A' };

describe('option letters', () => {
  it('maps 0 to A and 25 to Z', () => {
    expect(optionLetter(0)).toBe('A');
    expect(optionLetter(3)).toBe('D');
    expect(optionLetter(25)).toBe('Z');
  });

  it('refuses indexes that have no letter', () => {
    expect(() => optionLetter(26)).toThrow(RangeError);
    expect(() => optionLetter(-1)).toThrow(RangeError);
    expect(() => optionLetter(1.5)).toThrow(RangeError);
  });
});

describe('question layout', () => {
  it('letters the options one per line', () => {
    expect(formatOptions(['Berlin', 'Paris', 'Rome'])).toBe('A. Berlin\nB. Paris\nC. Rome');
  });

  it('puts the question before its options', () => {
    expect(formatMcqQuestion(capital)).toBe(
      'Question: What is the capital of France?\nOptions:\nA. Berlin\nB. Paris\nC. Rome',
    );
  });
});

describe('zero-shot prompt', () => {
  it('is the instruction as system turn and the question as user turn', () => {
    expect(zeroShotMessages(capital)).toEqual([
      { role: 'system', content: mcqInstruction('reasoning') },
      { role: 'user', content: formatMcqQuestion(capital) },
    ]);
  });

  it('asks for the answer in the form the extractor reads', () => {
    expect(mcqInstruction('reasoning')).toContain('Answer: <letter>');
    expect(mcqInstruction('answer')).toContain('Answer: <letter>');
    expect(extractOptionLetter(answerTurn('C'), 3)).toBe('C');
  });

  it('asks for the answer line alone in the answer style, and for reasoning first in the reasoning style', () => {
    const [answerOnly] = zeroShotMessages(capital, 'answer');
    const [reasoning] = zeroShotMessages(capital, 'reasoning');
    expect(answerOnly.content).toMatch(/nothing else/);
    expect(answerOnly.content).not.toMatch(/reason/i);
    expect(reasoning.content).toMatch(/reason briefly/);
  });

  it('teaches the fine-tuned model under the prompt of the style it will be asked in', () => {
    expect(trainingExample(capital, 'answer').messages[0]).toEqual({
      role: 'system',
      content: mcqInstruction('answer'),
    });
  });
});

describe('few-shot prompt', () => {
  it('renders demonstrations as worked examples inside the system prompt', () => {
    const [system, user, ...rest] = fewShotMessages(capital, [planet]);
    expect(rest).toEqual([]);
    expect(system.role).toBe('system');
    expect(system.content.startsWith(mcqInstruction('reasoning'))).toBe(true);
    expect(system.content).toContain('Question: Which planet is red?\nOptions:\nA. Mars\nB. Venus\nAnswer: A');
    expect(user).toEqual({ role: 'user', content: formatMcqQuestion(capital) });
  });

  it('keeps the demonstrations in the given order', () => {
    const system = fewShotMessages(capital, [planet, { ...capital, id: 'q3', answer: 'C' }])[0].content;
    expect(system.indexOf('Which planet is red?')).toBeLessThan(system.indexOf('capital of France'));
    expect(system).toContain('C. Rome\nAnswer: C');
  });

  it('is the zero-shot prompt without demonstrations', () => {
    expect(fewShotMessages(capital, [])).toEqual(zeroShotMessages(capital));
  });

  it('refuses an unlabeled demonstration', () => {
    expect(() => fewShotMessages(capital, [{ ...planet, answer: null }])).toThrow(/q2/);
  });
});

describe('training example', () => {
  it('is the zero-shot prompt followed by the answer turn', () => {
    expect(trainingExample(capital)).toEqual({
      messages: [...zeroShotMessages(capital), { role: 'assistant', content: 'Answer: B' }],
    });
  });

  it('needs an answer', () => {
    expect(() => trainingExample({ ...capital, answer: null })).toThrow(/q1/);
  });
});

describe('open questions', () => {
  const revenue: McqItem = { id: 'n1', question: 'What was the revenue in 2019?', options: [], answer: '1,234.5' };
  const margin: McqItem = { id: 'n2', question: 'What was the margin?', options: [], answer: '12%' };

  it('asks a question without options as an open question ending in "Answer:"', () => {
    const messages = zeroShotMessages({ question: 'What is 6 x 7?', options: [] });
    expect(messages).toEqual([
      { role: 'system', content: expect.stringContaining('"Answer: <answer>"') },
      { role: 'user', content: 'Question: What is 6 x 7?' },
    ]);
  });

  it('asks for the answer alone, a number without units or a few words', () => {
    for (const style of ['answer', 'reasoning'] as const) {
      expect(openQuestionInstruction(style)).toMatch(/number/);
      expect(openQuestionInstruction(style)).not.toMatch(/option|letter/i);
    }
  });

  it('shows open demonstrations as question and answer, with no options anywhere', () => {
    const messages = fewShotMessages(revenue, [margin], 'answer');
    expect(messages).toEqual([
      {
        role: 'system',
        content: expect.stringContaining('Question: What was the margin?\nAnswer: 12%'),
      },
      { role: 'user', content: 'Question: What was the revenue in 2019?' },
    ]);
    expect(messages[0].content.startsWith(openQuestionInstruction('answer'))).toBe(true);
    expect(messages.map((m) => m.content).join('\n')).not.toMatch(/Options|letter/);
  });

  it('teaches the answer itself as the assistant turn', () => {
    expect(trainingExample(revenue, 'answer').messages.at(-1)).toEqual({
      role: 'assistant',
      content: 'Answer: 1,234.5',
    });
  });

  it("justifies with the question alone, then each collaborator's answer", () => {
    const messages = justificationMessages(
      revenue,
      [
        { answer: '1234.5', response: 'Answer: 1234.5' },
        { answer: null, response: 'Not sure.' },
      ],
      'answer',
    );
    expect(messages[0]).toEqual({ role: 'system', content: openQuestionInstruction('answer') });
    expect(messages[1].content.startsWith('Question: What was the revenue in 2019?\n\n')).toBe(true);
    expect(messages[1].content).toContain('Answer 1: 1234.5\nReasoning: Answer: 1234.5');
    expect(messages[1].content).toContain('Answer 2: (no answer)\nReasoning: Not sure.');
    expect(messages[1].content).not.toMatch(/Options|option letter/);
  });
});

describe('justificationMessages', () => {
  const messages = justificationMessages(capital, [
    { answer: 'B', response: 'Paris is the capital. Answer: B' },
    { answer: null, response: 'Not sure.' },
  ]);

  it('opens the user turn with the question and its lettered options, as the zero-shot prompt does', () => {
    expect(messages[0]).toEqual({ role: 'system', content: mcqInstruction('reasoning') });
    expect(messages[1].role).toBe('user');
    expect(messages[1].content.startsWith(`${formatMcqQuestion(capital)}\n\n`)).toBe(true);
  });

  it("lists every collaborator's answer with its reasoning after the options", () => {
    expect(messages[1].content).toContain('Answer 1: B\nReasoning: Paris is the capital. Answer: B');
    expect(messages[1].content).toContain('Answer 2: (no option letter)\nReasoning: Not sure.');
    expect(messages[1].content.indexOf('Answer 1')).toBeGreaterThan(messages[1].content.indexOf('C. Rome'));
  });
});

describe("the authors' layout (promptLayout: authors)", () => {
  const revenue: McqItem = { id: 'n1', question: 'What was the revenue?', options: [], answer: '1,234.5' };

  it('asks in one user turn: the instruction, "Question: " and the question on its own line, then the options', () => {
    expect(zeroShotMessages(capital, 'answer', 'authors')).toEqual([
      {
        role: 'user',
        content:
          `${mcqInstruction('answer')}\n\nQuestion: \nWhat is the capital of France?\n\n` +
          'Options:\nA. Berlin\nB. Paris\nC. Rome\n',
      },
    ]);
    expect(zeroShotMessages(revenue, 'reasoning', 'authors')).toEqual([
      { role: 'user', content: `${openQuestionInstruction('reasoning')}\n\nQuestion: \nWhat was the revenue?\n\n` },
    ]);
  });

  it('lists few-shot examples as `Example i:` blocks in the system prompt, the question as the user turn', () => {
    const [system, user, ...rest] = fewShotMessages(
      capital,
      [planet, { ...revenue, answer: '7' }],
      'answer',
      'authors',
    );
    expect(rest).toEqual([]);
    expect(system.role).toBe('system');
    expect(system.content).toMatch(/^You are skilled at multiple-choice questions\. .*\n\nExample 1:\n/);
    expect(system.content.slice(system.content.indexOf('Example 1:'))).toBe(
      'Example 1:\nQuestion: Which planet is red?\nOptions:\nA. Mars\nB. Venus\nAnswer: A\n\n' +
        'Example 2:\nQuestion: What was the revenue?\nAnswer: 7\n\n',
    );
    expect(user).toEqual(zeroShotMessages(capital, 'answer', 'authors')[0]);
    expect(fewShotMessages(capital, [], 'answer', 'authors')).toEqual(zeroShotMessages(capital, 'answer', 'authors'));
  });

  it('trains on the user turn alone, with no system message', () => {
    expect(trainingExample(capital, 'answer', 'authors').messages).toEqual([
      ...zeroShotMessages(capital, 'answer', 'authors'),
      { role: 'assistant', content: 'Answer: B' },
    ]);
  });

  it("justifies in their shape: one user turn, the options as their CSV's raw list, the responses as given", () => {
    const responses = ['Answer: B\nParis is the capital.', ' Answer: C. ', 'Rome, surely.'];
    const messages = justificationMessages(
      capital,
      [
        { answer: 'B', response: responses[0] },
        { answer: 'C.', response: responses[1] },
        { answer: null, response: responses[2] },
      ],
      'answer',
      'authors',
    );
    expect(messages).toHaveLength(1);
    expect(messages[0].role).toBe('user');
    const [opening, rest] = messages[0].content.split('\n\nQuestion: \n');
    expect(opening).toMatch(/^Below are several answers to one multiple-choice question\. .+/);
    expect(opening.endsWith(mcqInstruction('answer'))).toBe(true);
    expect(rest).toBe(
      'What is the capital of France?\n\nOptions:\n["Berlin", "Paris", "Rome"]\n\n' +
        'Multiple Answers:\nAnswer: B\nParis is the capital.\n Answer: C. \nRome, surely.\n\n' +
        'Give the final correct answer now:\n',
    );
  });

  it('shows an open question without an options block, and asks for an open answer', () => {
    const [message] = justificationMessages(revenue, [{ answer: '7', response: 'Answer: 7' }], 'reasoning', 'authors');
    expect(message.content).toContain(openQuestionInstruction('reasoning'));
    expect(message.content).toContain('What was the revenue?\n\nMultiple Answers:\nAnswer: 7\n\n');
    expect(message.content).not.toContain('Options');
  });

  it("writes the options as Python's json.dumps does: non-ASCII and DEL escaped, quotes and backslashes too", () => {
    expect(pythonJsonList(['café', 'a "b" \\ c', '\u007f', '😀', 'tab\t'])).toBe(
      '["caf\\u00e9", "a \\"b\\" \\\\ c", "\\u007f", "\\ud83d\\ude00", "tab\\t"]',
    );
    expect(pythonJsonList([])).toBe('[]');
  });

  it('differs from ours, so no cached response of one layout answers the other', () => {
    expect(zeroShotMessages(capital, 'answer', 'authors')).not.toEqual(zeroShotMessages(capital, 'answer'));
  });
});
