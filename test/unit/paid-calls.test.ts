// A call is counted as paid exactly once in a run: by the shard activity that paid it, whichever of its attempts
// reports, and never by another shard, another run or a second read within one attempt.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChatBackend } from '../../activities/providers/chat';
import { ModelGateway } from '../../activities/providers/gateway';
import { ShardCalls } from '../../activities/shard-calls';
import type { ProvidersConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { AdapterCopies } from '../../lib/adapter-archive';
import { ResponseCache } from '../../lib/response-cache';

const providers = (cacheSalt?: string): ProvidersConfig => ({
  p: {
    kind: 'openai-compatible',
    baseURL: 'http://127.0.0.1:9/v1',
    prices: { inputPerMillionTokens: 2, outputPerMillionTokens: 8, trainingPerMillionTokens: 0 },
    maxConcurrency: 4,
    requestTimeoutSeconds: 10,
    ...(cacheSalt ? { cacheSalt } : {}),
  } as ProvidersConfig[string],
});
const model = { provider: 'p', model: 'm' };
const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }], max_tokens: 4 });

function setUp() {
  const paid: string[] = [];
  const backend: ChatBackend = {
    complete: async (request) => {
      paid.push(request.messages[0].content);
      return {
        model: 'm',
        choices: [{ text: 'Answer: A', logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 5 },
      };
    },
  };
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-paid-'));
  const gateway = new ModelGateway(new ResponseCache(path.join(home, 'cache')), {}, async () => backend);
  const store = new LocalArtifactStore(path.join(home, 'store'));
  const deps = { store, gateway, jobsDir: home, adapters: new AdapterCopies(store, home), env: {} };
  /** An attempt of a shard activity: `activityId` within the workflow run `run` (every attempt alike). */
  const attempt = (run: string, activityId: string, config = providers()) => {
    const activity = {
      cancellationSignal: new AbortController().signal,
      heartbeat: () => undefined,
      info: { activityId, workflowExecution: { workflowId: 'w', runId: run } },
    };
    return new ShardCalls(deps, config, 'test', 3, activity);
  };
  const askInTurn = async (shard: ShardCalls, texts: string[]) => {
    for (const text of texts) await shard.chat(model, ask(text), text);
    return shard.usage;
  };
  return { paid, gateway, attempt, askInTurn };
}

const paidCalls = (calls: number) => ({
  calls,
  promptTokens: 10 * calls,
  completionTokens: 5 * calls,
  costUsd: expect.closeTo((calls * (10 * 2 + 5 * 8)) / 1e6, 12) as number,
});

describe('paid calls', () => {
  it('counts the calls an earlier attempt of the same activity paid and never reported', async () => {
    const { paid, gateway, attempt, askInTurn } = setUp();
    // The first attempt pays for two calls, then dies (its usage never reaches the workflow).
    await askInTurn(attempt('run-1', '7'), ['a', 'b']);
    const usage = await askInTurn(attempt('run-1', '7'), ['a', 'b', 'c']);
    expect(paid).toEqual(['a', 'b', 'c']);
    expect(usage).toEqual({ ...paidCalls(3), cachedCalls: 0 });
    await gateway.close();
  });

  it('counts a duplicate prompt within one attempt once, also when an earlier attempt paid it', async () => {
    const { gateway, attempt, askInTurn } = setUp();
    expect(await askInTurn(attempt('run-1', '7'), ['a', 'a'])).toEqual({ ...paidCalls(1), cachedCalls: 1 });
    expect(await askInTurn(attempt('run-1', '7'), ['a', 'a'])).toEqual({ ...paidCalls(1), cachedCalls: 1 });
    await gateway.close();
  });

  it('counts nothing for a call paid by another shard or another run, and pays anew under a new salt', async () => {
    const { paid, gateway, attempt, askInTurn } = setUp();
    await askInTurn(attempt('run-1', '7'), ['a']);
    expect(await askInTurn(attempt('run-1', '8'), ['a'])).toEqual({ ...paidCalls(0), cachedCalls: 1 });
    expect(await askInTurn(attempt('run-2', '7'), ['a'])).toEqual({ ...paidCalls(0), cachedCalls: 1 });
    expect(await askInTurn(attempt('run-2', '7', providers('rerun-1')), ['a'])).toEqual({
      ...paidCalls(1),
      cachedCalls: 0,
    });
    expect(paid).toEqual(['a', 'a']);
    await gateway.close();
  });

  it('counts once when two shards ask the same question at the same time', async () => {
    const { paid, gateway, attempt, askInTurn } = setUp();
    const [first, second] = await Promise.all([
      askInTurn(attempt('run-1', '7'), ['a']),
      askInTurn(attempt('run-1', '8'), ['a']),
    ]);
    expect(paid).toEqual(['a']);
    expect(first.calls + second.calls).toBe(1);
    expect(first.cachedCalls + second.cachedCalls).toBe(1);
    await gateway.close();
  });
});
