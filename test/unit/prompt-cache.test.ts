// Prompt caching: a provider bills the prompt tokens its cache served at a discount. The gateway counts them apart and
// prices them; the CLI shows their share; the test double simulates the cache; each stage's prompts put what they
// share (the instruction, the demonstrations) first, where a provider's prefix cache can find it.
import { costOf } from '../../activities/providers/gateway';
import { promptCacheLine } from '../../cli/result';
import { providersSchema, type ProviderConfig } from '../../core/config';
import { fewShotMessages, justificationMessages, mcqInstruction, zeroShotMessages } from '../../core/prompts';
import { inputGenerationOpening, inputGenerationPrompt, taskChat } from '../../core/selfguide-prompts';
import { addUsage, emptyUsage, promptCacheShare, type ChatMessage, type McqItem } from '../../core/types';
import { PromptCache } from '../../testdouble/prompt-cache';

const provider = (prices: object): ProviderConfig =>
  providersSchema.parse({ p: { kind: 'openai-compatible', prices: { trainingPerMillionTokens: 0, ...prices } } }).p;

describe('the cost of a call with cached prompt tokens', () => {
  const usage = { prompt_tokens: 1000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 600 } };

  it('charges cached tokens at the cached-input price, online and at the batch discount', () => {
    const config = provider({ inputPerMillionTokens: 2, cachedInputPerMillionTokens: 0.5, outputPerMillionTokens: 8 });
    // 400 × $2 + 600 × $0.5 + 100 × $8 per million.
    expect(costOf(config, usage)).toBeCloseTo((400 * 2 + 600 * 0.5 + 100 * 8) / 1e6, 15);
    // Batch: half of each, the cache's discount kept.
    expect(costOf(config, usage, 'batch')).toBeCloseTo((400 * 1 + 600 * 0.25 + 100 * 4) / 1e6, 15);
  });

  it('assumes no discount where the price table names no cached-input price', () => {
    const config = provider({ inputPerMillionTokens: 2, outputPerMillionTokens: 8 });
    expect(costOf(config, usage)).toBeCloseTo((1000 * 2 + 100 * 8) / 1e6, 15);
  });

  it('never counts more cached tokens than the prompt had', () => {
    const config = provider({ inputPerMillionTokens: 2, cachedInputPerMillionTokens: 0, outputPerMillionTokens: 0 });
    const over = { prompt_tokens: 10, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 50 } };
    expect(costOf(config, over)).toBe(0);
  });
});

describe('the prompt-cache share of a usage', () => {
  const cached = { ...emptyUsage(), promptTokens: 800, cachedPromptTokens: 200 };

  it('is summed where a stage has any, and absent where none has', () => {
    expect(addUsage(cached, { ...emptyUsage(), promptTokens: 200 })).toMatchObject({ cachedPromptTokens: 200 });
    expect(addUsage(emptyUsage(), emptyUsage())).not.toHaveProperty('cachedPromptTokens');
    expect(promptCacheShare(addUsage(cached, { ...emptyUsage(), promptTokens: 200 }))).toBe(0.2);
    expect(promptCacheShare(emptyUsage())).toBeNull();
  });

  it('is printed for the run and for each stage that had cache hits', () => {
    const costs = [
      { stage: 'collaborate', usage: cached, estimate: null },
      { stage: 'select', usage: emptyUsage(), estimate: null },
    ];
    expect(promptCacheLine(cached, costs)).toBe('prompt cache: 25% of prompt tokens (collaborate 25%)');
    expect(promptCacheLine(emptyUsage(), costs)).toBeNull();
  });
});

describe("the test double's prompt cache", () => {
  const config = { minTokens: 4, increment: 2 };
  const words = (n: number, tag = 'w') => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');
  const user = (content: string): ChatMessage[] => [{ role: 'user', content }];

  it('serves the longest prefix an earlier prompt of the model sent, in its steps, from the minimum on', () => {
    const cache = new PromptCache();
    expect(cache.read('m', user(words(9)), config)).toBe(0);
    // The user marker and 9 words: 10 tokens, cached at 4, 6, 8 and 10.
    expect(cache.read('m', user(words(9)), config)).toBe(10);
    expect(cache.read('m', user(`${words(6)} other words`), config)).toBe(6);
    expect(cache.read('other-model', user(words(9)), config)).toBe(0);
    expect(cache.read('m', user(words(2)), config)).toBe(0);
    expect(cache.read('m', user(words(9)), { minTokens: 0, increment: 2 })).toBe(0);
  });
});

describe("each stage's prompts put what they share first", () => {
  /** The length of the text two prompts share from their start. */
  const sharedPrefix = (a: ChatMessage[], b: ChatMessage[]) => {
    const [x, y] = [a, b].map((m) => m.map((p) => `<${p.role}>${p.content}`).join(''));
    let i = 0;
    while (i < x.length && x[i] === y[i]) i++;
    return x.slice(0, i);
  };
  const item = (id: string, question: string): McqItem => ({ id, question, options: ['up', 'down'], answer: 'A' });
  const first = item('1', 'Sales rose by 5%.');
  const second = item('2', 'The company cut 200 jobs.');
  const demonstrations = [item('d1', 'Profit doubled.'), item('d2', 'Revenue fell.')];

  it("SemiEvol's: the instruction, then the demonstrations, then the question", () => {
    for (const layout of ['ours', 'authors'] as const) {
      const zeroShot = sharedPrefix(
        zeroShotMessages(first, 'answer', layout),
        zeroShotMessages(second, 'answer', layout),
      );
      expect(zeroShot).toContain(mcqInstruction('answer'));
      const fewShot = sharedPrefix(
        fewShotMessages(first, demonstrations, 'reasoning', layout),
        fewShotMessages(second, demonstrations, 'reasoning', layout),
      );
      for (const d of demonstrations) expect(fewShot).toContain(d.question);
      expect(fewShot).not.toContain(first.question);
    }
    const answers = [{ answer: 'A', response: 'It rose.' }];
    const justify = sharedPrefix(
      justificationMessages(first, answers, 'reasoning'),
      justificationMessages(second, answers, 'reasoning'),
    );
    expect(justify).toContain(mcqInstruction('reasoning'));
  });

  it("SELF-GUIDE's: the instruction and its examples, then what each prompt draws or asks", () => {
    const task = { instruction: 'Classify the sentiment.', examples: [{ input: 'Great film.', output: 'positive' }] };
    const annotation = sharedPrefix(taskChat(task, 'Dull plot.'), taskChat(task, 'Fine acting.'));
    expect(annotation).toContain('Great film.');
    expect(annotation).toContain('positive');
    const generation = (library: string[]) =>
      inputGenerationPrompt({
        instruction: task.instruction,
        exampleInputs: ['Great film.'],
        libraryInputs: library,
        pseudoLabel: null,
      });
    const shared = sharedPrefix(generation(['Loud music.']), generation(['Slow start.']));
    expect(shared).toContain(inputGenerationOpening);
    expect(shared).toContain('Great film.');
  });
});
