// Fine-tuning as a child workflow: one remote job per (run, stage), waited on durably, cancelled with the run.
import { ApplicationFailure, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FineTuneBackendConfig, ModelSpec, ProvidersConfig } from '../core/config';
import type { ArtifactRef, FineTuneHyperparameters, ModelRef } from '../core/types';

export interface FineTuneInput {
  runId: string;
  stage: string;
  backend: FineTuneBackendConfig;
  providers: ProvidersConfig;
  baseModel: ModelSpec;
  /** Chat-format training examples: one `{messages}` per line. */
  training: ArtifactRef;
  hyperparameters: FineTuneHyperparameters;
}

const { startFineTuneJob, cancelFineTuneJob } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '2 minutes' },
});

export async function fineTune(input: FineTuneInput): Promise<ModelRef> {
  const { backend } = input;
  if (backend.kind === 'in-context') {
    // No weights change: the training set becomes the model's pool of retrieved demonstrations.
    return { ...input.baseModel, demonstrations: { pool: input.training, k: backend.k } };
  }
  const job = { tag: { runId: input.runId, stage: input.stage }, backend, providers: input.providers };
  const started = await startFineTuneJob({ ...job, training: input.training, baseModel: input.baseModel.model, hyperparameters: input.hyperparameters });

  // One long heartbeating activity polls the job: the history grows by a few events per job, not per poll.
  const { waitForFineTuneJob } = proxyActivities<Activities>({
    startToCloseTimeout: '7 days',
    heartbeatTimeout: `${Math.max(60, 3 * backend.pollIntervalSeconds)} seconds`,
    retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
    summary: `waiting for fine-tune job ${started.jobId}`,
  });
  let final;
  try {
    final = await waitForFineTuneJob({ ...job, jobId: started.jobId });
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => cancelFineTuneJob({ ...job, jobId: started.jobId }));
    }
    throw err;
  }
  if (final.status !== 'succeeded' || !final.resultModel) {
    throw ApplicationFailure.nonRetryable(`Fine-tune job ${final.jobId} ended ${final.status}: ${final.error ?? 'no error message from the provider'}`, 'FineTuneJobFailed');
  }
  return { provider: backend.provider, model: final.resultModel };
}
