// The serving steps around a fine-tuned adapter: serve it once trained, make sure it is still served before each
// stage that calls it (a restarted vLLM or SGLang server has forgotten runtime adapters), unload it at the run's end.
import { CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ConfiguredLora, ProvidersConfig } from '../core/config';
import type { AdapterServingRef, ModelRef } from '../core/types';
import { adapterServingStep, adapterUnloadStep } from './activity-options';

const serving = (summary: string) => proxyActivities<Activities>({ ...adapterServingStep, summary });

/** Whether `model` is an adapter that a serving step must load (only then do the steps below issue commands). */
export const isServedAdapter = (model: ModelRef | null | undefined): model is ModelRef =>
  !!model?.serving && !!model.adapter;

/**
 * Whether the run must release `model` at its end: an adapter a server holds, an endpoint billing by the minute, or a
 * server the run started.
 */
const holdsResources = (model: ModelRef): boolean =>
  model.endpoint !== undefined || model.server !== undefined || isServedAdapter(model);

/**
 * A freshly trained adapter made callable and proven so, as its own step: loaded (or checked), listed, answering a
 * probe. Cancelled mid-load, it unloads the adapter itself: the run never learned of it, so its end-of-run unload
 * cannot cover it.
 */
export async function serveTrainedAdapter(
  providers: ProvidersConfig,
  stage: string,
  adapter: NonNullable<ModelRef['adapter']>,
  engine: AdapterServingRef,
): Promise<ModelRef> {
  const request = { providers, adapter, serving: engine };
  try {
    return await serving(
      `serve the ${stage} adapter on ${engine.provider} (${engine.engine}) as ${adapter.name}`,
    ).serveAdapter(request);
  } catch (err) {
    if (isCancellation(err)) {
      const { unloadAdapters } = proxyActivities<Activities>({
        ...adapterUnloadStep,
        summary: `unload ${adapter.name}`,
      });
      const model = { provider: engine.provider, model: adapter.name, adapter, serving: engine };
      await CancellationScope.nonCancellable(() => unloadAdapters({ providers, models: [model] }));
    }
    throw err;
  }
}

/**
 * Before `stage` calls them: each served adapter among `models` is loaded again if its server forgot it (the load
 * is idempotent, so a server that still holds it sees no second load). Other models issue no command at all.
 */
export async function ensureServed(
  models: (ModelRef | null)[],
  providers: ProvidersConfig,
  stage: string,
): Promise<void> {
  const served = models.filter(isServedAdapter);
  const unique = served.filter((m, i) => served.findIndex((other) => other.model === m.model) === i);
  await Promise.all(
    unique.map((model) =>
      serving(`ensure ${model.model} is served on ${model.provider} before ${stage}`).serveAdapter({
        providers,
        adapter: model.adapter!,
        serving: model.serving!,
      }),
    ),
  );
}

/**
 * A configured model as stages call it: one that names an adapter trained elsewhere (`lora`) is served first, by the
 * step that serves a freshly trained one, under the model's name; any other is returned as it is, with no command.
 */
export async function servedModel(
  spec: ModelRef & { lora?: ConfiguredLora },
  providers: ProvidersConfig,
): Promise<ModelRef> {
  const { lora, ...model } = spec;
  if (!lora) return model;
  return serving(
    `serve the configured adapter ${lora.path} on ${spec.provider} (${lora.serve}) as ${spec.model}`,
  ).serveAdapter({
    providers,
    adapter: { name: spec.model, path: lora.path },
    serving: { engine: lora.serve, provider: spec.provider },
  });
}

/**
 * Runs `work`, then unloads the adapters and stops the dedicated endpoints it reported through `loaded`, also when
 * the run fails or is cancelled (this cleanup itself cannot be cancelled). A run that served nothing issues no command.
 */
export async function unloadingAfter<T>(
  providers: ProvidersConfig,
  work: (loaded: (model: ModelRef) => ModelRef) => Promise<T>,
): Promise<T> {
  const models: ModelRef[] = [];
  const loaded = (model: ModelRef) => {
    if (holdsResources(model)) models.push(model);
    return model;
  };
  try {
    return await work(loaded);
  } finally {
    if (models.length > 0) {
      const { unloadAdapters } = proxyActivities<Activities>({
        ...adapterUnloadStep,
        summary: `unload ${models.map((m) => m.model).join(', ')}`,
      });
      await CancellationScope.nonCancellable(() => unloadAdapters({ providers, models })).catch((err) =>
        log.warn("could not unload the run's adapters; they stay loaded", { error: String(err) }),
      );
    }
  }
}
