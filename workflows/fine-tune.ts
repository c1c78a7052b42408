// Fine-tuning as a child workflow: waits durably on the job for its content, which runs training on the same content
// share (workflows/fine-tune-job.ts owns it); a cancelled run stops the job unless another run still waits on it.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  workflowInfo,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FineTuneBackendConfig, ModelSpec, ProvidersConfig } from '../core/config';
import type { FineTuneJobRequest, RemoteFineTuneBackendConfig } from '../core/contracts';
import { InvalidInput } from '../core/errors';
import type { AdapterArchive, ArtifactRef, FineTuneHyperparameters, FineTuneJobState, ModelRef } from '../core/types';
import { fineTuneJobCalls, fineTuneWait } from './activity-options';
import { serveDownloadedCheckpoint } from './checkpoint-download';
import { serveThroughDeployment, serveThroughEndpoint } from './endpoint';
import { serveTrainedAdapter } from './serving';
import { failedOnGoneHost, hostMissed, onHost } from './trainer-hosts';

export interface FineTuneInput {
  runId: string;
  stage: string;
  backend: FineTuneBackendConfig;
  providers: ProvidersConfig;
  /** What the job trains; for the in-context backend the model as called (a served adapter keeps its serving). */
  baseModel: ModelSpec | ModelRef;
  /** Chat-format training examples: one `{messages}` per line. */
  training: ArtifactRef;
  hyperparameters: FineTuneHyperparameters;
  /** Continue training from this served adapter (its path); `baseModel` is then the model it adapts. */
  initAdapter?: string;
  /** That adapter in the artifact store, for a trainer on another host. */
  initAdapterArchive?: AdapterArchive;
  /** Continue training this fine-tuned model of the backend's own (Together, Fireworks) instead of `baseModel`. */
  initModel?: string;
  /**
   * A merged checkpoint's (`download.checkpoint: merged`): the model's place among the run's merged models, 0 for the
   * first, which picks its server's port from `server.ports`. Absent: 0.
   */
  serverPosition?: number;
}

/**
 * Options every parent starts a fineTune child with. When the parent closes (a sibling failed, the run was
 * terminated), the child is cancelled rather than terminated, so its cancel path cancels the job at the provider
 * instead of leaving it training and billing. Setting it changes only the StartChildWorkflowExecution command's
 * attributes, which replay does not compare.
 */
export const fineTuneChildOptions = {
  parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
} as const satisfies ChildWorkflowOptions;

const { startFineTuneJob, cancelFineTuneJob, cancelFineTuneJobByTag } = proxyActivities<Activities>(fineTuneJobCalls);
// Cancelled mid-start, the workflow waits for the start to end, so the job it may have created exists when the cancel
// path looks for it. The cancellation type is the SDK's own: no command or history event changes with it.
const { startFineTuneJob: startFineTuneJobToEnd } = proxyActivities<Activities>({
  ...fineTuneJobCalls,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
// Likewise a join the owner is still answering ends before this run leaves, so the leave always finds it joined.
const { attachToFineTuneJob } = proxyActivities<Activities>({
  ...fineTuneJobCalls,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
const { detachFromFineTuneJob } = proxyActivities<Activities>(fineTuneJobCalls);

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
    if (final.status === 'succeeded' && final.resultModel) {
      const trained = { provider: backend.provider, model: final.resultModel };
      if (backend.kind === 'together' && backend.serve === 'endpoint')
        return serveThroughEndpoint(backend, input.providers, trained, { runId: input.runId, stage });
      if (backend.kind === 'fireworks' && backend.serve === 'deployment')
        return serveThroughDeployment(backend, input.providers, trained, input.baseModel.model, input.runId);
      if (backend.kind === 'together' && backend.serve === 'download')
        return serveDownloadedCheckpoint(
          backend,
          input.providers,
          input.stage,
          final.jobId,
          input.runId,
          input.serverPosition ?? 0,
        );
      if (backend.kind !== 'command' || !backend.serve || backend.serve === 'none') return trained;
      if (!final.adapterPath)
        throw ApplicationFailure.nonRetryable(`Fine-tune job ${final.jobId} left no adapter to serve.`, InvalidInput);
      return serveTrainedAdapter(
        input.providers,
        input.stage,
        {
          name: trained.model,
          path: final.adapterPath,
          ...(final.adapterArchive ? { archive: final.adapterArchive } : {}),
        },
        {
          engine: backend.serve,
          provider: backend.provider,
          ...(backend.serveAdapterFrom === 'worker' ? { adapterFrom: 'worker' as const } : {}),
        },
      );
    }
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
  const request = {
    ...job,
    training: input.training,
    baseModel: input.baseModel.model,
    hyperparameters: input.hyperparameters,
    ...(input.initAdapter ? { initAdapter: input.initAdapter } : {}),
    ...(input.initAdapterArchive ? { initAdapterArchive: input.initAdapterArchive } : {}),
    ...(input.initModel ? { initModel: input.initModel } : {}),
  };
  if (sharesJobs()) return waitOnSharedJob(request, backend);
  let started: FineTuneJobState;
  try {
    started = await (cancelsCreatedJob() ? startFineTuneJobToEnd : startFineTuneJob)(request);
  } catch (err) {
    // Cancelled while the start ran or waited to retry: the job it created, if any, is found by its tag. An attempt
    // that fails after the cancel (a create the provider accepted but never answered) is not retried and ends as a
    // plain activity failure, not a cancellation: the run's own cancellation is what decides.
    if ((isCancellation(err) || CancellationScope.current().consideredCancelled) && cancelsCreatedJob()) {
      await CancellationScope.nonCancellable(() => cancelFineTuneJobByTag(request));
    }
    throw err;
  }

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

/**
 * Joins the job's owner as one of the runs waiting on it (the owner finds or creates the job), polls the job, and
 * leaves: cancelled, the owner cancels the job unless another run still waits on it.
 */
async function waitOnSharedJob(request: FineTuneJobRequest, backend: RemoteFineTuneBackendConfig) {
  const waiter = { waiterId: workflowInfo().workflowId, request };
  let cancelled = false;
  try {
    const started = await attachToFineTuneJob(waiter);
    const options = {
      ...fineTuneWait(backend.pollIntervalSeconds),
      summary: `waiting for fine-tune job ${started.jobId}`,
    };
    // A trainer is polled on its host's queue, where its processes and files are.
    const { hostQueue } = started;
    const { waitForFineTuneJob } = hostQueue
      ? onHost(hostQueue, backend, options)
      : proxyActivities<Activities>(options);
    const { tag, providers } = request;
    try {
      return await waitForFineTuneJob({ tag, backend, providers, jobId: started.jobId });
    } catch (err) {
      if (hostQueue && hostMissed(err)) return failedOnGoneHost(started, backend);
      throw err;
    }
  } catch (err) {
    cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    throw err;
  } finally {
    await CancellationScope.nonCancellable(() => detachFromFineTuneJob({ ...waiter, cancelled }));
  }
}

/** Whether jobs are shared by content through their owner workflow; runs started before it keep their own path. */
const sharesJobs = () => patched('fine-tune-job-shared-by-content');

/**
 * Whether a cancelled start cancels the job it created. Guarded, as it schedules a new activity where a history
 * recorded before it has none; `patched` records its marker the first time, so every later call agrees.
 */
const cancelsCreatedJob = () => patched('cancel-job-created-by-cancelled-start');
