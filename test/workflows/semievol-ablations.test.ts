// The paper's Table 2 ablations, each switched on in a real run against the simulated model: every switch removes
// its component and nothing else.
import { WorkflowNotFoundError } from '@temporalio/client';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import type { Ablation } from '../../core/semievol-config';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { childId } from '../../workflows/shared';
import { startProviderDouble, type ProviderDouble, type RequestLogEntry } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(__dirname, `../../../shared/data/semievol/fpb/${split}.csv`)).items;
const labeled = fpb('labeled').slice(0, 30);
const unlabeled = fpb('unlabeled').slice(0, 60);
const test = fpb('test').slice(0, 30);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));

interface Observed {
  result: SemievolRunResult;
  requests: RequestLogEntry[];
  /** Whether the run started a child workflow for this stage. */
  ran: (stage: string) => Promise<boolean>;
}

describe('SemiEvol ablations', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  const runs = new Map<string, Observed>();
  let connection: Awaited<ReturnType<typeof testClient>>;

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 20 } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 8,
      },
    };
    const data = {
      labeled: await deps.store.writeJsonl(labeled),
      unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
      unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
      test: await deps.store.writeJsonl(test),
    };
    connection = await testClient();
    const { client } = connection;
    const worker = await testWorker(deps);
    await worker.run(async () => {
      // One after another, so each run's provider requests are its own.
      for (const [seed, without] of [
        [],
        ['in-weight-propagation'],
        ['in-context-propagation'],
        ['collaborative-learning'],
        ['adaptive-selection'],
      ].entries()) {
        const runId = `ablation-${without[0] ?? 'none'}-${Date.now()}`;
        const input: SemievolRunInput = {
          runId,
          task: 'fpb',
          providers,
          model: { provider: 'double', model: 'sim-model' },
          data,
          fineTune: {
            backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.1 },
            hyperparameters: { epochs: 1 },
            finalHyperparameters: { epochs: 1 },
          },
          // Distinct seeds keep the runs from answering each other's calls from the response cache.
          options: semievolOptionsSchema.parse({
            without: without as Ablation[],
            collaboration: { maxTokens: 64 },
            justification: { maxTokens: 64 },
          }),
          sampling: { temperature: 0, maxTokens: 64, seed: 100 + seed },
          execution: { shardSize: 30, parallelShards: 2 },
        };
        await double.clearRequests();
        const result: SemievolRunResult = await client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
        });
        const ran = (stage: string) =>
          client.workflow
            .getHandle(childId(runId, stage))
            .describe()
            .then(
              () => true,
              (err) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)),
            );
        runs.set(without[0] ?? 'none', { result, requests: await double.requests(), ran });
      }
    });
  });
  afterAll(async () => {
    await connection?.close();
    await double?.stop();
  });

  const chats = (o: Observed) => o.requests.filter((r) => r.path === '/v1/chat/completions');
  const jobs = (o: Observed) => o.requests.filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs');

  it('the full method: warm-up, propagation, 4 collaborators, justification and selection all take part', async () => {
    const full = runs.get('none')!;
    const { plan, pseudoLabels: p } = full.result;
    expect(await full.ran('warm-up')).toBe(true);
    expect(await full.ran('propagate')).toBe(true);
    expect(jobs(full)).toHaveLength(2);
    expect(plan.collaborators).toHaveLength(4);
    expect(p.justified).toBeGreaterThan(0);
    expect(p.counts.selected).toBeLessThan(p.counts.pseudoLabeled);
    expect(chats(full)).toHaveLength(60 * 4 + p.justified + 4 * 30);
  });

  it('without in-weight propagation: no warm-up job, M_base answers and justifies, no SFT row', async () => {
    const run = runs.get('in-weight-propagation')!;
    expect(await run.ran('warm-up')).toBe(false);
    expect(jobs(run)).toHaveLength(1);
    expect(run.result.models.warm).toBeNull();
    expect(run.result.evaluations.sft).toBeNull();
    expect(run.result.plan.collaborators.every((c) => c.model === 'base')).toBe(true);
    // Only the evaluation of M_evol calls a fine-tuned model.
    expect(chats(run).filter((r) => r.model!.startsWith('ft:'))).toHaveLength(30);
  });

  it('without in-context propagation: no retrieval stage, every collaborator zero-shot', async () => {
    const run = runs.get('in-context-propagation')!;
    expect(await run.ran('propagate')).toBe(false);
    expect(await deps.store.lookup(`runs/${run.result.runId}/propagate/neighbours-00000`)).toBeNull();
    expect(run.result.plan.k).toBe(0);
    expect(run.result.plan.collaborators.every((c) => c.examples === 0)).toBe(true);
    expect(run.result.pseudoLabels.counts.pseudoLabeled).toBeGreaterThan(0);
  });

  it('without collaborative learning: one collaborator per question, so nothing to justify', async () => {
    const run = runs.get('collaborative-learning')!;
    const { pseudoLabels: p } = run.result;
    expect(run.result.plan.collaborators).toHaveLength(1);
    expect(p.consistencyRate).toBe(1); // the simulated model always names a letter
    expect(p.justified).toBe(0);
    expect(chats(run)).toHaveLength(60 + 4 * 30);
    expect(
      (await deps.store.readAll<{ collaborators: unknown[] }>(p.records)).every((r) => r.collaborators.length === 1),
    ).toBe(true);
  });

  it('without adaptive selection: every pseudo-label is kept', async () => {
    const { pseudoLabels: p } = runs.get('adaptive-selection')!.result;
    expect(p.counts.selected).toBe(p.counts.pseudoLabeled);
    expect(p.accuracy.selected).toEqual(p.accuracy.all);
  });
});
