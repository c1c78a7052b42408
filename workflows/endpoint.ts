// The dedicated-endpoint step of a Together fine-tune (`serve: endpoint`): start the endpoint, wait until it answers,
// and hand the run a model called through it. Once the run holds that model, its end-of-run cleanup stops the endpoint
// (workflows/serving.ts); until then, a cancel or a failure here stops it.
import { CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ProvidersConfig } from '../core/config';
import type { StartEndpointInput, TogetherBackendConfig } from '../core/contracts';
import type { ModelRef } from '../core/types';
import { adapterUnloadStep, fineTuneJobCalls, fineTuneWait } from './activity-options';

export async function serveThroughEndpoint(
  backend: TogetherBackendConfig,
  providers: ProvidersConfig,
  trained: ModelRef,
  tag: StartEndpointInput['tag'],
): Promise<ModelRef> {
  const { startDedicatedEndpoint } = proxyActivities<Activities>({
    ...fineTuneJobCalls,
    summary: `start a dedicated endpoint for ${trained.model}`,
  });
  // Not cancellable: a cancel mid-create must still learn the endpoint's id, to stop it.
  const started = await CancellationScope.nonCancellable(() =>
    startDedicatedEndpoint({ backend, providers, model: trained.model, tag }),
  );
  // From here the endpoint id is in the workflow's state: a worker killed mid-wait still stops it on replay.
  const model: ModelRef = {
    provider: backend.provider,
    model: started.name,
    endpoint: {
      id: started.id,
      baseURL: backend.baseURL,
      apiKeyEnv: backend.apiKeyEnv,
      ...(started.startedAt !== undefined ? { startedAt: started.startedAt } : {}),
    },
  };
  const { waitForDedicatedEndpoint } = proxyActivities<Activities>({
    ...fineTuneWait(backend.pollIntervalSeconds),
    summary: `waiting for dedicated endpoint ${started.id} to start`,
  });
  try {
    await waitForDedicatedEndpoint({ backend, providers, endpointId: started.id });
    return model;
  } catch (err) {
    const { unloadAdapters } = proxyActivities<Activities>({
      ...adapterUnloadStep,
      summary: `stop dedicated endpoint ${started.id}`,
    });
    await CancellationScope.nonCancellable(() => unloadAdapters({ providers, models: [model] }));
    throw err;
  }
}
