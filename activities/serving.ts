// Serving trained adapters as activities: make one callable and prove it (serveAdapter, also run again before each
// stage that calls it), and unload what a run loaded (unloadAdapters).
import * as path from 'node:path';
import type { ProvidersConfig } from '../core/config';
import type { ServeAdapterInput, UnloadAdaptersInput } from '../core/contracts';
import type { AdapterServingRef, DedicatedEndpointRef, ModelRef } from '../core/types';
import { stopCheckpointServer } from './checkpoint-servers';
import type { ActivityDeps } from './context';
import { toActivityFailure } from './providers/errors';
import type { AdapterSelection, AdapterServing } from './providers/serving/adapter-serving';
import { checkGgufLoraAdapter, ggufAdapterFile } from './providers/serving/embedded-llama-cpp';
import { adapterServing } from './providers/serving';
import { FireworksDeployments } from './providers/finetune/fireworks-deployments';
import { TogetherEndpoints } from './providers/finetune/together-endpoints';

const samePath = (a: string, b: string) => path.resolve(a) === path.resolve(b);

/** What the server serves under `name`: nothing (undefined), this very file, or another one. */
async function servedUnder(serving: AdapterServing, name: string, file: string): Promise<'file' | 'other' | undefined> {
  const current = (await serving.listServed()).find((adapter) => adapter.name === name);
  if (!current) return undefined;
  // An engine that does not say which file is behind a name is trusted with the name.
  return current.path === null || samePath(current.path, file) ? 'file' : 'other';
}

/**
 * Idempotent: a name already serving this file is left as it is (no second load per server lifetime); a name serving
 * another file is unloaded first; a name not served is loaded. Then the name must be listed and answer a chat.
 */
async function loadOnce(serving: AdapterServing, name: string, file: string): Promise<AdapterSelection> {
  if (!serving.loadsAtRuntime) return serving.load(name, file);
  const served = await servedUnder(serving, name, file);
  if (served === 'file') return {};
  if (served === 'other') await serving.unload(name);
  try {
    return await serving.load(name, file);
  } catch (err) {
    // The load of an attempt that died with its worker can land between this attempt's listing and its load, which
    // the server then refuses as a duplicate: the adapter is served all the same.
    if ((await servedUnder(serving, name, file)) === 'file') return {};
    throw err;
  }
}

/**
 * What a serving engine is asked to load, which it reads on its own machine: the path the trainer wrote, or, where
 * configured, this worker's copy of the stored adapter.
 */
const pathToLoad = (
  adapter: NonNullable<ModelRef['adapter']>,
  serving: AdapterServingRef,
  adapters: ActivityDeps['adapters'],
): Promise<string> => (serving.adapterFrom === 'worker' ? adapters.localPath(adapter) : Promise.resolve(adapter.path));

/**
 * For a call through `model` that its server answered 404: loads the model's adapter again when a runtime-loading
 * server (vLLM, SGLang) no longer serves it, as after a restart in the middle of a stage. True when the adapter is
 * served now, so the call is worth one more try; false for any other model.
 */
export async function serveForgottenAdapter(
  providers: ProvidersConfig,
  model: ModelRef,
  { env, adapters }: Pick<ActivityDeps, 'env' | 'adapters'>,
): Promise<boolean> {
  const { serving, adapter } = model;
  if (!serving || !adapter || serving.engine === 'llama-cpp') return false;
  const server = adapterServing(serving.engine, serving.provider, providers, env);
  if (!server.loadsAtRuntime) return false;
  try {
    await loadOnce(server, adapter.name, await pathToLoad(adapter, serving, adapters));
    return true;
  } catch (err) {
    throw toActivityFailure(err, `serve adapter ${adapter.name} again (${serving.engine} on ${serving.provider})`);
  }
}

