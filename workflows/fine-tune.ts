// Fine-tuning as a child workflow: one remote job per (run, stage), waited on durably, cancelled with the run.
import { ApplicationFailure, CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FineTuneBackendConfig, ModelSpec, ProvidersConfig } from '../core/config';
import type { RemoteFineTuneBackendConfig } from '../core/contracts';
import type { ArtifactRef, FineTuneHyperparameters, FineTuneJobState, ModelRef } from '../core/types';
import { fineTuneJobCalls, fineTuneWait } from './activity-options';

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

const { startFineTuneJob, cancelFineTuneJob } = proxyActivities<Activities>(fineTuneJobCalls);

export async function fineTune(input: FineTuneInput): Promise<ModelRef> {
  const { backend } = input;
  if (backend.kind === 'in-context') {
    // No weights change: the training set becomes the model's pool of retrieved demonstrations.
    return { ...input.baseModel, demonstrations: { pool: input.training, k: backend.k } };
  }
  // A job that ends failed or cancelled at the provider gets the configured policy: new jobs (under their own
  // stage tags, so each is created exactly once), then failing the run with the provider's message.
  for (let attempt = 0; ; attempt++) {
    const stage = attempt === 0 ? input.stage : `${input.stage}-retry${attempt}`;
    const final = await runJob(input, backend, stage);
    if (final.status === 'succeeded' && final.resultModel)
      return { provider: backend.provider, model: final.resultModel };
    if (attempt >= (backend.retryFailedJobs ?? 0)) {
      throw ApplicationFailure.nonRetryable(
        `Fine-tune job ${final.jobId} ended ${final.status}: ${final.error ?? 'no error message from the provider'}`,
        'FineTuneJobFailed',
      );
    }
    log.warn('fine-tune job ended without a model; starting a new one', {
      jobId: final.jobId,
      status: final.status,
      error: final.error,
      attempt: attempt + 1,
    });
  }
}

async function runJob(
  input: FineTuneInput,
  backend: RemoteFineTuneBackendConfig,
  stage: string,
): Promise<FineTuneJobState> {
  const job = { tag: { runId: input.runId, stage }, backend, providers: input.providers };
  const started = await startFineTuneJob({
    ...job,
    training: input.training,
    baseModel: input.baseModel.model,
    hyperparameters: input.hyperparameters,
  });

  const { waitForFineTuneJob } = proxyActivities<Activities>({
    ...fineTuneWait(backend.pollIntervalSeconds),
    summary: `waiting for fine-tune job ${started.jobId}`,
  });
  try {
    return await waitForFineTuneJob({ ...job, jobId: started.jobId });
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => cancelFineTuneJob({ ...job, jobId: started.jobId }));
    }
    throw err;
  }
}
