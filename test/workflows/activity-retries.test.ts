// A deterministic failure ends a workflow at the activity's first attempt, instead of retrying until a timeout.
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { MissingArtifact } from '../../core/errors';
import type { EvaluateModelInput } from '../../workflows/evaluate';
import { tempDeps, testClient, testWorker } from '../support/temporal';

describe('activity retry policy', () => {
  it('fails an evaluation whose test split is missing from the store at the first attempt', async () => {
    const deps = tempDeps();
    const absent = '0'.repeat(64);
    const runId = `missing-artifact-${Date.now()}`;
    const input: EvaluateModelInput = {
      runId,
      stage: 'evaluate',
      model: { provider: 'double', model: 'sim-model' },
      test: { uri: `artifact:sha256/${absent}`, sha256: absent, count: 3, bytes: 100 },
      providers: {},
      sampling: { temperature: 0, maxTokens: 8, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 10, parallelShards: 1 },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('evaluateModel', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
          // Retrying forever would end here, not in a failure of the activity.
          workflowExecutionTimeout: '1 minute',
        });
        const error = await handle.result().catch((err: unknown) => err);
        expect(error).toBeInstanceOf(WorkflowFailedError);
        const activity = (error as WorkflowFailedError).cause as ActivityFailure;
        expect(activity).toBeInstanceOf(ActivityFailure);
        expect(activity.activityType).toBe('listShards');
        expect(activity.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
        expect(activity.cause).toBeInstanceOf(ApplicationFailure);
        expect((activity.cause as ApplicationFailure).type).toBe(MissingArtifact);

        const { events } = await handle.fetchHistory();
        const attempts = (events ?? []).flatMap((e) => e.activityTaskStartedEventAttributes?.attempt ?? []);
        expect(attempts).toEqual([1]);
      });
    } finally {
      await close();
    }
  });
});