/** Stops a Together endpoint, or unloads a LoRA from a Fireworks deployment (deleted too if the run made it). */
async function release(
  endpoint: DedicatedEndpointRef,
  providers: ProvidersConfig,
  chatProvider: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const { fireworks } = endpoint;
  if (!fireworks) return new TogetherEndpoints(endpoint, providers, chatProvider, env).stop(endpoint.id);
  const account = endpoint.id.split('/')[1] ?? '';
  const deployments = new FireworksDeployments(endpoint, account, providers, chatProvider, env);
  await deployments.release(fireworks.model, endpoint.id, fireworks.ownsDeployment);
}

export function servingActivities({ env, jobsDir, adapters }: ActivityDeps) {
  return {
    /** The worker's clock, for the serving time a stage bills (workflows may not read one). Run as a local activity. */
    async readServingClock(): Promise<number> {
      return Date.now();
    },

    async serveAdapter({ providers, adapter, serving }: ServeAdapterInput): Promise<ModelRef> {
      const what = `serve adapter ${adapter.name} (${serving.engine} on ${serving.provider})`;
      try {
        if (serving.engine === 'llama-cpp') {
          // The embedded backend opens the file itself for each model it loads: check it is one it can apply, here
          // (the trainer's folder or this host's copy of it). The model keeps the path the run recorded, so its
          // calls' cache keys are the same on every host.
          const local = await adapters.localPath(adapter);
          const file = ggufAdapterFile(local);
          checkGgufLoraAdapter(file);
          return {
            provider: serving.provider,
            model: adapter.name,
            adapter: { ...adapter, path: path.join(adapter.path, path.relative(local, file)) },
            serving,
          };
        }
        const server = adapterServing(serving.engine, serving.provider, providers, env);
        const loaded = await pathToLoad(adapter, serving, adapters);
        // vLLM and SGLang take a PEFT directory (or whatever their loader accepts) as is; llama.cpp a GGUF file.
        const file = serving.engine === 'llama-cpp-server' ? ggufAdapterFile(loaded) : loaded;
        const selection = await loadOnce(server, adapter.name, file);
        if (server.loadsAtRuntime && !(await server.listServed()).some((served) => served.name === adapter.name))
          throw new Error(`the server answered the load but does not list ${adapter.name} among its models`);
        await server.probe(adapter.name, selection);
        return {
          provider: serving.provider,
          model: adapter.name,
          adapter: { ...adapter, path: path.join(adapter.path, path.relative(loaded, file)) },
          serving: { ...serving, ...(selection.loraId !== undefined ? { loraId: selection.loraId } : {}) },
        };
      } catch (err) {
        throw toActivityFailure(err, what);
      }
    },

    /**
     * Unloads each served adapter (already gone counts as done), so a long-lived server does not fill up, and stops
     * each dedicated endpoint, which bills by the minute until stopped, and each server started on a merged checkpoint.
     */
    async unloadAdapters({ providers, models }: UnloadAdaptersInput): Promise<string[]> {
      const unloaded: string[] = [];
      for (const model of models) {
        const { serving, adapter, endpoint, server } = model;
        if (server) {
          try {
            await stopCheckpointServer(jobsDir, server);
            unloaded.push(server.name);
          } catch (err) {
            throw toActivityFailure(err, `stop the server of ${model.model}`);
          }
        }
        if (endpoint) {
          try {
            await release(endpoint, providers, model.provider, env);
            unloaded.push(endpoint.id);
          } catch (err) {
            const what = endpoint.fireworks ? 'release Fireworks deployment' : 'stop dedicated endpoint';
            throw toActivityFailure(err, `${what} ${endpoint.id} of ${model.model}`);
          }
        }
        if (!serving || !adapter || serving.engine === 'llama-cpp') continue;
        try {
          const server = adapterServing(serving.engine, serving.provider, providers, env);
          if (!server.loadsAtRuntime) continue;
          await server.unload(adapter.name);
          unloaded.push(adapter.name);
        } catch (err) {
          throw toActivityFailure(err, `unload adapter ${adapter.name} from ${serving.provider}`);
        }
      }
      return unloaded;
    },
  };
}
