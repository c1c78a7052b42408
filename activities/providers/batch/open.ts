// The Batch API backend of a configured provider, and its limits per batch.
import { providerBatchApi, type ProvidersConfig } from '../../../core/config';
import { InvalidConfig, typedError } from '../../../core/errors';
import type { ArtifactStore } from '../../../lib/artifacts';
import type { BatchBackend, BatchLimits } from './backend';
import { OpenAiBatchBackend, openAiBatchLimits } from './openai';
import { TogetherBatchBackend, togetherBatchLimits } from './together';

export function batchLimits(providers: ProvidersConfig, name: string): BatchLimits | null {
  const config = providers[name];
  const api = config ? providerBatchApi(config) : null;
  return api === 'openai' ? openAiBatchLimits : api === 'together' ? togetherBatchLimits : null;
}

export function openBatchBackend(
  providers: ProvidersConfig,
  name: string,
  env: NodeJS.ProcessEnv,
  store: ArtifactStore,
): BatchBackend {
  const config = providers[name];
  const api = config ? providerBatchApi(config) : null;
  if (config?.kind !== 'openai-compatible' || api === null)
    throw typedError(InvalidConfig, `Provider "${name}" has no Batch API: set providers.${name}.batchApi.`);
  return api === 'openai' ? new OpenAiBatchBackend(config, env, store) : new TogetherBatchBackend(config, env, store);
}
