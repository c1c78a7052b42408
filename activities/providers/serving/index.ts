// The serving backend for an engine and provider.
import type { ProvidersConfig } from '../../../core/config';
import { InvalidConfig, typedError } from '../../../core/errors';
import type { AdapterServingRef } from '../../../core/types';
import { defaultApiKeyEnv } from '../secrets';
import { ServingHttp, type AdapterServing } from './adapter-serving';
import { LlamaCppServerAdapterServing } from './llama-cpp-server';
import { SglangAdapterServing } from './sglang';
import { VllmAdapterServing } from './vllm';

export type ServerEngine = Exclude<AdapterServingRef['engine'], 'llama-cpp'>;

export function adapterServing(
  engine: ServerEngine,
  providerName: string,
  providers: ProvidersConfig,
  env: NodeJS.ProcessEnv,
): AdapterServing {
  const provider = providers[providerName];
  if (provider?.kind !== 'openai-compatible' || !provider.baseURL)
    throw typedError(
      InvalidConfig,
      `serve: ${engine} needs provider "${providerName}" to be openai-compatible with the server's baseURL.`,
    );
  const http = new ServingHttp(provider, env[provider.apiKeyEnv ?? defaultApiKeyEnv]);
  if (engine === 'vllm') return new VllmAdapterServing(http);
  if (engine === 'sglang') return new SglangAdapterServing(http);
  return new LlamaCppServerAdapterServing(http);
}
