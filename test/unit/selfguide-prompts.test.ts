// SELF-GUIDE's prompts: generation rounds (library examples, pseudo-labels), the task chat, Self-ICL's budget.
import {
  overestimateMessageTokens,
  inputGenerationOpening,
  roundPrompts,
  selfIclChat,
  taskChat,
  taskTrainingExample,
  trainingSet,
} from '../../core/selfguide-prompts';

const task = {
  instruction: 'Say yes or no.',
  kind: 'classification' as const,
  labels: ['yes', 'no'],
  examples: [
    { input: 'gold one', output: 'yes' },
    { input: 'gold two', output: 'no' },
    { input: 'gold three', output: 'yes' },
  ],
};

describe('roundPrompts', () => {
  it('shows every gold input, "N/A" for an empty library, and a pseudo-label for classification', () => {
    const [prompt] = roundPrompts({ task, library: [], round: 1, prompts: 1, seed: 0, maxPromptTokens: 3000 });
    const text = prompt.messages[0].content;
    expect(text.startsWith(inputGenerationOpening)).toBe(true);
    for (const e of task.examples) expect(text).toContain(`[input]="${e.input}"`);
    expect(text).toContain('use them only for ideas:\n\nN/A');
    expect(task.labels).toContain(prompt.pseudoLabel);
    expect(text).toContain(`The expected output for the new [input] is: ${prompt.pseudoLabel}`);
  });

  it('shows 1..min(library, 10) library inputs, draws labels uniformly, and is the same for the same seed', () => {
    const library = Array.from({ length: 30 }, (_, i) => `lib ${i}`);
    const prompts = roundPrompts({ task, library, round: 3, prompts: 200, seed: 5, maxPromptTokens: 3000 });
    const shown = prompts.map((p) => library.filter((l) => p.messages[0].content.includes(`"${l}"`)).length);
    expect(Math.min(...shown)).toBe(1);
    expect(Math.max(...shown)).toBe(10);
    const yes = prompts.filter((p) => p.pseudoLabel === 'yes').length;
    expect(yes).toBeGreaterThan(70);
    expect(yes).toBeLessThan(130);
    expect(roundPrompts({ task, library, round: 3, prompts: 200, seed: 5, maxPromptTokens: 3000 })).toEqual(prompts);
    expect(roundPrompts({ task, library, round: 4, prompts: 200, seed: 5, maxPromptTokens: 3000 })).not.toEqual(
      prompts,
    );
    expect(
      roundPrompts({
        task: { ...task, kind: 'generation', labels: [] },
        library,
        round: 1,
        prompts: 3,
        seed: 0,
        maxPromptTokens: 3000,
      }).every((p) => p.pseudoLabel === null),
    ).toBe(true);
  });
});

describe('prompt and example length limits (the authors: 3,000 and 2,000 tokens)', () => {
  // Each library input is about 1,000 estimated tokens, so a prompt showing three or more of them is over 3,000.
  const library = Array.from({ length: 12 }, (_, i) => `${i} ${'word '.repeat(600)}`);

  it('re-draws a generation prompt over maxPromptTokens until it fits, and counts the re-draws', () => {
    const spec = { task, library, round: 2, prompts: 40, seed: 3, maxPromptTokens: 3000 };
    const prompts = roundPrompts(spec);
    expect(prompts.every((p) => overestimateMessageTokens(p.messages) < 3000)).toBe(true);
    expect(prompts.some((p) => p.redraws > 0)).toBe(true);
    // A prompt that fits at its first draw is the one drawn without a limit.
    const unlimited = roundPrompts({ ...spec, maxPromptTokens: Infinity });
    expect(unlimited.every((p) => p.redraws === 0)).toBe(true);
    prompts.forEach((p, i) => {
      if (p.redraws === 0) expect(p.messages).toEqual(unlimited[i].messages);
    });
  });

  it('leaves training examples over maxExampleTokens out of the training set and counts them', () => {
    const pairs = [
      { input: 'short', output: 'yes' },
      { input: 'word '.repeat(1300), output: 'no' },
      { input: 'also short', output: 'no' },
    ];
    const set = trainingSet(task, pairs, 2000);
    expect(set.tooLong).toBe(1);
    expect(set.examples.map((e) => e.messages.at(-2)?.content)).toEqual(['short', 'also short']);
    expect(trainingSet(task, pairs, Infinity).tooLong).toBe(0);
  });
});

describe('the task chat', () => {
  it('is the instruction, the gold examples as turns, then the input; training adds the answer', () => {
    const chat = taskChat(task, 'new');
    expect(chat.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    expect(chat[0].content).toBe(task.instruction);
    expect(chat.at(-1)).toEqual({ role: 'user', content: 'new' });
    expect(taskTrainingExample(task, { input: 'new', output: 'no' }).messages.at(-1)).toEqual({
      role: 'assistant',
      content: 'no',
      weight: 1,
    });
  });

  it('trains on the final answer only: the gold answers before it carry weight 0, as the authors mask them', () => {
    const { messages } = taskTrainingExample(task, { input: 'new', output: 'no' });
    expect(messages.map((m) => ('weight' in m ? `${m.role}:${m.weight}` : m.role))).toEqual([
      'system',
      'user',
      'assistant:0',
      'user',
      'assistant:0',
      'user',
      'assistant:0',
      'user',
      'assistant:1',
    ]);
  });

  it('Self-ICL adds synthetic pairs after the gold ones while the prompt and the answer fit the context', () => {
    const synthetic = Array.from({ length: 50 }, (_, i) => ({ input: `synthetic input number ${i}`, output: 'yes' }));
    const base = overestimateMessageTokens(taskChat(task, 'new'));
    const pairCost = overestimateMessageTokens([
      { role: 'user', content: synthetic[0].input },
      { role: 'assistant', content: 'yes' },
    ]);
    const chat = selfIclChat(task, 'new', synthetic, base + 16 + 3 * pairCost, 16);
    expect(chat).toHaveLength(taskChat(task, 'new').length + 6);
    expect(chat[7]).toEqual({ role: 'user', content: synthetic[0].input });
    expect(selfIclChat(task, 'new', synthetic, base, 16)).toEqual(taskChat(task, 'new'));
  });

  it('estimates tokens high: a byte-level bound of one token per 3 UTF-8 bytes plus 4 per message', () => {
    expect(overestimateMessageTokens([{ role: 'user', content: 'abcdef' }])).toBe(6);
    expect(overestimateMessageTokens([{ role: 'user', content: '😀' }])).toBe(6);
  });
});
