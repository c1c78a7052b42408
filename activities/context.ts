// What every activity needs from the worker process: created once in worker.ts (or a test) and injected.
import * as path from 'node:path';
import { AdapterCopies } from '../lib/adapter-archive';
import { ArtifactStore, dataHome, defaultArtifactStore, LocalArtifactStore } from '../lib/artifacts';
import { ResponseCache, type CallCache } from '../lib/response-cache';
import { ShardResponseCache } from '../lib/shard-response-cache';
import { chatBackendOpener, ModelGateway } from './providers/gateway';

export interface ActivityDeps {
  store: ArtifactStore;
  gateway: ModelGateway;
  /** Working directories of local trainer jobs. */
  jobsDir: string;
  /** Trained adapters as this host reaches them (another host's are unpacked from the store). */
  adapters: AdapterCopies;
  env: NodeJS.ProcessEnv;
  /**
   * A shard activity's own response cache, kept in a store that workers on other hosts share (S3); absent where the
   * worker's cache is already in the shared store's folder.
   */
  shardCache?: (shard: string) => CallCache & { save(): Promise<void> };
}

export function defaultActivityDeps(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  const home = dataHome(env);
  const store = defaultArtifactStore(env);
  const jobsDir = path.join(home, 'jobs');
  const adapters = new AdapterCopies(store, path.join(home, 'adapters'));
  const openBackend = chatBackendOpener(adapters);
  if (store instanceof LocalArtifactStore) {
    const gateway = new ModelGateway(new ResponseCache(path.join(store.root, 'response-cache')), env, openBackend);
    return { store, gateway, jobsDir, adapters, env };
  }
  const hostCache = new ResponseCache(path.join(home, 'response-cache'));
  return {
    store,
    gateway: new ModelGateway(hostCache, env, openBackend),
    jobsDir,
    adapters,
    env,
    shardCache: (shard) => new ShardResponseCache(store, shard, hostCache),
  };
}
