// The gateway's per-provider limiter: concurrency, start spacing (requests per minute), a tokens-per-minute budget,
// and queued calls of an aborted shard leaving without spending a start. Fake timers: the clock is the test's.
import { ProviderLimiter } from '../../activities/providers/gateway';

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
    await jest.advanceTimersByTimeAsync(59_000);
    expect(started.map((s) => s.name)).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(started.map((s) => s.name)).toEqual(['a', 'b']);
    await jest.advanceTimersByTimeAsync(60_000);
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
