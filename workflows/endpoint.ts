// The step that starts hardware billed by the minute for a trained model and waits until the model answers there:
// a Together dedicated endpoint (`serve: endpoint`) or a Fireworks deployment with the LoRA loaded (`serve:
// deployment`). Once the run holds the model, its end-of-run cleanup releases the hardware (workflows/serving.ts);
// until then, a cancel or a failure here releases it.
import { CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ProvidersConfig } from '../core/config';
import type { FireworksBackendConfig, StartEndpointInput, TogetherBackendConfig } from '../core/contracts';
import type { ModelRef } from '../core/types';
import { adapterUnloadStep, fineTuneJobCalls, fineTuneWait } from './activity-options';

const starting = (summary: string) => proxyActivities<Activities>({ ...fineTuneJobCalls, summary });
const waiting = (pollIntervalSeconds: number, summary: string) =>
  proxyActivities<Activities>({ ...fineTuneWait(pollIntervalSeconds), summary });

/** Waits (`wait`) until `model` answers on the hardware it names; failed or cancelled, releases that hardware first. */
async function answeringOn(model: ModelRef, providers: ProvidersConfig, wait: () => Promise<void>): Promise<ModelRef> {
  try {
    await wait();
    return model;
  } catch (err) {
    const { unloadAdapters } = proxyActivities<Activities>({
      ...adapterUnloadStep,
      summary: `release ${model.endpoint!.id}`,
    });
    await CancellationScope.nonCancellable(() => unloadAdapters({ providers, models: [model] }));
    throw err;
  }
}

export async function serveThroughEndpoint(
  backend: TogetherBackendConfig,
  providers: ProvidersConfig,
  trained: ModelRef,
  tag: StartEndpointInput['tag'],
): Promise<ModelRef> {
  // Not cancellable: a cancel mid-create must still learn the endpoint's id, to stop it.
  const started = await CancellationScope.nonCancellable(() =>
    starting(`start a dedicated endpoint for ${trained.model}`).startDedicatedEndpoint({
      backend,
      providers,
      model: trained.model,
      tag,
    }),
  );
  // From here the endpoint id is in the workflow's state: a worker killed mid-wait still stops it on replay.
  const model: ModelRef = {
    provider: backend.provider,
    model: started.name,
    endpoint: {
      id: started.id,
      baseURL: backend.baseURL,
      apiKeyEnv: backend.apiKeyEnv,
      trainedModel: trained.model,
      ...(started.startedAt !== undefined ? { startedAt: started.startedAt } : {}),
    },
  };
  return answeringOn(model, providers, () =>
    waiting(
      backend.pollIntervalSeconds,
      `waiting for dedicated endpoint ${started.id} to start`,
    ).waitForDedicatedEndpoint({ backend, providers, endpointId: started.id }),
  );
}

export async function serveThroughDeployment(
  backend: FireworksBackendConfig,
  providers: ProvidersConfig,
  trained: ModelRef,
  baseModel: string,
  runId: string,
): Promise<ModelRef> {
  // Not cancellable: a cancel mid-create must still learn the deployment, to delete it.
  const deployment = await CancellationScope.nonCancellable(() =>
    starting(`start a Fireworks deployment of ${baseModel} for ${trained.model}`).startFireworksDeployment({
      backend,
      providers,
      model: trained.model,
      baseModel,
      runId,
    }),
  );
  const model: ModelRef = {
    provider: backend.provider,
    // Fireworks' name for a LoRA served by one deployment.
    model: `${trained.model}#${deployment.name}`,
    endpoint: {
      id: deployment.name,
      baseURL: backend.baseURL,
      apiKeyEnv: backend.apiKeyEnv,
      fireworks: { model: trained.model, ownsDeployment: deployment.owned },
    },
  };
  return answeringOn(model, providers, () =>
    waiting(backend.pollIntervalSeconds, `load ${trained.model} onto ${deployment.name}`).waitForFireworksDeployment({
      backend,
      providers,
      deployment: deployment.name,
      model: trained.model,
    }),
  );
}
