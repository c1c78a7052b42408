// Tests start the provider test double through the same launcher the demo uses.
import type { OpenAiCompatibleProviderConfig } from '../../core/config';

export * from '../../testdouble/launch';

/** A provider that the double at `baseURL` plays: free, keyless, four calls at a time, unless `overrides` say. */
export function doubleProvider(
  baseURL: string,
  overrides: Partial<OpenAiCompatibleProviderConfig> = {},
): OpenAiCompatibleProviderConfig {
  return {
    kind: 'openai-compatible',
    baseURL,
    apiKeyEnv: 'UNUSED_KEY',
    testDouble: true,
    requestTimeoutSeconds: 10,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
    maxConcurrency: 4,
    ...overrides,
  };
}
