// What the gateway shares between calls and runs: one backend per endpoint (never closed under a call in flight),
// one limiter per endpoint and limits, and one paid call for identical requests in flight at the same time.
// The backend is the test's: each call waits until the test answers it.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import type { ChatRequest, ChatResponse } from '../../core/types';
import type { ChatBackend } from '../../activities/providers/chat';
import { ModelGateway } from '../../activities/providers/gateway';
import { ResponseCache } from '../../lib/response-cache';

/** Resolves once `ready()` holds, checking after each turn of the event loop (a state, not a clock). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Backends whose calls wait until the test releases them (then, and from then on, every call is answered); they
 * record opens, closes, the calls in flight and any call answered by a backend that had been closed.
 */
function heldBackends() {
  const pending: { request: ChatRequest; answer: () => void }[] = [];
  const record = { opened: 0, closed: 0, callsOnClosedBackend: 0 };
  let released = false;
  const open = async (): Promise<ChatBackend> => {
    record.opened++;
    let closed = false;
    return {
      complete: (request) =>
        new Promise<ChatResponse>((resolve) => {
          const answer = () => {
            if (closed) record.callsOnClosedBackend++;
            resolve({
              model: request.model,
              choices: [{ text: 'Answer: A', logprobs: null, finish_reason: 'stop' }],
              usage: { prompt_tokens: 10, completion_tokens: 2 },
            });
          };
          if (released) answer();
          else pending.push({ request, answer });
        }),
      close: async () => {
        closed = true;
        record.closed++;
      },
    };
  };
  const release = () => {
    released = true;
    pending.splice(0).forEach((call) => call.answer());
  };
  const startedCalls = () => pending.map((call) => call.request.messages[0].content);
  return { open, record, release, startedCalls };
}

const providers = (extra: object = {}): ProvidersConfig => ({
  p: {
    kind: 'openai-compatible',
    baseURL: 'http://127.0.0.1:9/v1',
    prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 1, trainingPerMillionTokens: 0 },
    maxConcurrency: 4,
    requestTimeoutSeconds: 10,
    ...extra,
  } as ProvidersConfig[string],
});
const ask = (text: string) => ({ model: 'm', messages: [{ role: 'user' as const, content: text }], max_tokens: 4 });
const newGateway = (open: () => Promise<ChatBackend>) =>
  new ModelGateway(new ResponseCache(mkdtempSync(path.join(os.tmpdir(), 'flt-cache-'))), {}, open);

describe('ModelGateway sharing', () => {
  it('pays once for identical requests in flight at the same time', async () => {
    const backends = heldBackends();
    const gateway = newGateway(backends.open);
    const calls = [gateway.chat(providers(), 'p', ask('same')), gateway.chat(providers(), 'p', ask('same'))];
    await until(() => backends.startedCalls().length === 1);
    backends.release();
    const [first, second] = await Promise.all(calls);
    expect(first.usage.calls + second.usage.calls).toBe(1);
    expect(first.usage.cachedCalls + second.usage.cachedCalls).toBe(1);
    expect(second.response).toEqual(first.response);
    await gateway.close();
  });

  it('keeps one backend for runs that differ only by cache salt, and never closes it under a call', async () => {
    const backends = heldBackends();
    const gateway = newGateway(backends.open);
    const calls = [
      gateway.chat(providers(), 'p', ask('one')),
      gateway.chat(providers({ cacheSalt: 'rerun-1' }), 'p', ask('two')),
      gateway.chat(providers(), 'p', ask('three')),
    ];
    await until(() => backends.startedCalls().length === 3);
    backends.release();
    await Promise.all(calls);
    expect(backends.record.opened).toBe(1);
    expect(backends.record.callsOnClosedBackend).toBe(0);
    await gateway.close();
    expect(backends.record.closed).toBe(1);
  });

  it('closes a replaced backend once its calls have finished', async () => {
    const backends = heldBackends();
    const gateway = newGateway(backends.open);
    const first = gateway.chat(providers(), 'p', ask('one'));
    await until(() => backends.startedCalls().length === 1);
    const second = gateway.chat(providers({ requestTimeoutSeconds: 20 }), 'p', ask('two'));
    await until(() => backends.startedCalls().length === 2);
    expect(backends.record.closed).toBe(0);
    backends.release();
    await Promise.all([first, second]);
    expect(backends.record.opened).toBe(2);
    expect(backends.record.callsOnClosedBackend).toBe(0);
    expect(backends.record.closed).toBe(1);
    await gateway.close();
    expect(backends.record.closed).toBe(2);
  });

  it('keeps each run its own limits when two runs configure one provider differently', async () => {
    const backends = heldBackends();
    const gateway = newGateway(backends.open);
    const strict = providers({ maxConcurrency: 1 });
    const loose = providers({ maxConcurrency: 1, requestsPerMinute: 100_000 });
    const calls = [
      gateway.chat(strict, 'p', ask('s1')),
      gateway.chat(loose, 'p', ask('l1')),
      gateway.chat(strict, 'p', ask('s2')),
    ];
    // All three have reached their limiters: one strict call waits for the other (which of the two reaches the
    // limiter first is not promised), while the loose run's call goes ahead.
    await until(() => gateway.callsUnderway === 3 && backends.startedCalls().length === 2);
    const started = backends.startedCalls();
    expect(started).toContain('l1');
    expect(started.filter((call) => call.startsWith('s'))).toHaveLength(1);
    backends.release();
    await Promise.all(calls);
    await gateway.close();
  });
});
