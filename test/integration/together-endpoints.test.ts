// Together's dedicated endpoints against the provider double: started once even when the create's answer is lost,
// waited on until STARTED, called by name, and stopped by the run's end-of-run cleanup.
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../activities/context';
import { endpointActivities } from '../../activities/endpoints';
import { servingActivities } from '../../activities/serving';
import type { ProvidersConfig } from '../../core/config';
import type { TogetherBackendConfig } from '../../core/contracts';
import type { ModelRef } from '../../core/types';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';

const env = { FLT_TEST_KEY: 'k' };
const deps = { env } as unknown as ActivityDeps;
const endpoints = endpointActivities(deps);
const serving = servingActivities(deps);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let double: ProviderDouble;
let providers: ProvidersConfig;
let backend: TogetherBackendConfig;

beforeAll(async () => {
  double = await startProviderDouble({ config: { fineTune: { stepMs: 100 } } });
  providers = {
    together: {
      kind: 'openai-compatible',
      baseURL: double.togetherBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      testDouble: true,
      requestTimeoutSeconds: 10,
      prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
      maxConcurrency: 4,
    },
  };
  backend = {
    kind: 'together',
    baseURL: double.togetherBaseURL,
    apiKeyEnv: 'FLT_TEST_KEY',
    provider: 'together',
    pollIntervalSeconds: 0.1,
    retryFailedJobs: 0,
    serve: 'endpoint',
    endpoint: { hardware: '1x_nvidia_h100_80gb_sxm', minReplicas: 1, maxReplicas: 1 },
  };
});
afterAll(async () => double?.stop());
afterEach(async () => double.configure({ faults: { rate: 0 }, togetherEndpoints: { holdStarting: false } }));

/** Waits until the double reports the endpoint in `state` (the jest timeout bounds it). */
async function reaches(id: string, state: string): Promise<void> {
  while ((await double.togetherEndpoints()).find((e) => e.id === id)?.state !== state) await sleep(50);
}

const chat = (model: string) =>
  fetch(`${double.togetherBaseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }),
  });

test('a create whose answer is lost leaves one endpoint, which the retry finds, waits on and stops', async () => {
  await double.configure({
    faults: { rate: 1, kinds: ['lost-reply'], paths: '^/together/v1/endpoints$', methods: ['POST'], limit: 1 },
  });
  const input = { backend, providers, model: 'sim-model', tag: { runId: 'lost-reply', stage: 'warm-up' } };
  // The first attempt's create takes effect, but its answer never arrives; Temporal would retry the activity.
  await expect(endpoints.startDedicatedEndpoint(input)).rejects.toThrow(/start a dedicated endpoint/);
  const started = await endpoints.startDedicatedEndpoint(input);

  const created = (await double.requests()).filter((r) => r.method === 'POST' && r.path === '/together/v1/endpoints');
  expect(created.map((r) => r.fault)).toEqual(['lost-reply']);
  const listed = (await double.togetherEndpoints()).filter((e) => e.displayName === 'flt-lost-reply-warm-up');
  expect(listed.map((e) => e.id)).toEqual([started.id]);

  await new MockActivityEnvironment().run(endpoints.waitForDedicatedEndpoint, {
    backend,
    providers,
    endpointId: started.id,
  });
  expect((await chat(started.name)).status).toBe(200);

  const model: ModelRef = {
    provider: 'together',
    model: started.name,
    endpoint: { id: started.id, baseURL: backend.baseURL, apiKeyEnv: backend.apiKeyEnv },
  };
  expect(await serving.unloadAdapters({ providers, models: [model] })).toEqual([started.id]);
  await reaches(started.id, 'STOPPED');
  // A stopped endpoint answers no more, and stopping it again is nothing to do.
  expect((await chat(started.name)).status).toBe(404);
  expect(await serving.unloadAdapters({ providers, models: [model] })).toEqual([started.id]);
});

test('an endpoint not started yet answers no chat, and the wait for it ends when it is cancelled', async () => {
  await double.configure({ togetherEndpoints: { holdStarting: true } });
  const started = await endpoints.startDedicatedEndpoint({
    backend,
    providers,
    model: 'sim-model',
    tag: { runId: 'held', stage: 'warm-up' },
  });
  await reaches(started.id, 'STARTING');
  expect((await chat(started.name)).status).toBe(404);
  const activity = new MockActivityEnvironment();
  const waiting = activity.run(endpoints.waitForDedicatedEndpoint, { backend, providers, endpointId: started.id });
  activity.cancel();
  await expect(waiting).rejects.toBeInstanceOf(CancelledFailure);
});
