// The per-epoch checkpoints of a finished fine-tuning job, so that one job of N epochs serves every epoch count up to
// N: OpenAI's checkpoints API, and the adapters a `command` trainer leaves in FLT_CHECKPOINT_DIR. Other backends keep
// no callable checkpoints: their callers train one job per epoch count, or keep the last epoch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import OpenAI from 'openai';
import type { ProvidersConfig } from '../core/config';
import type { CheckpointingBackendConfig } from '../core/contracts';
import type { FineTuneJobState, ModelRef } from '../core/types';
import type { ActivityDeps } from './context';
import { createFineTuneBackend } from './providers/finetune/backend';
import { checkpointDirName } from './providers/finetune/command';
import { openAiCompatibleProvider, providerApiKey } from './providers/finetune/backend-common';
import { toActivityFailure } from './providers/errors';
import { contentTag, type JobInputs } from './fine-tuning';

export interface FineTuneCheckpointsInput extends JobInputs {
  backend: CheckpointingBackendConfig;
  providers: ProvidersConfig;
}

/** A command trainer's per-epoch adapters (`epoch-<N>` folders), each served under the job's name and its epoch. */
function commandCheckpoints(job: FineTuneJobState, backend: CheckpointingBackendConfig): ModelRef[] {
  const engine = backend.kind === 'command' ? backend.serve : undefined;
  if (!engine || engine === 'none' || !job.adapterPath) return [];
  const dir = path.join(path.dirname(job.adapterPath), checkpointDirName);
  const epochs = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .map((entry) => /^epoch-(\d+)$/.exec(entry)?.[1])
        .filter((n): n is string => n !== undefined)
        .map(Number)
        .sort((a, b) => a - b)
    : [];
  return epochs.map((epoch) => {
    const name = `${job.jobId}-epoch-${epoch}`;
    return {
      provider: backend.provider,
      model: name,
      adapter: { name, path: path.join(dir, `epoch-${epoch}`) },
      serving: { engine, provider: backend.provider },
    };
  });
}

export function fineTuneCheckpointActivities({ jobsDir, env }: ActivityDeps) {
  return {
    /** One callable model per epoch, oldest first, of the succeeded job trained on these inputs. */
    async fineTuneCheckpoints(input: FineTuneCheckpointsInput): Promise<ModelRef[]> {
      try {
        const tag = contentTag(input);
        const job = await createFineTuneBackend(input.backend, input.providers, { workDir: jobsDir, env }).findJob(tag);
        if (!job || job.status !== 'succeeded')
          throw new Error(`no succeeded fine-tuning job for ${tag.runId}/${tag.stage}`);
        if (input.backend.kind === 'command') return commandCheckpoints(job, input.backend);
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
