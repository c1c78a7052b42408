// SemiEvol with collaborate and justify sent through the provider's Batch API, on the test double's OpenAI batches:
// each batch is created once, every item is answered once (in a batch, or online when the batches left it
// unanswered), and the run's cost counts batch answers at the batch price.
import * as path from 'node:path';
import { batchSchema, type OpenAiCompatibleProviderConfig, type ProvidersConfig } from '../../core/config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble, type RequestLogEntry } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(__dirname, `../../../shared/data/semievol/fpb/${split}.csv`)).items;
const labeled = fpb('labeled').slice(0, 10);
const unlabeled = fpb('unlabeled').slice(0, 20);
const test = fpb('test').slice(0, 5);

/**
 * USD per million tokens online; the batch price is half (the config leaves it to the default). Prompt tokens the
 * provider's prompt cache served cost a quarter of the input price.
 */
const prices = {
  inputPerMillionTokens: 2,
  cachedInputPerMillionTokens: 0.5,
  outputPerMillionTokens: 8,
  trainingPerMillionTokens: 0,
};

const chatCalls = (log: RequestLogEntry[]) => log.filter((r) => r.path === '/v1/chat/completions' && r.status === 200);
const batchCreates = (log: RequestLogEntry[]) => log.filter((r) => r.method === 'POST' && r.path === '/v1/batches');

/** What the double's log says the run paid: batch lines at half price, prompt-cache hits at the cached price. */
const loggedCost = (log: RequestLogEntry[]) =>
  chatCalls(log).reduce((sum, r) => {
    const share = r.batchId ? 0.5 : 1;
    const { prompt_tokens, completion_tokens, cached_tokens = 0 } = r.usage!;
    const prompt =
      (prompt_tokens - cached_tokens) * prices.inputPerMillionTokens +
      cached_tokens * prices.cachedInputPerMillionTokens;
    return sum + (share * (prompt + completion_tokens * prices.outputPerMillionTokens)) / 1e6;
  }, 0);

