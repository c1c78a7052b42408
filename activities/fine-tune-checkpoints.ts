// The per-epoch checkpoints of a finished fine-tuning job, so that one job of N epochs serves every epoch count up to
// N: OpenAI's checkpoints API, and the adapters a `command` trainer leaves in FLT_CHECKPOINT_DIR. Other backends keep
// no callable checkpoints: their callers train one job per epoch count, or keep the last epoch.
import OpenAI from 'openai';
import type { ProvidersConfig } from '../core/config';
import type { CheckpointingBackendConfig } from '../core/contracts';
import type { ModelRef } from '../core/types';
import { storedAdapterName } from '../lib/adapter-archive';
import type { ActivityDeps } from './context';
import { createFineTuneBackend } from './providers/finetune/backend';
import { epochAdapterPath, epochsWithAdapters } from './providers/finetune/command';
import { openAiCompatibleProvider, providerApiKey, tagName } from './providers/finetune/backend-common';
import { toActivityFailure } from './providers/errors';
import { contentTag, type JobInputs } from './fine-tuning';

export interface FineTuneCheckpointsInput extends JobInputs {
  backend: CheckpointingBackendConfig;
  providers: ProvidersConfig;
  /** The job's final adapter as the run holds it: where its trainer wrote it, and its copy in the artifact store. */
  trainedAdapter?: ModelRef['adapter'];
}

/**
 * A command trainer's per-epoch adapters, each served under the job's name and its epoch: listed in the job's folder
 * on its trainer's host, or on any other in the artifact store, where that host put them when the job succeeded.
 * Each keeps the trainer's path (so calls through it are cached alike on every host) and its stored copy.
 */
async function commandCheckpoints(
  input: FineTuneCheckpointsInput & { backend: { kind: 'command' } },
  { store, jobsDir, env }: ActivityDeps,
): Promise<ModelRef[]> {
  const { serve: engine, provider } = input.backend;
  if (!engine || engine === 'none') return [];
  const tag = contentTag(input);
  const jobId = tagName(tag);
  const job = await createFineTuneBackend(input.backend, input.providers, { workDir: jobsDir, env }).findJob(tag);
  const stored = job ? null : await store.lookup(storedAdapterName(jobId));
  const adapterPath = job?.adapterPath ?? (stored && input.trainedAdapter?.archive?.root);
  if (job ? job.status !== 'succeeded' : !stored) throw new Error(`no succeeded fine-tuning job ${jobId}`);
  if (!adapterPath) return [];
  const epochs = job
    ? epochsWithAdapters(adapterPath)
    : Array.from({ length: input.hyperparameters.epochs ?? 0 }, (_, i) => i + 1);
  const models: ModelRef[] = [];
  for (const epoch of epochs) {
    const ref = await store.lookup(storedAdapterName(jobId, epoch));
    if (!job && !ref) continue;
    const name = `${jobId}-epoch-${epoch}`;
    const folder = epochAdapterPath(adapterPath, epoch);
    models.push({
      provider,
      model: name,
      adapter: { name, path: folder, ...(ref ? { archive: { ref, root: folder } } : {}) },
      serving: { engine, provider },
    });
  }
  return models;
}

export function fineTuneCheckpointActivities(deps: ActivityDeps) {
  const { jobsDir, env } = deps;
  return {
    /** One callable model per epoch, oldest first, of the succeeded job trained on these inputs. */
    async fineTuneCheckpoints(input: FineTuneCheckpointsInput): Promise<ModelRef[]> {
      try {
        if (input.backend.kind === 'command')
          return await commandCheckpoints({ ...input, backend: input.backend }, deps);
        const tag = contentTag(input);
        const job = await createFineTuneBackend(input.backend, input.providers, { workDir: jobsDir, env }).findJob(tag);
        if (!job || job.status !== 'succeeded')
          throw new Error(`no succeeded fine-tuning job for ${tag.runId}/${tag.stage}`);
        const provider = openAiCompatibleProvider(input.providers, input.backend.provider);
        const client = new OpenAI({
          apiKey: providerApiKey(provider, env),
          baseURL: provider.baseURL,
          timeout: provider.requestTimeoutSeconds * 1000,
          maxRetries: 0,
        });
        const checkpoints = [];
        for await (const checkpoint of client.fineTuning.jobs.checkpoints.list(job.jobId)) checkpoints.push(checkpoint);
        return checkpoints
          .sort((a, b) => a.step_number - b.step_number)
          .map((c) => ({ provider: input.backend.provider, model: c.fine_tuned_model_checkpoint }));
      } catch (err) {
        throw toActivityFailure(err, `checkpoints of fine-tune ${input.stage}`);
      }
    },
  };
}
