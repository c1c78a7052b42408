// The provider test double's SELF-GUIDE simulation: plausible inputs with flaws for every filter, task-chat answers
// of the configured accuracy, and fine-tunes that gain more from more and cleaner data.
import * as path from 'node:path';
import { countReasons, applyInputFilters } from '../../core/selfguide-filters';
import { roundPrompts, taskChat, taskTrainingExample } from '../../core/selfguide-prompts';
import { loadSelfGuideTask } from '../../lib/datasets';
import { GoldIndex } from '../../testdouble/gold-index';
import { selfGuideTrainingShare } from '../../testdouble/selfguide-simulation';
import { simulateCompletion, type CompletionRequest } from '../../testdouble/simulated-model';

const task = loadSelfGuideTask(path.resolve(__dirname, '../../../shared/data/selfguide/task1385'));
const request = (
  messages: CompletionRequest['messages'],
  accuracy: number,
  temperature: number,
  n = 1,
): CompletionRequest => ({
  model: { name: 'sim', accuracy, root: 'sim' },
  messages,
  temperature,
  n,
  seed: 3,
  stop: [],
  topLogprobs: 0,
});
const texts = (r: CompletionRequest, gold = new GoldIndex()) =>
  simulateCompletion(r, gold, 'Answer: {choice}').map((c) => c.text);

describe('provider test double: SELF-GUIDE', () => {
  it('answers its own generation prompt with recombined inputs, some of which every filter removes', () => {
    const prompts = roundPrompts({ task, library: [], round: 1, prompts: 40, seed: 1, maxPromptTokens: 3000 });
    const inputs = prompts.flatMap((p, i) => texts({ ...request(p.messages, 0.6, 1), seed: i }));
    const counts = countReasons(
      applyInputFilters(inputs, {
        exampleInputs: task.examples.map((e) => e.input),
        noiseTerms: task.noise_terms,
        lengthFilter: true,
      }),
    );
    expect(counts.kept).toBeGreaterThan(15);
    for (const reason of ['empty', 'noise', 'length', 'duplicate'] as const) expect(counts[reason]).toBeGreaterThan(0);
    expect(inputs.find((i) => i.length > 0 && !i.includes("I'd be happy"))).toMatch(/^Premise: /);
  });

  it('answers task chats with a label of the examples, right on known inputs, at the configured accuracy', () => {
    const gold = new GoldIndex();
    const items = task.test.slice(0, 200);
    gold.add(items.map((i) => ({ question: i.input, answer: i.output, choices: task.labels })));
    const greedy = (accuracy: number) =>
      items.map((i) => texts(request(taskChat(task, i.input), accuracy, 0), gold)[0]);
    const accuracyOf = (answers: string[]) => answers.filter((a, i) => a === items[i].output).length / items.length;
    expect(greedy(0.7).every((a) => task.labels.includes(a))).toBe(true);
    expect(accuracyOf(greedy(1))).toBe(1);
    expect(accuracyOf(greedy(0.7))).toBeGreaterThan(0.6);
    expect(accuracyOf(greedy(0.7))).toBeGreaterThan(accuracyOf(greedy(0.3)) + 0.2);
    // Ten samples at 0.2 mostly agree on a known input.
    const samples = texts(request(taskChat(task, items[0].input), 1, 0.2, 10), gold);
    expect(samples.filter((s) => s === items[0].output).length).toBeGreaterThanOrEqual(6);
  });

  it('grades SELF-GUIDE training files: correct and clean data scores higher, and more of it more so', () => {
    const gold = new GoldIndex();
    const truth = (input: string) => texts(request(taskChat(task, input), 1, 0), gold)[0];
    const inputs = Array.from(
      { length: 60 },
      (_, i) => `Premise: case ${i} is simulated. Hypothesis: case ${i} holds.`,
    );
    const correct = inputs.map((input) => taskTrainingExample(task, { input, output: truth(input) }));
    const wrong = inputs.map((input) =>
      taskTrainingExample(task, { input, output: task.labels.find((l) => l !== truth(input))! }),
    );
    const share = (examples: typeof correct) => selfGuideTrainingShare(examples, gold)!;
    expect(share(correct)).toBeGreaterThan(share(correct.slice(0, 6)));
    expect(share(correct.slice(0, 6))).toBeGreaterThan(0.5);
    expect(share(wrong)).toBeLessThan(0.5);
    expect(
      selfGuideTrainingShare(
        [
          {
            messages: [
              { role: 'user', content: 'Question: x' },
              { role: 'assistant', content: 'Answer: A' },
            ],
          },
        ],
        gold,
      ),
    ).toBeNull();
  });
});
