// The gateway against the provider test double: worker-wide limits, response cache, embeddings, cost.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { limiterLimits, ModelGateway } from '../../activities/providers/gateway';
import { ResponseCache } from '../../lib/response-cache';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';

const newCache = () => new ResponseCache(mkdtempSync(path.join(os.tmpdir(), 'flt-cache-')));
const newGateway = () => new ModelGateway(newCache(), { FLT_TEST_KEY: 'k' });
const ask = (i: number) => ({
  model: 'sim-model',
  messages: [{ role: 'user' as const, content: `Say something about item ${i}.` }],
  max_tokens: 16,
});

describe('ModelGateway', () => {
  let double: ProviderDouble;
  const providers = (limits: object = {}): ProvidersConfig => ({
    double: {
      kind: 'openai-compatible',
      baseURL: double.baseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      testDouble: true,
      requestTimeoutSeconds: 10,
      prices: { inputPerMillionTokens: 2, outputPerMillionTokens: 4, trainingPerMillionTokens: 0 },
      maxConcurrency: 8,
      ...limits,
    },
  });

  beforeAll(async () => {
    double = await startProviderDouble({ config: { latencyMs: 50 } });
  });
  afterAll(async () => double?.stop());
  beforeEach(async () => double.clearRequests());

  it('never has more calls in flight than maxConcurrency', async () => {
    const gateway = newGateway();
    // Held at the double until two have arrived: the limit is reached for certain, then the rest must queue.
    await double.holdModelCalls();
    const calls = Array.from({ length: 12 }, (_, i) =>
      gateway.chat(providers({ maxConcurrency: 2 }), 'double', ask(i)),
    );
    await double.waitForHeldModelCalls(2);
    await double.releaseModelCalls();
    await Promise.all(calls);
    const log = await double.requests();
    // The double counts a call from its arrival until just before its reply, within the client's own count.
    expect(log).toHaveLength(12);
    expect(Math.max(...log.map((r) => r.concurrent))).toBe(2);
    await gateway.close();
  });

  it('spaces requests to stay within requestsPerMinute', async () => {
    // The test's clock, read where the gateway hands each call to its backend: on the real one, the hop from the
    // limiter's start to that point could cross a millisecond and show 199 ms between starts spaced by 200.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'], now: 1_000_000 });
    try {
      const starts: number[] = [];
      const answer = {
        model: 'sim-model',
        choices: [{ text: 'ok', finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      };
      const recording = new ModelGateway(newCache(), { FLT_TEST_KEY: 'k' }, async () => ({
        complete: async () => (starts.push(Date.now()), answer),
      }));
      const calls = Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          recording.chat(providers({ requestsPerMinute: 300 }), 'double', ask(100 + i)),
        ),
      );
      let settled = false;
      void calls.finally(() => (settled = true));
      // Bounded: calls that never finish fail the test below instead of waiting for ever on a fake clock.
      for (let step = 0; step < 50 && !settled; step++) await jest.advanceTimersByTimeAsync(100);
      expect(settled).toBe(true);
      await calls;
      // Just over a 61 s limit window over 300: 204 ms between starts, so no sliding minute holds more than 300.
      const { minTimeMs } = limiterLimits({ maxConcurrency: 8, requestsPerMinute: 300 });
      expect(minTimeMs).toBe(204);
      expect(starts.map((at) => at - starts[0]!)).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * minTimeMs));
      await recording.close();
    } finally {
      jest.useRealTimers();
    }
  });

  it('pays once for a request and serves repeats from the cache, with usage and cost counted', async () => {
    const gateway = newGateway();
    const first = await gateway.chat(providers(), 'double', ask(7));
    const second = await gateway.chat(providers(), 'double', ask(7));
    expect(first.usage.calls).toBe(1);
    expect(first.usage.promptTokens).toBeGreaterThan(0);
    expect(first.usage.costUsd).toBeCloseTo(
      (first.usage.promptTokens * 2 + first.usage.completionTokens * 4) / 1e6,
      12,
    );
    expect(second.usage).toEqual({ calls: 0, cachedCalls: 1, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    expect(second.response).toEqual(first.response);
    expect(await double.requests()).toHaveLength(1);
    await gateway.close();
  });

  it("counts the prompt tokens the provider's prompt cache served and charges them at the cached price", async () => {
    await double.configure({ promptCache: { minTokens: 16, increment: 8 } });
    try {
      const gateway = newGateway();
      const prices = { inputPerMillionTokens: 2, cachedInputPerMillionTokens: 0.5, outputPerMillionTokens: 4 };
      const config = providers({ prices: { ...prices, trainingPerMillionTokens: 0 } });
      const instruction = Array.from({ length: 30 }, (_, i) => `step${i}`).join(' ');
      const askWithInstruction = (i: number) => ({
        ...ask(i),
        messages: [{ role: 'system' as const, content: instruction }, ...ask(i).messages],
      });
      const first = await gateway.chat(config, 'double', askWithInstruction(1));
      const second = await gateway.chat(config, 'double', askWithInstruction(2));
      expect(first.usage.cachedPromptTokens).toBeUndefined();
      // Role markers count in the double's cache: its marker, 30 instruction words and the user's marker are 32 tokens,
      // one of its steps (16, 24, 32), shared by both prompts.
      expect(second.usage.cachedPromptTokens).toBe(32);
      const { promptTokens, completionTokens } = second.usage;
      expect(second.usage.costUsd).toBeCloseTo(((promptTokens - 32) * 2 + 32 * 0.5 + completionTokens * 4) / 1e6, 12);
      await gateway.close();
    } finally {
      await double.configure({ promptCache: { minTokens: 1024, increment: 128 } });
    }
  });

  it('embeds through an OpenAI-compatible endpoint, nearer for texts that share words, cached', async () => {
    const gateway = newGateway();
    const embeddings = gateway.embeddings(providers(), 'double', 'sim-embedding');
    const { vectors } = await embeddings.embed(['profits rose sharply', 'profits rose', 'the cat sat on the mat']);
    const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
    expect(cosine(vectors[0], vectors[1])).toBeGreaterThan(cosine(vectors[0], vectors[2]));
    await embeddings.embed(['profits rose sharply', 'profits rose', 'the cat sat on the mat']);
    expect((await double.requests()).filter((r) => r.path === '/v1/embeddings')).toHaveLength(1);
    await gateway.close();
  });

  it('names the missing provider', async () => {
    await expect(newGateway().chat(providers(), 'nowhere', ask(1))).rejects.toThrow(
      'Unknown provider "nowhere": expected one of double.',
    );
  });
});
