// Fine-tune jobs as activities: a trainer host, upload, find-or-create (never twice), wait (heartbeating), cancel.
import { Context, sleep } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import type { ProvidersConfig } from '../core/config';
import type { FineTuneJobContext, FineTuneJobRequest, RemoteFineTuneBackendConfig } from '../core/contracts';
import {
  terminalFineTuneStatuses,
  type ArtifactRef,
  type FineTuneHyperparameters,
  type FineTuneJobState,
} from '../core/types';
import { archiveAdapter, storedAdapterName } from '../lib/adapter-archive';
import { canonicalJson } from '../lib/canonical-json';
import { hostTaskQueue } from '../lib/worker-roles';
import type { ActivityDeps } from './context';
import { createFineTuneBackend } from './providers/finetune/backend';
import { epochAdapterPath, epochsWithAdapters } from './providers/finetune/command';
import { endedWithoutModel, type JobTag } from './providers/finetune/backend-common';
import { toActivityFailure } from './providers/errors';

type JobContext = FineTuneJobContext;

export type StartFineTuneInput = FineTuneJobRequest;

export function fineTuneActivities({ store, jobsDir, adapters, env }: ActivityDeps) {
  const backendFor = (ctx: JobContext) => createFineTuneBackend(ctx.backend, ctx.providers, { workDir: jobsDir, env });
  const describe = (ctx: JobContext) => `fine-tune ${ctx.tag.stage} (${ctx.backend.kind})`;
  /**
   * A `command` job's adapter, trained on this host, stored for the machines that cannot see this host's disk;
   * `onBytes` hears how much of it has been read.
   */
  const archived = async (
    ctx: JobContext,
    state: FineTuneJobState,
    onBytes?: (bytes: number) => void,
  ): Promise<FineTuneJobState> => {
    const { adapterPath, jobId } = state;
    if (ctx.backend.kind !== 'command' || state.status !== 'succeeded' || !adapterPath) return state;
    // Each epoch's adapter too, for SELF-GUIDE's choice among them on whichever host makes it.
    for (const epoch of epochsWithAdapters(adapterPath))
      await archiveAdapter(store, epochAdapterPath(adapterPath, epoch), storedAdapterName(jobId, epoch), onBytes);
    return { ...state, adapterArchive: await archiveAdapter(store, adapterPath, storedAdapterName(jobId), onBytes) };
  };

  return {
    /** Taken from the trainer task queue: the queue of this worker's host, where a job it starts lives. */
    async trainerHostQueue(): Promise<string> {
      return hostTaskQueue(Context.current().info.taskQueue, jobsDir);
    },

    /**
     * Returns the job already trained or training on exactly these inputs, or creates exactly one. Jobs are tagged by
     * content (training data, base model, hyperparameters, stage), so a retried attempt, a re-run or a resumed run
     * finds the finished job instead of paying for it again; one that failed or was cancelled is never reused.
     */
    async startFineTuneJob(input: StartFineTuneInput): Promise<FineTuneJobState> {
      const tag = contentTag({ ...input, stage: input.tag.stage });
      const reusable = (job: FineTuneJobState | null) => (job && !endedWithoutModel(job) ? job : null);
      try {
        // Inside the try: a backend that cannot be built (a missing key) fails as its type says, not as a retry.
        const backend = backendFor(input);
        const existing = reusable(await backend.findJob(tag));
        if (existing) return await archived(input, existing);
        const trainingFileId = await backend.uploadTrainingFile({
          tag,
          localPath: await store.localPath(input.training),
          sha256: input.training.sha256,
        });
        // findJob again right before creating narrows the window in which a crashed attempt's job is missed.
        return (
          reusable(await backend.findJob(tag)) ??
          (await backend.createJob({
            tag,
            trainingFileId,
            baseModel: input.baseModel,
            hyperparameters: input.hyperparameters,
            // The adapter as recorded names the job; the trainer reads it where this host has it.
            ...(input.initAdapter
              ? {
                  initAdapter: await adapters.localPath({ path: input.initAdapter, archive: input.initAdapterArchive }),
                }
              : {}),
            ...(input.initModel ? { initModel: input.initModel } : {}),
          }))
        );
      } catch (err) {
        throw toActivityFailure(err, describe(input));
      }
    },

    /** Polls until the job ends, heartbeating its status so the UI shows it and cancellation reaches us. */
    async waitForFineTuneJob(input: JobContext & { jobId: string }): Promise<FineTuneJobState> {
      let backend: ReturnType<typeof backendFor>;
      try {
        backend = backendFor(input);
      } catch (err) {
        throw toActivityFailure(err, describe(input));
      }
      const ctx = Context.current();
      for (;;) {
        let state: FineTuneJobState;
        try {
          state = await backend.getJob(input.jobId);
        } catch (err) {
          const failure = toActivityFailure(err, describe(input));
          if (failure.nonRetryable) throw failure;
          state = {
            jobId: input.jobId,
            status: 'running',
            resultModel: null,
            error: null,
            events: [`poll failed, will poll again: ${failure.message}`],
          };
        }
        ctx.heartbeat({
          status: state.status,
          lastEvent: state.events.at(-1) ?? null,
          progress: state.progress ?? null,
        });
        if (terminalFineTuneStatuses.includes(state.status)) {
          let stored = 0;
          // A large adapter takes a while to store: the heartbeats say how far it got, and keep the poll alive.
          const storing = (bytes: number) =>
            ctx.heartbeat({
              status: state.status,
              lastEvent: `storing the adapter in the artifact store: ${((stored += bytes) / 2 ** 20).toFixed(0)} MiB`,
              progress: state.progress ?? null,
            });
          try {
            return await archived(input, state, storing);
          } catch (err) {
            throw toActivityFailure(err, `${describe(input)}: store its adapter`);
          }
        }
        await sleep(input.backend.pollIntervalSeconds * 1000); // throws CancelledFailure when the workflow cancels us
      }
    },

    /**
     * Cancels the job a start made, found by its tag: for a run cancelled while its start was running, which never
     * learned the job id. A job that already ended (a finished job another run trained) is left as it is.
     */
    async cancelFineTuneJobByTag(input: StartFineTuneInput): Promise<void> {
      try {
        const backend = backendFor(input);
        const job = await backend.findJob(contentTag({ ...input, stage: input.tag.stage }));
        if (job && !terminalFineTuneStatuses.includes(job.status)) await backend.cancelJob(job.jobId);
      } catch (err) {
        throw toActivityFailure(err, describe(input));
      }
    },

    async cancelFineTuneJob(input: JobContext & { jobId: string }): Promise<void> {
      try {
        await backendFor(input).cancelJob(input.jobId);
      } catch (err) {
        throw toActivityFailure(err, describe(input));
      }
    },
  };
}

