// What a fine-tune starts from when a run's base model may be a served LoRA adapter: stages call the adapter by its
// served name, but a trainer needs the model it adapts, and continues the adapter's file only where asked.
import type { BaseModelSpec, FineTuneBackendConfig, ModelSpec } from './config';
import type { AdapterArchive, ModelRef } from './types';

export interface FineTuneStart {
  /** What the job trains on; the in-context backend's is the model as called, which it gives demonstrations. */
  baseModel: ModelSpec | ModelRef;
  /** The adapter file the trainer continues (FLT_INIT_ADAPTER). */
  initAdapter?: string;
  /** That adapter in the artifact store, for a trainer on another host. */
  initAdapterArchive?: AdapterArchive;
  /** A model Together or Fireworks trained, by their own name for it, which the job continues. */
  initModel?: string;
}

/** Backends that continue a model they trained by its name (Together's from_checkpoint, Fireworks' warmStartFrom). */
const continuesByName = (backend: FineTuneBackendConfig['kind']) => backend === 'together' || backend === 'fireworks';

/**
 * A fine-tune of `from`: the run's served base model (`spec` as configured) or a model trained from it (M_warm).
 * A trained adapter is always continued from its file, and a model Together or Fireworks trained by its name; the
 * configured adapter only with `lora.continue`.
 */
export function fineTuneStart(
  backend: FineTuneBackendConfig['kind'],
  spec: BaseModelSpec,
  from: ModelRef,
): FineTuneStart {
  if (backend === 'in-context') {
    // Its new demonstrations replace those `from` may carry; a served adapter stays what is called.
    const { demonstrations: _replaced, ...model } = from;
    return { baseModel: model };
  }
  const baseModel = { provider: spec.provider, model: spec.lora?.baseModel ?? spec.model };
  const configured = from.model === spec.model;
  if (from.adapter) {
    if (configured && !spec.lora?.continue) return { baseModel };
    const { path, archive } = from.adapter;
    return { baseModel, initAdapter: path, ...(archive ? { initAdapterArchive: archive } : {}) };
  }
  if (!configured && continuesByName(backend))
    // An endpoint or deployment is called by its own name; the job continues the model it serves.
    return { baseModel, initModel: from.endpoint?.trainedModel ?? from.endpoint?.fireworks?.model ?? from.model };
  return { baseModel: { provider: from.provider, model: from.model } };
}

/** How `flt run` describes a base model that is a served adapter; empty for any other. */
export const adapterNote = ({ lora }: BaseModelSpec): string =>
  lora ? `, the adapter ${lora.path} served by ${lora.serve}${lora.continue ? ', continued by fine-tunes' : ''}` : '';
