// A shard whose one call fails lets the calls already started finish into the response cache (a retried attempt
// then replays them for free) and drops only the calls still queued. The backend is the test's: each call waits until
// the test answers or refuses it, and fails when its signal aborts, as an HTTP client's does. Which two calls start
// first is not promised (each reads the response cache before it queues), so the test fails whichever started first.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChatBackend } from '../../activities/providers/chat';
import { ModelGateway } from '../../activities/providers/gateway';
import { ShardCalls } from '../../activities/shard-calls';
import type { ProvidersConfig } from '../../core/config';
import type { ChatResponse } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';
import { AdapterCopies } from '../../lib/adapter-archive';
import { ResponseCache } from '../../lib/response-cache';

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setImmediate(resolve));
}

const providers: ProvidersConfig = {
  p: {
    kind: 'openai-compatible',
    baseURL: 'http://127.0.0.1:9/v1',
    prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 1, trainingPerMillionTokens: 0 },
    maxConcurrency: 2,
    requestTimeoutSeconds: 10,
  } as ProvidersConfig[string],
};
const model = { provider: 'p', model: 'm' };
const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }], max_tokens: 4 });
const refused = Object.assign(new Error('400 this request is invalid'), { status: 400 });

/** A shard of `size` calls to `backend` (or the configured provider), in a fresh data directory. */
function shardOf(
  size: number,
  {
    backend,
    heartbeat = () => undefined,
    config = providers,
  }: { backend?: ChatBackend; heartbeat?: (details: unknown) => void; config?: ProvidersConfig } = {},
) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-shard-'));
  const cache = new ResponseCache(path.join(home, 'cache'));
  const gateway = backend ? new ModelGateway(cache, {}, async () => backend) : new ModelGateway(cache, {});
  const store = new LocalArtifactStore(path.join(home, 'store'));
  const deps = { store, gateway, jobsDir: home, adapters: new AdapterCopies(store, home), env: {} };
  const activity = {
    cancellationSignal: new AbortController().signal,
    heartbeat,
    info: { activityId: '1', workflowExecution: { workflowId: 'w', runId: 'r' } },
  };
  return { gateway, shard: new ShardCalls(deps, config, 'test', size, activity) };
}

describe('ShardCalls', () => {
  it('lets started calls finish into the cache when one call fails, and drops the queued ones', async () => {
    const held = new Map<string, { answer: () => void; refuse: () => void }>();
    const started: string[] = [];
    const backend: ChatBackend = {
      complete: (request, signal) =>
        new Promise<ChatResponse>((resolve, reject) => {
          const text = request.messages[0].content;
          started.push(text);
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          const response = {
            model: 'm',
            choices: [{ text: `Answer: ${text}`, logprobs: null, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1 },
          };
          // Only the first two are held: a call that should never have started is answered, so the test fails on
          // what started rather than waiting for ever.
          if (held.size === 2) return resolve(response);
          held.set(text, { answer: () => resolve(response), refuse: () => reject(refused) });
        }),
    };
    const { gateway, shard } = shardOf(4, { backend });

    // Concurrency 2: two calls start and are held; the other two wait behind them.
    const work = shard.forEach(['a', 'b', 'c', 'd'], (text) => shard.chat(model, ask(text), text));
    const outcome = work.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    await until(() => held.size === 2);
    const [failing, finishing] = [...held.keys()];
    held.get(failing)!.refuse();
    // The failure frees a slot, but the shard must drop its queued calls rather than start one.
    await until(() => shard.signal.aborted);
    held.get(finishing)!.answer();
    expect(await outcome).toMatch(/400/);
    expect(started.sort()).toEqual([failing, finishing].sort());

    // The started call was paid and cached: asking again costs nothing.
    const again = await gateway.chat(providers, 'p', { ...ask(finishing), model: 'm' });
    expect(again.usage).toMatchObject({ calls: 0, cachedCalls: 1 });
    expect(started.filter((text) => text === finishing)).toHaveLength(1);
    await gateway.close();
  });

  it('sends its progress at most once a second, not once per call', async () => {
    // Date.now stands still: the calls finish in one instant. Each heartbeat is encoded and handed to the SDK's native
    // side, which throttles it anyway, so one per call was measurable CPU on a busy worker.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      let releaseLast = () => undefined as void;
      const answer = {
        model: 'm',
        choices: [{ text: 'Answer: A', logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      };
      const backend: ChatBackend = {
        complete: (request) =>
          request.messages[0].content === 'last'
            ? new Promise((resolve) => (releaseLast = () => resolve(answer)))
            : Promise.resolve(answer),
      };
      const beats: unknown[] = [];
      const texts = [...Array.from({ length: 49 }, (_, i) => `q${i}`), 'last'];
      const { gateway, shard } = shardOf(50, {
        backend,
        heartbeat: (details) => void beats.push(details),
        config: { p: { ...providers.p, maxConcurrency: 50 } },
      });
      let finished = 0;
      const done = shard.forEach(texts, async (text) => {
        await shard.chat(model, ask(text), text);
        finished++;
      });
      await until(() => finished === 49);
      expect(beats).toEqual([{ done: 1, of: 50 }]);
      // A second later the progress made since is sent, once.
      await jest.advanceTimersByTimeAsync(1000);
      expect(beats).toEqual([
        { done: 1, of: 50 },
        { done: 49, of: 50 },
      ]);
      releaseLast();
      await done;
      await gateway.close();
    } finally {
      jest.useRealTimers();
    }
  });

  it('starts its items a few per turn of the event loop, so answers in flight are handled in between', async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const { gateway, shard } = shardOf(items.length);
    let started = 0;
    // Queued before the items: it runs in the next turn of the event loop, as an answer that had arrived would.
    const startedByNextTurn = new Promise<number>((resolve) => setImmediate(() => resolve(started)));
    const done = shard.forEach(items, async (item) => {
      started++;
      return item * 2;
    });
    expect(await startedByNextTurn).toBeGreaterThan(0);
    expect(await startedByNextTurn).toBeLessThan(items.length);
    expect(await done).toEqual(items.map((i) => i * 2));
    await gateway.close();
  });
});
