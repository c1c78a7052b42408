// The per-epoch checkpoints of a finished OpenAI fine-tuning job, so one job of N epochs serves every epoch count
// up to N. Other backends keep no callable checkpoints: their callers train one job per epoch count instead.
import OpenAI from 'openai';
import type { ProvidersConfig } from '../core/config';
import type { RemoteFineTuneBackendConfig } from '../core/contracts';
import type { ModelRef } from '../core/types';
import type { ActivityDeps } from './context';
import { createFineTuneBackend } from './providers/finetune/backend';
import { openAiCompatibleProvider, providerApiKey } from './providers/finetune/backend-common';
import { toActivityFailure } from './providers/errors';
import { contentTag, type JobInputs } from './fine-tuning';

export interface FineTuneCheckpointsInput extends JobInputs {
  backend: RemoteFineTuneBackendConfig & { kind: 'openai' };
  providers: ProvidersConfig;
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
