// What every activity needs from the worker process: created once in worker.ts (or a test) and injected.
import * as path from 'node:path';
import { ArtifactStore, dataHome, defaultArtifactStore, LocalArtifactStore } from '../lib/artifacts';
import { ResponseCache, type CallCache } from '../lib/response-cache';
import { ShardResponseCache } from '../lib/shard-response-cache';
import { ModelGateway } from './providers/gateway';

export interface ActivityDeps {
  store: ArtifactStore;
  gateway: ModelGateway;
  /** Working directories of local trainer jobs. */
  jobsDir: string;
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
  if (store instanceof LocalArtifactStore) {
    const gateway = new ModelGateway(new ResponseCache(path.join(store.root, 'response-cache')), env);
    return { store, gateway, jobsDir, env };
  }
  const hostCache = new ResponseCache(path.join(home, 'response-cache'));
  return {
    store,
    gateway: new ModelGateway(hostCache, env),
    jobsDir,
    env,
    shardCache: (shard) => new ShardResponseCache(store, shard, hostCache),
  };
}