describe('SemiEvol through the Batch API', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 40 }, batches: { stepMs: 50 } },
      gold: [...labeled, ...unlabeled, ...test].map((i: McqItem) => ({
        question: i.question,
        answer: i.answer!,
        choices: ['A', 'B', 'C'],
      })),
    });
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        batchApi: 'openai',
        requestTimeoutSeconds: 30,
        prices,
        maxConcurrency: 8,
      },
    };
  });
  afterAll(async () => double?.stop());

  /** Each run pays for its own answers: none finds an earlier test's in the worker's response cache. */
  const salted = (runId: string): ProvidersConfig => ({ double: { ...providers.double, cacheSalt: runId } });

  const run = async (runId: string, batch: Record<string, unknown>, salt = runId): Promise<SemievolRunResult> => {
    const input = await semievolTestInput(
      deps.store,
      runId,
      salted(salt),
      { labeled, unlabeled, test },
      {
        execution: {
          shardSize: 10,
          parallelShards: 2,
          batch: batchSchema.parse({ pollIntervalSeconds: 0.1, ...batch }),
        },
      },
    );
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      return await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
    } finally {
      await close();
    }
  };

  it('answers collaborate and justify by batches created once, pays each item once, at the batch price', async () => {
    await double.clearRequests();
    const result = await run(`semievol-batch-${Date.now()}`, { stages: { collaborate: true, justify: true } });
    const log = await double.requests();

    // Collaborate: 4 collaborators on 20 questions in one batch; justify: the inconsistent ones in another.
    const creates = batchCreates(log);
    expect(creates).toHaveLength(2);
    const lines = chatCalls(log).filter((r) => r.batchId);
    const byBatch = new Map<string, number>();
    for (const line of lines) byBatch.set(line.batchId!, (byBatch.get(line.batchId!) ?? 0) + 1);
    expect([...byBatch.values()][0]).toBe(80);
    expect([...byBatch.values()][1]).toBe(result.pseudoLabels.justified);
    // Every answer was paid once: no request answered twice, online or in a batch.
    const hashes = chatCalls(log).map((r) => r.requestHash);
    expect(new Set(hashes).size).toBe(hashes.length);
    // Only the evaluations went online.
    expect(chatCalls(log).filter((r) => !r.batchId).length).toBeGreaterThan(0);

    expect(result.pseudoLabels.counts.questions).toBe(20);
    expect(result.usage.costUsd).toBeCloseTo(loggedCost(log), 9);
  });

  it('lets a run with the same inputs read the answers a batch paid for, paying nothing again', async () => {
    const salt = `semievol-batch-again-${Date.now()}`;
    const stages = { stages: { collaborate: true, justify: true } };
    const first = await run(`${salt}-first`, stages, salt);
    await double.clearRequests();
    const again = await run(`${salt}-second`, stages, salt);
    const log = await double.requests();
    // Planning each batch found every answer in the response cache: no batch, no call, nothing paid.
    expect(batchCreates(log)).toHaveLength(0);
    expect(chatCalls(log)).toHaveLength(0);
    expect(again.usage).toMatchObject({ calls: 0, costUsd: 0 });
    const { records: _first, ...firstLabels } = first.pseudoLabels;
    const { records: _again, ...againLabels } = again.pseudoLabels;
    expect(againLabels).toEqual(firstLabels);
  });

  it("counts the prompt tokens the provider's prompt cache served, online and in batches, at its price", async () => {
    // The demonstrations lead each collaborator's system prompt: questions sharing neighbours share a prefix.
    await double.configure({ promptCache: { minTokens: 16, increment: 8 } });
    try {
      await double.clearRequests();
      const result = await run(`semievol-batch-prompt-cache-${Date.now()}`, { stages: { collaborate: true } });
      const log = await double.requests();
      const hits = chatCalls(log).filter((r) => r.usage?.cached_tokens);
      expect(hits.some((r) => r.batchId)).toBe(true);
      expect(hits.some((r) => !r.batchId)).toBe(true);
      const cachedTokens = hits.reduce((sum, r) => sum + r.usage!.cached_tokens!, 0);
      expect(result.usage.cachedPromptTokens).toBe(cachedTokens);
      const collaborate = result.costs.find((c) => c.stage === 'collaborate')!.usage;
      expect(collaborate.cachedPromptTokens).toBeGreaterThan(0);
      expect(result.usage.costUsd).toBeCloseTo(loggedCost(log), 9);
    } finally {
      await double.configure({ promptCache: { minTokens: 1024, increment: 128 } });
    }
  });

  it('answers each evaluation by a batch of its own', async () => {
    await double.clearRequests();
    const result = await run(`semievol-batch-evaluate-${Date.now()}`, { stages: { evaluate: true } });
    const log = await double.requests();
    const evaluations = Object.values(result.evaluations).filter((e) => e !== null);
    expect(batchCreates(log)).toHaveLength(evaluations.length);
    const lines = chatCalls(log).filter((r) => r.batchId);
    expect(lines).toHaveLength(evaluations.reduce((sum, e) => sum + e.usage.calls, 0));
    expect(evaluations.every((e) => e.score.total === test.length)).toBe(true);
    const hashes = chatCalls(log).map((r) => r.requestHash);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(result.usage.costUsd).toBeCloseTo(loggedCost(log), 9);
  });

  it("runs the stages through Together's Batch API too", async () => {
    await double.clearRequests();
    const runId = `semievol-batch-together-${Date.now()}`;
    const together: ProvidersConfig = {
      together: {
        ...(providers.double as OpenAiCompatibleProviderConfig),
        baseURL: double.togetherBaseURL,
        batchApi: 'together',
        cacheSalt: runId,
      },
    };
    const input = await semievolTestInput(
      deps.store,
      runId,
      together,
      { labeled, unlabeled, test },
      {
        model: { provider: 'together', model: 'sim-model' },
        // No fine-tune job: M_warm is M_base with the labeled set as retrieved demonstrations.
        fineTune: { backend: { kind: 'in-context', k: 3 }, hyperparameters: {}, finalHyperparameters: {} },
        execution: {
          shardSize: 10,
          parallelShards: 2,
          batch: batchSchema.parse({ stages: { collaborate: true, justify: true }, pollIntervalSeconds: 0.1 }),
        },
      },
    );
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    let result: SemievolRunResult;
    try {
      result = await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
    } finally {
      await close();
    }
    const log = await double.requests();
    expect(log.filter((r) => r.method === 'POST' && r.path === '/together/v1/batches')).toHaveLength(2);
    const lines = log.filter((r) => r.status === 200 && r.batchId);
    expect(lines).toHaveLength(80 + result.pseudoLabels.justified);
    expect(new Set(lines.map((r) => r.requestHash)).size).toBe(lines.length);
    // Online, only the evaluations: none of collaborate's or justify's requests.
    const online = log.filter((r) => r.path === '/together/v1/chat/completions' && r.status === 200);
    const evaluations = Object.values(result.evaluations).filter((e) => e !== null);
    expect(online.length).toBe(evaluations.reduce((sum, e) => sum + e.usage.calls, 0));
    expect(result.pseudoLabels.counts.questions).toBe(20);
  });

  it('records a question the provider refuses in the batch as failed, without asking it again online', async () => {
    const refused = unlabeled[3];
    const marker = refused.question.slice(-40).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await double.configure({ refuse: [{ prompt: marker }] });
    await double.clearRequests();
    try {
      const result = await run(`semievol-batch-refused-${Date.now()}`, { stages: { collaborate: true } });
      expect(result.itemFailures?.collaborate).toMatchObject({ count: 1, of: 20, examples: [{ id: refused.id }] });
      const log = await double.requests();
      const refusals = log.filter((r) => r.path === '/v1/chat/completions' && r.status === 400);
      // The collaborators' four lines were refused in the batch; none was sent again.
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals.every((r) => r.batchId)).toBe(true);
      expect(result.pseudoLabels.counts.questions).toBe(19);
    } finally {
      await double.configure({ refuse: [] });
    }
  });

  it('calls a stage online under auto when it has fewer calls than autoMinCalls', async () => {
    await double.clearRequests();
    const result = await run(`semievol-batch-auto-${Date.now()}`, { mode: 'auto', autoMinCalls: 81 });
    const log = await double.requests();
    // Collaborate's 80 calls and justify's fewer stay online; nothing is sent as a batch.
    expect(batchCreates(log)).toHaveLength(0);
    expect(chatCalls(log).some((r) => r.batchId)).toBe(false);
    expect(result.pseudoLabels.counts.questions).toBe(20);
  });

  it('cancels its batch at the provider when the run is cancelled while the batch runs', async () => {
    await double.configure({ batches: { stepMs: 0 } });
    await double.clearRequests();
    const runId = `semievol-batch-cancel-${Date.now()}`;
    const input = await semievolTestInput(
      deps.store,
      runId,
      salted(runId),
      { labeled, unlabeled, test },
      {
        execution: {
          shardSize: 10,
          parallelShards: 2,
          batch: batchSchema.parse({ stages: { collaborate: true }, pollIntervalSeconds: 0.1 }),
        },
      },
    );
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
        });
        // The batch stays validating (its clock is stopped) while the stage polls it.
        const polled = () =>
          double.requests().then((log) => log.find((r) => r.method === 'GET' && /^\/v1\/batches\/[^/]+$/.test(r.path)));
        while (!(await polled())) await new Promise((r) => setTimeout(r, 100));
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow();
        const batchId = (await polled())!.path.split('/').at(-1);
        const cancelled = () =>
          double
            .requests()
            .then((log) => log.some((r) => r.path === `/v1/batches/${batchId}/cancel` && r.status === 200));
        while (!(await cancelled())) await new Promise((r) => setTimeout(r, 100));
      });
    } finally {
      await close();
      await double.configure({ batches: { stepMs: 50 } });
    }
  });

  it('sends what an expired batch left unanswered to a new batch, then online, paying each item once', async () => {
    await double.configure({ batches: { expireAfterLines: 30 } });
    await double.clearRequests();
    try {
      const result = await run(`semievol-batch-expired-${Date.now()}`, {
        stages: { collaborate: true },
        resubmissions: 1,
      });
      const log = await double.requests();
      // Collaborate's 80 calls: 30 in the first batch, 30 in the second, the last 20 online.
      const lines = chatCalls(log).filter((r) => r.batchId);
      expect(batchCreates(log)).toHaveLength(2);
      expect(lines).toHaveLength(60);
      const hashes = chatCalls(log).map((r) => r.requestHash);
      expect(new Set(hashes).size).toBe(hashes.length);
      expect(result.pseudoLabels.counts.questions).toBe(20);
      expect(result.usage.costUsd).toBeCloseTo(loggedCost(log), 9);
    } finally {
      await double.configure({ batches: { expireAfterLines: -1 } });
    }
  });
});
