// Provider limits that hold across workers, against the provider test double enforcing the account's limits: two
// gateways (two workers) with FLT_PROVIDER_SHARE=0.5 each stay within the account's tokens per minute, and a gateway
// that does not know the account's limits holds its starts when the provider's rate-limit headers say none are left.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { ModelGateway } from '../../activities/providers/gateway';
import { ResponseCache } from '../../lib/response-cache';
import type { RequestLogEntry } from '../../testdouble/request-log';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';

const gateway = (env: NodeJS.ProcessEnv = {}) =>
  new ModelGateway(new ResponseCache(mkdtempSync(path.join(os.tmpdir(), 'flt-cache-'))), { FLT_TEST_KEY: 'k', ...env });
// 31 characters of prompt (8 estimated tokens) and 92 completion tokens: 100 tokens at the gateway and at the double.
const ask = (i: number) => ({
  model: 'sim-model',
  messages: [{ role: 'user' as const, content: `Say something about item ${String(i).padStart(6, '0')}` }],
  max_tokens: 92,
});
const closed = 'The model gateway was closed.';

/**
 * Each call's outcome, and a promise that resolves once `n` of them have settled, whichever they are: calls enter the
 * limiter in the order their cache lookups finish, not in the order they were made. A limiter decides on its next
 * start (or a hold) before the call that freed the slot returns, or, after a failure, in a check-phase callback.
 */
function outcomes(calls: Promise<unknown>[]): { all: Promise<string[]>; settled(n: number): Promise<void> } {
  let settled = 0;
  const waiting: { n: number; resolve: () => void }[] = [];
  const each = calls.map((call) =>
    call
      .then(
        () => 'answered',
        (err: Error) => err.message,
      )
      .finally(() => {
        settled++;
        for (const w of waiting) if (settled >= w.n) w.resolve();
      }),
  );
  return {
    all: Promise.all(each),
    settled: (n) =>
      new Promise<void>((resolve) => {
        if (settled >= n) resolve();
        else waiting.push({ n, resolve });
      }).then(() => new Promise((resolve) => setImmediate(resolve))),
  };
}
const sorted = (values: string[]) => [...values].sort();

/** The most of `tokens` sent to the double in any window [t, t + 60 s), rejected requests included. */
function mostTokensInAMinute(log: RequestLogEntry[]): number {
  let most = 0;
  for (const from of log) {
    const inWindow = log.filter((r) => r.time >= from.time && r.time < from.time + 60_000);
    most = Math.max(
      most,
      inWindow.reduce((sum, r) => sum + (r.limitTokens ?? 0), 0),
    );
  }
  return most;
}

describe('provider limits across workers', () => {
  let double: ProviderDouble;
  const providers = (limits: object = {}): ProvidersConfig => ({
    double: {
      kind: 'openai-compatible',
      baseURL: double.baseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      testDouble: true,
      requestTimeoutSeconds: 10,
      prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
      maxConcurrency: 8,
      ...limits,
    },
  });
  const chats = async () => (await double.requests()).filter((r) => r.path === '/v1/chat/completions');

  beforeAll(async () => {
    double = await startProviderDouble({});
  });
  afterAll(async () => double?.stop());
  // A double of its own per test would do too; a fresh window is all a test needs.
  beforeEach(async () => {
    await double.configure({ rateLimit: { requestsPerMinute: 0, tokensPerMinute: 0 } });
    await double.clearRequests();
  });

  it("keeps two workers with a share of 0.5 each within the account's tokens in any sliding minute", async () => {
    // The account allows 1,000 tokens a minute, 10 of these calls; each worker gets 8 at once. With its half each
    // worker starts 5 and holds the other 3 for a minute: the test closes them before that minute ends, so every
    // request the double saw lies in one window.
    await double.configure({ rateLimit: { tokensPerMinute: 1000 } });
    const workers = [gateway({ FLT_PROVIDER_SHARE: '0.5' }), gateway({ FLT_PROVIDER_SHARE: '0.5' })];
    const perWorker = workers.map((worker, w) =>
      outcomes(
        Array.from({ length: 8 }, (_, i) =>
          worker.chat(providers({ tokensPerMinute: 1000 }), 'double', ask(100 * w + i)),
        ),
      ),
    );
    await Promise.all(perWorker.map((calls) => calls.settled(5)));
    await Promise.all(workers.map((worker) => worker.close()));
    for (const calls of perWorker)
      expect(sorted(await calls.all)).toEqual(
        sorted([...Array<string>(5).fill('answered'), ...Array<string>(3).fill(closed)]),
      );
    const log = await chats();
    expect(log.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(mostTokensInAMinute(log)).toBeLessThanOrEqual(1000);
  });

  it('holds its starts when the provider reports no requests left, though it was told no limit', async () => {
    await double.configure({ rateLimit: { requestsPerMinute: 3 } });
    const worker = gateway();
    const calls = outcomes(
      Array.from({ length: 5 }, (_, i) => worker.chat(providers({ maxConcurrency: 1 }), 'double', ask(200 + i))),
    );
    // One at a time: the hold (or the next start) is decided before the third answer reaches its caller.
    await calls.settled(3);
    await worker.close();
    expect(sorted(await calls.all)).toEqual(sorted(['answered', 'answered', 'answered', closed, closed]));
    expect((await chats()).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it("holds its starts on a 429's headers: another client spent the account's requests", async () => {
    await double.configure({ rateLimit: { requestsPerMinute: 1 } });
    const other = gateway();
    await other.chat(providers(), 'double', ask(400));
    const worker = gateway();
    const calls = outcomes(
      Array.from({ length: 3 }, (_, i) => worker.chat(providers({ maxConcurrency: 1 }), 'double', ask(500 + i))),
    );
    await calls.settled(1);
    await Promise.all([worker.close(), other.close()]);
    expect(sorted(await calls.all)).toEqual(sorted(['429 Rate limit reached: 1 requests per minute.', closed, closed]));
    expect((await chats()).map((r) => r.status)).toEqual([200, 429]);
  });

  it("holds a call when the provider's remaining tokens are fewer than the call's estimate", async () => {
    await double.configure({ rateLimit: { tokensPerMinute: 250 } });
    const worker = gateway();
    const calls = outcomes(
      Array.from({ length: 4 }, (_, i) => worker.chat(providers({ maxConcurrency: 1 }), 'double', ask(300 + i))),
    );
    await calls.settled(2);
    await worker.close();
    expect(sorted(await calls.all)).toEqual(sorted(['answered', 'answered', closed, closed]));
    const log = await chats();
    expect(log.map((r) => [r.status, r.limitTokens])).toEqual([
      [200, 100],
      [200, 100],
    ]);
  });
});
