// Provider faults during a stage: transient ones are retried without losing, duplicating or re-paying any call;
// permanent ones fail the run fast with a clear message.
import { WorkflowFailedError } from '@temporalio/client';
import type { ProvidersConfig } from '../../core/config';
import type { McqItem } from '../../core/types';
import type { EvaluationRunInput } from '../../workflows/evaluation-run';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const items: McqItem[] = Array.from({ length: 60 }, (_, i) => ({
  id: `q${i}`,
  question: `Is statement number ${i} about profits positive?`,
  options: ['no', 'maybe', 'yes'],
  answer: 'C',
}));

function input(runId: string, providers: ProvidersConfig, test: EvaluationRunInput['test']): EvaluationRunInput {
  return {
    runId,
    task: 'faults',
    providers,
    models: [{ provider: 'double', model: 'sim-model' }],
    test,
    sampling: { temperature: 0, maxTokens: 64, seed: 3 },
    metric: 'option-letter',
    execution: { shardSize: 20, parallelShards: 3 },
  };
}

const provider = (baseURL: string, apiKeyEnv = 'FLT_TEST_KEY') => ({
  kind: 'openai-compatible' as const,
  baseURL,
  apiKeyEnv,
  testDouble: true,
  requestTimeoutSeconds: 1,
  prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
  maxConcurrency: 6,
});

describe('provider faults', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({
      apiKey: 'right-key',
      gold: items.map((i) => ({ question: i.question, answer: 'C', choices: ['A', 'B', 'C'] })),
    });
  });
  afterAll(async () => double?.stop());

  it('completes every question exactly once under 20% injected faults of every kind', async () => {
    await double.configure({
      faults: {
        rate: 0.2,
        kinds: ['429', '500', 'timeout', 'reset', 'malformed'],
        retryAfterSeconds: 1,
        timeoutMs: 1500,
        seed: 1,
      },
    });
    const deps = tempDeps({ FLT_TEST_KEY: 'right-key' });
    const test = await deps.store.writeJsonl(items);
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      const result = await worker.run(() =>
        client.workflow.execute('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: `faults-${Date.now()}`,
          args: [input(`faults-${Date.now()}`, { double: provider(double.baseURL) }, test)],
        }),
      );
      expect(result.evaluations[0].score.total).toBe(60);
      const answers = await deps.store.readAll<{ id: string }>(result.evaluations[0].score.details);
      expect(new Set(answers.map((a) => a.id)).size).toBe(60);

      const chat = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
      const faulted = chat.filter((r) => r.fault !== null);
      const answered = chat.filter((r) => r.fault === null && r.status === 200);
      expect(faulted.length).toBeGreaterThan(5);
      expect(new Set(faulted.map((r) => r.fault)).size).toBe(5);
      // No finished call was paid for twice: one successful request per question.
      expect(answered.length).toBe(60);
      expect(new Set(answered.map((r) => r.requestHash)).size).toBe(60);
      expect(result.usage.calls).toBe(60);
    } finally {
      await double.configure({ faults: { rate: 0 } });
      await close();
    }
  });

  it('counts every answered call once, though shard attempts that paid some of them failed', async () => {
    // 70% of calls fail with a 500: a call that fails all four of its inline tries fails its shard's attempt after
    // other calls of the shard were paid (about one call in four does).
    await double.configure({ faults: { rate: 0.7, kinds: ['500'], seed: 22 } });
    await double.clearRequests();
    const prices = { inputPerMillionTokens: 2, outputPerMillionTokens: 8, trainingPerMillionTokens: 0 };
    const providers = { double: { ...provider(double.baseURL), prices } };
    const deps = tempDeps({ FLT_TEST_KEY: 'right-key' });
    const test = await deps.store.writeJsonl(items.slice(0, 30));
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      const runId = `faults-paid-${Date.now()}`;
      const result = await worker.run(() =>
        client.workflow.execute('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [{ ...input(runId, providers, test), execution: { shardSize: 10, parallelShards: 1 } }],
        }),
      );
      const chat = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
      // A shard attempt failed: some request failed four times in a row (every inline try), so its attempt gave up.
      const streaks = new Map<string, number>();
      let failedAttempts = 0;
      for (const r of chat) {
        const streak = r.fault === null ? 0 : (streaks.get(r.requestHash) ?? 0) + 1;
        streaks.set(r.requestHash, streak % 4);
        if (streak === 4) failedAttempts++;
      }
      expect(failedAttempts).toBeGreaterThan(0);
      const answered = chat.filter((r) => r.fault === null && r.status === 200);
      expect(new Set(answered.map((r) => r.requestHash)).size).toBe(answered.length);
      const promptTokens = answered.reduce((sum, r) => sum + r.usage!.prompt_tokens, 0);
      const completionTokens = answered.reduce((sum, r) => sum + r.usage!.completion_tokens, 0);
      expect(result.usage).toMatchObject({ calls: answered.length, promptTokens, completionTokens });
      expect(result.usage.costUsd).toBeCloseTo((promptTokens * 2 + completionTokens * 8) / 1e6, 12);
    } finally {
      await double.configure({ faults: { rate: 0 } });
      await close();
    }
  });

  it('fails fast with a clear message on a bad API key instead of retrying', async () => {
    const deps = tempDeps({ FLT_WRONG_KEY: 'wrong-key' });
    const test = await deps.store.writeJsonl(items.slice(0, 5));
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    await double.clearRequests();
    try {
      const err = await worker.run(() =>
        client.workflow
          .execute('evaluationRun', {
            taskQueue: worker.taskQueue,
            workflowId: `badkey-${Date.now()}`,
            args: [input(`badkey-${Date.now()}`, { double: provider(double.baseURL, 'FLT_WRONG_KEY') }, test)],
          })
          .catch((e) => e),
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const messages: string[] = [];
      for (let e = err as Error | undefined; e; e = e.cause as Error | undefined) messages.push(e.message);
      expect(messages.join(' | ')).toMatch(/401.*apiKeyEnv/);
      // One attempt per question at most: nothing retried for ever.
      expect((await double.requests()).filter((r) => r.path === '/v1/chat/completions').length).toBeLessThanOrEqual(5);
    } finally {
      await close();
    }
  });
});
