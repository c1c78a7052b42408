// A SemiEvol run in which the provider refuses one unlabeled question in collaborate and another in justify: both are
// recorded, reported and left out of the pseudo-labels, and the run goes on; past `execution.maxItemFailureShare` the
// stage stops the run with one sentence.
import { WorkflowFailedError } from '@temporalio/client';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { summarizeResult } from '../../lib/methods';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(__dirname, `../../../shared/data/semievol/fpb/${split}.csv`)).items;
const labeled = fpb('labeled').slice(0, 10);
const test = fpb('test').slice(0, 5);
// Question 3 is refused by the collaborators' provider; question 7 (on which they disagree) by the justifier's.
const unlabeled = fpb('unlabeled')
  .slice(0, 20)
  .map((item, i) => ({
    ...item,
    question: item.question + (i === 3 ? ' REFUSED-IN-COLLABORATE' : i === 7 ? ' REFUSED-IN-JUSTIFY' : ''),
  }));
const refusedInCollaborate = unlabeled[3].id;
const refusedInJustify = unlabeled[7].id;

describe('per-item failures in SemiEvol', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: {
        models: { 'sim-model': { accuracy: 0.3 } },
        fineTune: { stepMs: 40 },
        refuse: [
          { prompt: 'REFUSED-IN-COLLABORATE' },
          // Only the self-justification prompt of that question: its collaborators answer it.
          { prompt: 'REFUSED-IN-JUSTIFY[\\s\\S]*Several attempts at this question disagree' },
        ],
      },
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
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 8,
      },
    };
  });
  afterAll(async () => double?.stop());

  const run = async (runId: string, maxItemFailureShare: number): Promise<SemievolRunResult> => {
    const input = await semievolTestInput(
      deps.store,
      runId,
      providers,
      { labeled, unlabeled, test },
      { execution: { shardSize: 10, parallelShards: 2, maxItemFailureShare } },
    );
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      return await worker.run(() =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
        }),
      );
    } finally {
      await close();
    }
  };

  it('records a question refused in collaborate and one in justify, reports both and selects neither', async () => {
    const result = await run(`semievol-item-failures-${Date.now()}`, 0.1);
    const refusal = expect.stringMatching(/^.*400 The provider test double refuses this request/);
    expect(result.itemFailures).toEqual({
      collaborate: { count: 1, of: 20, examples: [{ id: refusedInCollaborate, message: refusal }] },
      justify: { count: 1, of: 20, examples: [{ id: refusedInJustify, message: refusal }] },
    });
    expect(result.pseudoLabels.counts.questions).toBe(18);
    const records = await deps.store.readAll<{ id: string }>(result.pseudoLabels.records);
    expect(records.map((r) => r.id)).toEqual(
      unlabeled.map((i) => i.id).filter((id) => id !== refusedInCollaborate && id !== refusedInJustify),
    );
    const selected = await deps.store.readAll<{ id: string }>(result.pseudoLabels.selected);
    expect(selected.map((s) => s.id)).not.toContain(refusedInCollaborate);
    expect(selected.map((s) => s.id)).not.toContain(refusedInJustify);
    const summary = summarizeResult('semievolRun', result);
    expect(summary).toContainEqual(
      expect.stringMatching(
        new RegExp(`^collaborate: 1 of 20 items failed and were dropped: ${refusedInCollaborate}: `),
      ),
    );
    expect(summary).toContainEqual(
      expect.stringMatching(new RegExp(`^justify: 1 of 20 items failed and were dropped: ${refusedInJustify}: `)),
    );
  });

  it('stops the run when more than maxItemFailureShare of a stage fails, saying so', async () => {
    const failed = await run(`semievol-item-failures-share-${Date.now()}`, 0.02).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    // The run fails through its collaborate child.
    let cause: Error | undefined = (failed as WorkflowFailedError).cause;
    while (cause?.cause) cause = cause.cause as Error;
    expect(cause?.message).toMatch(
      new RegExp(
        `^collaborate: 1 of 20 items failed \\(5\\.0%\\), more than execution\\.maxItemFailureShare \\(2\\.0%\\); ` +
          `first: ${refusedInCollaborate}: .*400 `,
      ),
    );
  });
});
