// A missing API key fails at once, naming the variable, for chat and fine-tune alike; a provider configured without
// apiKeyEnv keeps the old behaviour (a local server gets a placeholder key, api.openai.com needs OPENAI_API_KEY).
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fineTuneActivities } from '../../activities/fine-tuning';
import type { ActivityDeps } from '../../activities/context';
import { readApiKey } from '../../activities/providers/finetune/backend-common';
import { openAiClient } from '../../activities/providers/openai-compatible';
import { openAiCompatibleProviderSchema } from '../../core/config';
import { MissingSecret, nonRetryableErrorTypes } from '../../core/errors';
import { LocalArtifactStore } from '../../lib/artifacts';

const provider = (fields: Record<string, unknown>) =>
  openAiCompatibleProviderSchema.parse({ kind: 'openai-compatible', ...fields });

const failureOf = (fn: () => unknown): { name?: string; type?: string; message?: string } | null => {
  try {
    fn();
    return null;
  } catch (err) {
    return err as { name: string; message: string };
  }
};

describe('a missing API key', () => {
  it('is a non-retryable type', () => {
    expect(nonRetryableErrorTypes).toContain(MissingSecret);
  });

  it('fails a chat client naming the variable, even for a server with its own baseURL', () => {
    const err = failureOf(() =>
      openAiClient(provider({ baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'FLT_UNSET_KEY' }), {}),
    );
    expect(err?.name).toBe(MissingSecret);
    expect(err?.message).toMatch(/FLT_UNSET_KEY/);
    expect(failureOf(() => openAiClient(provider({ apiKeyEnv: 'FLT_UNSET_KEY' }), {}))?.name).toBe(MissingSecret);
  });

  it('leaves a provider configured without apiKeyEnv as it was', () => {
    // A local server that needs no key gets a placeholder; api.openai.com needs OPENAI_API_KEY.
    expect(failureOf(() => openAiClient(provider({ baseURL: 'http://127.0.0.1:9/v1' }), {}))).toBeNull();
    const err = failureOf(() => openAiClient(provider({}), {}));
    expect(err?.name).toBe(MissingSecret);
    expect(err?.message).toMatch(/OPENAI_API_KEY/);
    expect(failureOf(() => openAiClient(provider({}), { OPENAI_API_KEY: 'k' }))).toBeNull();
  });

  it('fails a fine-tune backend naming the variable', () => {
    const err = failureOf(() => readApiKey('FLT_UNSET_KEY', {}));
    expect(err?.name).toBe(MissingSecret);
    expect(err?.message).toMatch(/FLT_UNSET_KEY/);
  });

  it('fails the fine-tune start activity as a non-retryable failure naming the variable', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'flt-missing-secret-'));
    const store = new LocalArtifactStore(path.join(home, 'artifacts'));
    const deps = { store, jobsDir: path.join(home, 'jobs'), env: {} } as unknown as ActivityDeps;
    const training = await store.writeJsonl([{ messages: [{ role: 'user', content: 'q' }] }]);
    const err = await fineTuneActivities(deps)
      .startFineTuneJob({
        tag: { runId: 'r', stage: 'warm-up' },
        backend: {
          kind: 'together',
          baseURL: 'http://127.0.0.1:9/v1',
          apiKeyEnv: 'FLT_UNSET_TOGETHER_KEY',
          provider: 'p',
          pollIntervalSeconds: 1,
        },
        providers: { p: provider({ baseURL: 'http://127.0.0.1:9/v1' }) },
        training,
        baseModel: 'm',
        hyperparameters: {},
      })
      .then(
        () => null,
        (e: { type?: string; name?: string; nonRetryable?: boolean; message: string }) => e,
      );
    expect(err?.type ?? err?.name).toBe(MissingSecret);
    expect(err?.message).toMatch(/FLT_UNSET_TOGETHER_KEY/);
  });
});
