// The gateway's per-provider limiter: concurrency, start spacing (requests per minute), a tokens-per-minute budget,
// a worker's share of them, pauses the provider's rate-limit headers ask for, and queued calls of an aborted shard
// leaving without spending a start. Fake timers: the clock is the test's.
import { limiterLimits, providerShare, ProviderLimiter } from '../../activities/providers/gateway';

describe('ProviderLimiter', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  /** A call that records when it started and finishes when the test says so. */
  function calls() {
    const started: { name: string; at: number }[] = [];
    const finishers = new Map<string, () => void>();
    const call = (name: string) => () =>
      new Promise<string>((resolve) => {
        started.push({ name, at: Date.now() });
        finishers.set(name, () => resolve(name));
      });
    return { started, call, finish: (name: string) => finishers.get(name)!() };
  }
  const flush = () => jest.advanceTimersByTimeAsync(0);

  it('keeps at most maxConcurrent calls in flight and starts them in order', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 2, minTimeMs: 0 });
    const { started, call, finish } = calls();
    const results = ['a', 'b', 'c', 'd'].map((n) => limiter.run(0, call(n)));
    await flush();
    expect(started.map((s) => s.name)).toEqual(['a', 'b']);
    finish('b');
    await flush();
    expect(started.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    finish('a');
    finish('c');
    await flush();
    finish('d');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('spaces starts by minTimeMs', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 10, minTimeMs: 101 });
    const { started, call } = calls();
    ['a', 'b', 'c'].forEach((n) => void limiter.run(0, call(n)));
    await jest.advanceTimersByTimeAsync(1000);
    expect(started.map((s) => s.at - started[0].at)).toEqual([0, 101, 202]);
  });

  it('starts no more estimated tokens per minute than tokensPerMinute', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 10, minTimeMs: 0, tokensPerMinute: 100 });
    const { started, call } = calls();
    ['a', 'b', 'c'].forEach((n) => void limiter.run(60, call(n)));
    // A start counts for a minute and a second: the second covers the call's way to the provider.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(started.map((s) => s.name)).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(started.map((s) => s.name)).toEqual(['a', 'b']);
    await jest.advanceTimersByTimeAsync(61_000);
    expect(started.map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('never starts more than tokensPerMinute estimated tokens in any sliding 60 s window', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 10, minTimeMs: 0, tokensPerMinute: 100 });
    const { started, call, finish } = calls();
    const weights = new Map<string, number>();
    const submit = (name: string, weight: number) => {
      weights.set(name, weight);
      void limiter.run(weight, call(name)).then(() => undefined);
    };
    // A full budget spent late in the first minute, then more work queued: a window refilled in full every
    // 60 s would start the second batch at 60 s, 200 tokens within two seconds.
    await jest.advanceTimersByTimeAsync(59_000);
    submit('a', 100);
    await flush();
    finish('a');
    ['b', 'c', 'd', 'e'].forEach((n, i) => submit(n, 30 + 10 * i));
    for (let second = 0; second < 400; second++) {
      await jest.advanceTimersByTimeAsync(1_000);
      started.forEach((s) => finish(s.name));
    }
    expect(started.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    let most = 0;
    for (const from of started) {
      const inWindow = started.filter((s) => s.at >= from.at && s.at < from.at + 60_000);
      most = Math.max(
        most,
        inWindow.reduce((sum, s) => sum + weights.get(s.name)!, 0),
      );
    }
    expect(most).toBeLessThanOrEqual(100);
  });

  /** Most of `weight` (per start) in any window [t, t + 60 s) over the start times. */
  function mostInAMinute(starts: { at: number; weight: number }[]): number {
    let most = 0;
    for (const from of starts) {
      const inWindow = starts.filter((s) => s.at >= from.at && s.at < from.at + 60_000);
      most = Math.max(
        most,
        inWindow.reduce((sum, s) => sum + s.weight, 0),
      );
    }
    return most;
  }

  it("keeps two workers with a share of 0.5 each within the account's requests in any sliding minute", async () => {
    const account = { maxConcurrency: 10, requestsPerMinute: 10 };
    const workers = [
      new ProviderLimiter(limiterLimits(account, 0.5)),
      new ProviderLimiter(limiterLimits(account, 0.5)),
    ];
    const starts: { worker: number; at: number; weight: number }[] = [];
    workers.forEach((limiter, worker) => {
      for (let i = 0; i < 40; i++)
        void limiter.run(0, async () => void starts.push({ worker, at: Date.now(), weight: 1 })).catch(() => undefined);
    });
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(mostInAMinute(starts.filter((s) => s.worker === 0))).toBeLessThanOrEqual(5);
    expect(mostInAMinute(starts)).toBeLessThanOrEqual(10);
    // The share is used, not starved: 5 minutes at 10 per minute.
    expect(starts.length).toBeGreaterThanOrEqual(50);
    workers.forEach((limiter) => limiter.stop());
  });

  it("keeps a worker with a share of 0.5 within half the account's tokens per minute", async () => {
    const limiter = new ProviderLimiter(limiterLimits({ maxConcurrency: 10, tokensPerMinute: 1000 }, 0.5));
    const starts: { at: number; weight: number }[] = [];
    for (let i = 0; i < 30; i++)
      void limiter.run(100, async () => void starts.push({ at: Date.now(), weight: 100 })).catch(() => undefined);
    await jest.advanceTimersByTimeAsync(3 * 60_000);
    expect(mostInAMinute(starts)).toBeLessThanOrEqual(500);
    expect(starts.length).toBeGreaterThanOrEqual(15);
    limiter.stop();
  });

  it('reads FLT_PROVIDER_SHARE: default 1, a number in (0, 1], else one sentence naming it', () => {
    expect(providerShare({})).toBe(1);
    expect(providerShare({ FLT_PROVIDER_SHARE: '0.25' })).toBe(0.25);
    expect(providerShare({ FLT_PROVIDER_SHARE: '1' })).toBe(1);
    for (const bad of ['0', '-0.5', '1.5', 'half', '', 'NaN'])
      expect(() => providerShare({ FLT_PROVIDER_SHARE: bad })).toThrow(
        `FLT_PROVIDER_SHARE is "${bad}": expected a number greater than 0 and at most 1`,
      );
  });

  it('holds new starts until the requests reset once the provider reports none remaining', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 10, minTimeMs: 0 });
    const { started, call, finish } = calls();
    void limiter.run(0, call('a'));
    await flush();
    limiter.observe({ remainingRequests: 0, resetRequestsMs: 5_000 });
    finish('a');
    ['b', 'c'].forEach((n) => void limiter.run(0, call(n)));
    await jest.advanceTimersByTimeAsync(4_999);
    expect(started.map((s) => s.name)).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(1);
    expect(started.map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('counts its own starts against the remaining requests the provider reported', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 10, minTimeMs: 0 });
    const { started, call } = calls();
    limiter.observe({ remainingRequests: 2, resetRequestsMs: 1_000 });
    ['a', 'b', 'c'].forEach((n) => void limiter.run(0, call(n)));
    await flush();
    expect(started.map((s) => s.name)).toEqual(['a', 'b']);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(started.map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it("holds a call whose estimated tokens exceed the provider's remaining tokens until the tokens reset", async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 10, minTimeMs: 0 });
    const { started, call } = calls();
    limiter.observe({ remainingTokens: 50, resetTokensMs: 2_000, remainingRequests: 100, resetRequestsMs: 10 });
    ['a', 'b'].forEach((n) => void limiter.run(40, call(n)));
    await jest.advanceTimersByTimeAsync(1_999);
    expect(started.map((s) => s.name)).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(1);
    expect(started.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('drops the queued calls of an aborted signal without spending a start on them', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 1, minTimeMs: 100 });
    const { started, call, finish } = calls();
    const shard = new AbortController();
    void limiter.run(0, call('a'));
    const dropped = [limiter.run(0, call('b'), shard.signal), limiter.run(0, call('c'), shard.signal)].map((p) =>
      p.catch((err: Error) => err.message),
    );
    void limiter.run(0, call('d'));
    await flush();
    shard.abort(new Error('shard failed'));
    finish('a');
    await jest.advanceTimersByTimeAsync(100);
    expect(await Promise.all(dropped)).toEqual(['shard failed', 'shard failed']);
    expect(started.map((s) => [s.name, s.at - started[0].at])).toEqual([
      ['a', 0],
      ['d', 100],
    ]);
    await expect(limiter.run(0, call('e'), shard.signal)).rejects.toThrow('shard failed');
  });

  it('fails the calls still queued when stopped', async () => {
    const limiter = new ProviderLimiter({ maxConcurrent: 1, minTimeMs: 0 });
    const { call } = calls();
    void limiter.run(0, call('a'));
    const queued = limiter.run(0, call('b'));
    limiter.stop();
    await expect(queued).rejects.toThrow('closed');
  });
});
