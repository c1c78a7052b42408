// API keys from the worker's environment, one rule for chat and fine-tune: a key the config names must be set, or
// the call fails at once (MissingSecret, never retried) naming the variable, never the key.
import type { OpenAiCompatibleProviderConfig } from '../../core/config';
import { MissingSecret, typedError } from '../../core/errors';

/** The variable an openai-compatible provider reads its key from when its config names none. */
export const defaultApiKeyEnv = 'OPENAI_API_KEY';

/** The key in `envName`, or a MissingSecret failure naming the variable. */
export function readApiKey(envName: string, env: NodeJS.ProcessEnv): string {
  const key = env[envName];
  if (!key) {
    throw typedError(
      MissingSecret,
      `The API key environment variable ${envName} is not set on the worker (the key never goes in a config).`,
    );
  }
  return key;
}

/**
 * The key for an openai-compatible provider. A provider whose config names no `apiKeyEnv` reads OPENAI_API_KEY and,
 * when that is unset too, sends a placeholder to its own server (vLLM, Ollama, llama.cpp need no key); api.openai.com
 * (no baseURL) always needs the key.
 */
export function providerApiKey(provider: OpenAiCompatibleProviderConfig, env: NodeJS.ProcessEnv): string {
  if (provider.apiKeyEnv === undefined && provider.baseURL) return env[defaultApiKeyEnv] || 'not-needed';
  return readApiKey(provider.apiKeyEnv ?? defaultApiKeyEnv, env);
}
