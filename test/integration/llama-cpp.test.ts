// Real llama.cpp inference on a tiny random-weight llama: its output is gibberish, so these tests check plumbing,
// not quality.
import path from 'node:path';
import { LlamaCppChat } from '../../activities/providers/llama-cpp-chat';
import type { LlamaCppProviderConfig } from '../../core/config';
import type { ChatRequest, ChatResponse } from '../../core/types';

const modelPath = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');

function configFor(overrides: Partial<LlamaCppProviderConfig> = {}): LlamaCppProviderConfig {
  // One thread: node-llama-cpp defaults to twice the math cores, and oversubscribed threads slow this tiny model ~50x.
  return { kind: 'llama-cpp', modelPath, contextSize: 512, gpu: false, threads: 1, maxConcurrency: 2, ...overrides };
}

function request(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model: 'tiny',
    messages: [
      { role: 'system', content: 'You answer briefly.' },
      { role: 'user', content: 'What is the capital of France?' },
    ],
    max_tokens: 12,
    ...overrides,
  };
}

function expectLogprobsMatch(response: ChatResponse): void {
  for (const choice of response.choices) {
    const logprobs = choice.logprobs!;
    expect(logprobs.map((entry) => entry.token).join('')).toBe(choice.text);
    for (const entry of logprobs) {
      expect(Number.isFinite(entry.logprob)).toBe(true);
      expect(entry.logprob).toBeLessThanOrEqual(0);
    }
  }
}

describe('LlamaCppChat', () => {
  const chat = new LlamaCppChat(configFor());

  afterAll(() => chat.close());

  it('loads the model and answers with real token counts and log-probabilities', async () => {
    const response = await chat.complete(request({ temperature: 0, logprobs: true, top_logprobs: 3 }));

    expect(response.model).toBe('tiny');
    expect(response.choices).toHaveLength(1);
    expect(response.usage.prompt_tokens).toBeGreaterThan(0);
    expect(response.usage.completion_tokens).toBeGreaterThan(0);
    const [choice] = response.choices;
    expect(choice!.logprobs).toHaveLength(response.usage.completion_tokens);
    expectLogprobsMatch(response);
    for (const entry of choice!.logprobs!) {
      expect(entry.top).toHaveLength(3);
      // Greedy decoding picks the most likely token, which heads the alternatives.
      expect(entry.logprob).toBeCloseTo(entry.top![0]!.logprob, 5);
    }
  });

  it('is deterministic at temperature 0', async () => {
    const first = await chat.complete(request({ temperature: 0 }));
    const second = await chat.complete(request({ temperature: 0 }));
    expect(second.choices[0]!.text).toBe(first.choices[0]!.text);
  });

  it('repeats a sample for the same seed and varies it across seeds', async () => {
    const sampled = (seed: number) => chat.complete(request({ temperature: 1, seed, logprobs: true }));
    const first = await sampled(7);
    const again = await sampled(7);
    expect(again.choices[0]!.text).toBe(first.choices[0]!.text);
    expect(again.choices[0]!.logprobs).toEqual(first.choices[0]!.logprobs);

    const others = await Promise.all([8, 9, 10].map(sampled));
    const texts = new Set([first, ...others].map((response) => response.choices[0]!.text));
    expect(texts.size).toBeGreaterThan(1);
    expectLogprobsMatch(first);
  });

  it('returns n samples, each with its own logprobs', async () => {
    const response = await chat.complete(request({ temperature: 1, seed: 3, n: 3, logprobs: true }));
    expect(response.choices).toHaveLength(3);
    expect(response.usage.completion_tokens).toBe(
      response.choices.reduce((sum, choice) => sum + choice.logprobs!.length, 0),
    );
    expectLogprobsMatch(response);
  });

  it('stops at max_tokens with finish_reason "length"', async () => {
    const response = await chat.complete(request({ temperature: 0, max_tokens: 5, logprobs: true }));
    expect(response.usage.completion_tokens).toBe(5);
    expect(response.choices[0]!.finish_reason).toBe('length');
    expect(response.choices[0]!.logprobs).toHaveLength(5);
  });

  it('truncates at a stop string with finish_reason "stop"', async () => {
    const greedy = await chat.complete(request({ temperature: 0, max_tokens: 12, logprobs: true }));
    const text = greedy.choices[0]!.text;
    const stop = text
      .slice(Math.floor(text.length / 2))
      .trim()
      .slice(0, 2);
    expect(stop.length).toBeGreaterThan(0);

    const stopped = await chat.complete(request({ temperature: 0, max_tokens: 12, logprobs: true, stop: [stop] }));
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    expect(stopped.choices[0]!.text).toBe(text.slice(0, text.indexOf(stop)));
    expectLogprobsMatch(stopped);
  });

  it('constrains the answer to one of the choices', async () => {
    const choices = ['A', 'B', 'C', 'D'];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const response = await chat.complete(request({ temperature: 1, seed, choices, logprobs: true }));
      const [choice] = response.choices;
      expect(choices).toContain(choice!.text);
      expect(choice!.logprobs!.length).toBeGreaterThan(0);
      expectLogprobsMatch(response);
    }
  });

  it('serves concurrent calls beyond the number of sequences', async () => {
    const responses = await Promise.all(
      [1, 2, 3, 4].map((seed) => chat.complete(request({ temperature: 1, seed, max_tokens: 6 }))),
    );
    for (const response of responses) expect(response.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('shares the loaded model between instances and keeps it until the last one closes', async () => {
    const other = new LlamaCppChat(configFor());
    const greedy = await other.complete(request({ temperature: 0 }));
    await other.close();
    const afterClose = await chat.complete(request({ temperature: 0 }));
    expect(afterClose.choices[0]!.text).toBe(greedy.choices[0]!.text);
  });

  it('fails clearly when the model file is missing', async () => {
    const missing = path.join(path.dirname(modelPath), 'no-such-model.gguf');
    const broken = new LlamaCppChat(configFor({ modelPath: missing }));
    await expect(broken.complete(request())).rejects.toThrow(`llama-cpp provider: model file not found at ${missing}`);
    await broken.close();
  });
});