/** What a job trains on and how: its identity, whichever run asks for it. */
export interface JobInputs {
  stage: string;
  training: ArtifactRef;
  baseModel: string;
  hyperparameters: FineTuneHyperparameters;
  backend: RemoteFineTuneBackendConfig;
  providers: ProvidersConfig;
  initAdapter?: string;
  initModel?: string;
}

/**
 * The job's tag: a hash of its inputs, never the run id (the stage keeps roles apart, e.g. warm-up and evolve).
 * The hyperparameters come from a user's config in any key order, so they are hashed in canonical form (keys sorted);
 * the outer keys are fixed here, in the order tags always had, so a job tagged before keeps its tag when its
 * hyperparameters were already in sorted order (the defaults are) and a resumed run finds it.
 */
export function contentTag(input: JobInputs): JobTag {
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        training: input.training.sha256,
        baseModel: input.baseModel,
        hyperparameters: JSON.parse(canonicalJson(input.hyperparameters)) as FineTuneHyperparameters,
        backend: input.backend.kind,
        salt: input.providers[input.backend.provider]?.cacheSalt,
        // Only when set, so the tags of jobs that start from no adapter stay as they were.
        ...(input.initAdapter ? { initAdapter: input.initAdapter } : {}),
        ...(input.initModel ? { initModel: input.initModel } : {}),
      }),
    )
    .digest('hex')
    .slice(0, 12);
  return { runId: `c${key}`, stage: input.stage };
}
