// Runtime LoRA serving as vLLM and SGLang offer it: load and unload adapters by name, list them among the models,
// and chat with them. Registered before inferenceRoutes, whose chat and model-list routes these take over (the first
// matching route answers).
//   vLLM:   POST /v1/load_lora_adapter {lora_name, lora_path}, POST /v1/unload_lora_adapter {lora_name}
//   SGLang: POST /load_lora_adapter, POST /unload_lora_adapter (same bodies, JSON replies)
//   admin:  GET /_admin/lora (loaded adapters and their history), POST /_admin/lora/restart (forget them all),
//           POST /_admin/lora/hold, /_admin/lora/release, GET /_admin/lora/held?count=N (a gate on loads)
import type { DoubleState } from './double-state';
import { gateRoutes } from './gate-routes';
import { badRequest, ok, type DoubleRequest, type Reply, type Router } from './http';
import { chatCompletion, modelView } from './inference-routes';
import type { LoadedAdapter, LoraAdapters } from './lora-adapters';
import { ModelCallGate } from './model-call-gate';
import type { ResolvedModel } from './model-registry';
import { sglangAdapterNotLoaded, VllmError, vllmModelNotFound } from './vllm-error';

const text = (body: string): Reply => ({ status: 200, body, rawContentType: 'text/plain; charset=utf-8' });

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The adapter's base: `base_model_name` when given, else the first configured chat model, as one vLLM serves. */
function parentModel(state: DoubleState, body: Record<string, unknown>): string {
  const named = optionalString(body, 'base_model_name');
  const configured = Object.keys(state.config.models);
  if (named !== undefined && !configured.includes(named)) throw vllmModelNotFound(named);
  const parent = named ?? configured[0];
  if (parent === undefined) throw badRequest('The provider test double has no chat model to attach adapters to.');
  return parent;
}

function adapterModelView(adapter: LoadedAdapter) {
  return {
    ...modelView({ name: adapter.name, createdAt: adapter.loadedAt, fineTuned: true }),
    root: adapter.path,
    parent: adapter.parent,
  };
}

function vllmRoutes(router: Router, state: DoubleState, adapters: LoraAdapters, loads: ModelCallGate): void {
  router
    .on('POST', '/v1/load_lora_adapter', async (request) => {
      await loads.pass();
      const body = request.json();
      const name = optionalString(body, 'lora_name');
      const path = optionalString(body, 'lora_path');
      if (name === undefined || path === undefined)
        throw new VllmError(400, "Both 'lora_name' and 'lora_path' must be provided.", 'InvalidUserInput');
      const outcome = adapters.load('vllm', name, path, parentModel(state, body));
      if (outcome.ok) return text(`Success: LoRA adapter '${name}' added successfully.`);
      if (outcome.reason === 'duplicate')
        throw new VllmError(400, `The lora adapter '${name}' has already been loaded.`, 'InvalidUserInput');
      throw new VllmError(404, `Loading lora ${name} failed: No adapter found for ${path}`, 'NotFoundError');
    })
    .on('POST', '/v1/unload_lora_adapter', (request) => {
      const name = optionalString(request.json(), 'lora_name');
      if (name === undefined)
        throw new VllmError(400, "'lora_name' needs to be provided to unload a LoRA adapter.", 'InvalidUserInput');
      if (!adapters.unload('vllm', name))
        throw new VllmError(404, `The lora adapter '${name}' cannot be found.`, 'NotFoundError');
      return text(`Success: LoRA adapter '${name}' removed successfully.`);
    });
}

/** SGLang answers both outcomes with the same JSON shape, and the adapters loaded afterwards. */
function sglangReply(adapters: LoraAdapters, error: string | null): Reply {
  const loaded = Object.fromEntries(adapters.list().map((adapter) => [adapter.name, adapter.path]));
  return { status: error ? 400 : 200, body: { success: !error, error_message: error ?? '', loaded_adapters: loaded } };
}

