// What every activity needs from the worker process: created once in worker.ts (or a test) and injected.
import * as path from 'node:path';
import { ArtifactStore, dataHome, defaultArtifactStore } from '../lib/artifacts';
import { ResponseCache } from '../lib/response-cache';
import { ModelGateway } from './providers/gateway';

export interface ActivityDeps {
  store: ArtifactStore;
  gateway: ModelGateway;
  /** Working directories of local trainer jobs. */
  jobsDir: string;
  env: NodeJS.ProcessEnv;
}

export function defaultActivityDeps(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  const home = dataHome(env);
  const store = defaultArtifactStore(env);
  return {
    store,
    gateway: new ModelGateway(new ResponseCache(path.join(store.root, 'response-cache')), env),
    jobsDir: path.join(home, 'jobs'),
    env,
  };
}
