// A stage's batch, planned and stored: each request is sent once however many shards ask it (a duplicate question),
// one batch per provider and model, split at the provider's limit; a finished round's answers go to the shard that
// asked and, counted as cached, to every later shard that asked the same; refusals are kept, the rest asked again.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchAnswers } from '../../activities/batch-answers';
import { batchStageActivities, BatchRequests } from '../../activities/batch-stage';
import type { ActivityDeps } from '../../activities/context';
import type { CachedCall } from '../../activities/providers/gateway';
import {
  batchCustomId,
  type BatchAnswer,
  type BatchMissingItem,
  type BatchRequestLine,
  type BatchSharedAnswer,
} from '../../core/batch';
import type { ChatRequest } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';
import type { CallCache } from '../../lib/response-cache';

const key = (n: number) => n.toString(16).padStart(64, '0');
const request = (model: string): ChatRequest => ({ model, messages: [{ role: 'user', content: 'q' }] });
const newStore = () => new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-batch-requests-')));

function planner(store: LocalArtifactStore, maxRequests = 50_000) {
  return new BatchRequests(
    { runId: 'r', stage: 'collaborate', round: 0 },
    (provider) => (provider === 'local' ? null : { provider, maxRequests, maxBytes: 1e9 }),
    (lines, name) => store.writeJsonl(lines, name),
  );
}

describe('BatchRequests', () => {
  it('sends a request once however many shards ask it, and lists the later shards that share its answer', async () => {
    const store = newStore();
    const plan = planner(store);
    const defer = (k: number, provider = 'p', model = 'm') =>
      plan.defer({ key: key(k), provider, config: undefined as never, request: request(model) });
    plan.startShard(0);
    defer(1);
    defer(1); // twice in one shard: one line
    defer(2, 'local'); // no Batch API: left online
    plan.startShard(1);
    defer(3);
    defer(1); // a duplicate question of shard 0
    defer(4, 'p', 'm2'); // another model: another batch
    const { parts, shared } = await plan.finish();
    expect(plan.requests).toBe(3);
    expect(parts.map((p) => [p.model, p.tag.stage, p.tag.part, p.requests.count])).toEqual([
      ['m', 'collaborate-round-0-0', 0, 2],
      ['m2', 'collaborate-round-0-1', 0, 1],
    ]);
    const lines = await store.readAll<BatchRequestLine>(parts[0].requests);
    expect(lines.map((l) => l.custom_id)).toEqual([batchCustomId(0, key(1)), batchCustomId(1, key(3))]);
    expect(await store.readAll<BatchSharedAnswer>(shared!)).toEqual([{ shard: 1, key: key(1) }]);
  });

  it("splits a group at the provider's limit into parts in shard order", async () => {
    const store = newStore();
    const plan = planner(store, 2);
    for (let shard = 0; shard < 5; shard++) {
      plan.startShard(shard);
      plan.defer({ key: key(shard), provider: 'p', config: undefined as never, request: request('m') });
    }
    const { parts, shared } = await plan.finish();
    expect(parts.map((p) => [p.tag.part, p.requests.count])).toEqual([
      [0, 2],
      [1, 2],
      [2, 1],
    ]);
    expect(shared).toBeNull();
  });
});

describe('storeStageBatchAnswers', () => {
  it('stores each answer with its shard and its sharers, keeps refusals, counts what goes to a new batch', async () => {
    const store = newStore();
    const cached = new Map<string, unknown>();
    const workerCache: CallCache = {
      get: async <T>(k: string) => cached.get(k) as T | undefined,
      set: async (k, v) => void cached.set(k, v),
    };
    const deps = { store, env: {}, gateway: { workerCache } } as unknown as ActivityDeps;
    const { storeStageBatchAnswers } = batchStageActivities(deps, {} as never);
    const completion = (text: string) => ({
      model: 'm',
      choices: [{ message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1 },
    });
    const answers: BatchAnswer[] = [
      { customId: batchCustomId(0, key(1)), body: completion('A') },
      { customId: batchCustomId(2, key(5)), body: completion('B') },
    ];
    const missing: BatchMissingItem[] = [
      { customId: batchCustomId(0, key(2)), retryable: false, reason: 'too long', status: 400 },
      { customId: batchCustomId(1, key(3)), retryable: true, reason: 'expired', status: null },
    ];
    const results = [
      {
        batchId: 'batch_1',
        status: 'expired' as const,
        answers: await store.writeJsonl(answers),
        missing: await store.writeJsonl(missing),
      },
    ];
    const shared = await store.writeJsonl([{ shard: 2, key: key(1) }] satisfies BatchSharedAnswer[]);
    const input = { runId: 'r', stage: 'collaborate', round: 0, shards: 3, results, shared };
    expect(await storeStageBatchAnswers(input)).toEqual({ answered: 2, refused: 1, unanswered: 1 });
    // A retried store finds the round done.
    expect(await storeStageBatchAnswers(input)).toEqual({ answered: 2, refused: 1, unanswered: 1 });

    const none: CallCache = { get: async () => undefined, set: async () => undefined };
    const shard = (index: number) => new BatchAnswers(store, { runId: 'r', stage: 'collaborate', shard: index }, none);
    const own = await shard(0).get<CachedCall>(key(1));
    expect(own).toMatchObject({ batchId: 'batch_1', response: { choices: [{ text: 'A' }] } });
    await expect(shard(0).get(key(2))).rejects.toMatchObject({ type: 'ProviderHttp400', nonRetryable: true });
    expect(await shard(1).get(key(3))).toBeUndefined();
    // Shard 2 asked what shard 0's line answered: it reads the answer as cached, not paid again.
    const sharedAnswer = await shard(2).get<CachedCall>(key(1));
    expect(sharedAnswer).toEqual({ response: own!.response });
    expect(await shard(2).get<CachedCall>(key(5))).toMatchObject({ batchId: 'batch_1' });
    // The worker's response cache has every answer too, paid by the batch: a resumed run reads it as cached.
    expect(cached.get(key(1))).toEqual({ response: own!.response, paidBy: 'batch batch_1' });
    expect([...cached.keys()].sort()).toEqual([key(1), key(5)]);
  });
});