function sglangRoutes(router: Router, state: DoubleState, adapters: LoraAdapters, loads: ModelCallGate): void {
  router
    .on('POST', '/load_lora_adapter', async (request) => {
      await loads.pass();
      const body = request.json();
      const name = optionalString(body, 'lora_name');
      const path = optionalString(body, 'lora_path');
      if (name === undefined || path === undefined)
        return sglangReply(adapters, "Both 'lora_name' and 'lora_path' are required.");
      const outcome = adapters.load('sglang', name, path, parentModel(state, body));
      if (outcome.ok) return sglangReply(adapters, null);
      return sglangReply(
        adapters,
        outcome.reason === 'duplicate'
          ? `LoRA adapter '${name}' is already loaded.`
          : `Failed to load LoRA adapter '${name}': no adapter found at ${path}.`,
      );
    })
    .on('POST', '/unload_lora_adapter', (request) => {
      const name = optionalString(request.json(), 'lora_name');
      if (name === undefined) return sglangReply(adapters, "'lora_name' is required.");
      return sglangReply(adapters, adapters.unload('sglang', name) ? null : `LoRA adapter '${name}' is not loaded.`);
    });
}

/**
 * A chat model name: a configured or fine-tuned model, a loaded adapter (vLLM), or `base:adapter` (SGLang). An
 * adapter answers as its base model does.
 */
function resolver(state: DoubleState, adapters: LoraAdapters) {
  const asAdapter = (adapter: LoadedAdapter | undefined, name: string): ResolvedModel | undefined => {
    const parent = adapter && state.models.resolve(adapter.parent);
    return parent && { ...parent, name };
  };
  return (name: string): ResolvedModel | undefined => {
    const known = state.models.resolve(name) ?? asAdapter(adapters.get(name), name);
    if (known) return known;
    const colon = name.lastIndexOf(':');
    const adapter = colon > 0 ? adapters.get(name.slice(colon + 1)) : undefined;
    return adapter?.parent === name.slice(0, colon) ? asAdapter(adapter, name) : undefined;
  };
}

/** A model this server does not serve, refused as the configured engine refuses it (null: OpenAI's own 404). */
function engineRefusal(state: DoubleState, adapters: LoraAdapters, name: string): VllmError | null {
  if (state.config.servingEngine === 'vllm') return vllmModelNotFound(name);
  const colon = name.lastIndexOf(':');
  if (state.config.servingEngine === 'sglang' && colon > 0) {
    return sglangAdapterNotLoaded(
      name.slice(colon + 1),
      adapters.list().map((adapter) => adapter.name),
    );
  }
  return null;
}

function servingRoutes(router: Router, state: DoubleState, adapters: LoraAdapters): void {
  const resolve = resolver(state, adapters);
  const chat = chatCompletion(state, resolve);
  const listed = () => [
    ...state.models.listed().map((model) => ({ ...modelView(model), root: model.name, parent: null })),
    ...adapters.list().map(adapterModelView),
  ];
  router
    .on('POST', '/v1/chat/completions', (request: DoubleRequest) => {
      const name = request.model();
      // A name that was an adapter but is not loaded now (unloaded, or the server restarted): vLLM's 404.
      if (name !== null && adapters.wasLoaded(name) && !adapters.get(name)) throw vllmModelNotFound(name);
      const refusal = name !== null && !resolve(name) ? engineRefusal(state, adapters, name) : null;
      if (refusal) throw refusal;
      return chat(request);
    })
    // Like vLLM, which lists a LoRA with its path as `root` and its base as `parent`.
    .on('GET', '/v1/models', () => ok({ object: 'list', data: listed() }));
}

function adminRoutes(router: Router, adapters: LoraAdapters, loads: ModelCallGate): void {
  router
    .on('GET', '/_admin/lora', () => ok({ loaded: adapters.list(), events: adapters.events() }))
    .on('POST', '/_admin/lora/restart', () => ok({ forgotten: adapters.restart() }));
  gateRoutes(router, '/_admin/lora', loads);
}

export function loraRoutes(router: Router, state: DoubleState, adapters: LoraAdapters): void {
  // Held loads take effect when released, also when their client has gone, as a real server finishes a load.
  const loads = new ModelCallGate();
  vllmRoutes(router, state, adapters, loads);
  sglangRoutes(router, state, adapters, loads);
  servingRoutes(router, state, adapters);
  adminRoutes(router, adapters, loads);
}
