// How the worker and the CLI reach Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*
// and TEMPORAL_PROFILE / the temporal.toml profile file, exactly as the Temporal CLI reads them.
import { loadClientConnectConfig } from '@temporalio/envconfig';

export const taskQueue = (env: NodeJS.ProcessEnv = process.env) => env.FLT_TASK_QUEUE ?? 'flt';

export function temporalConnectConfig(env: NodeJS.ProcessEnv = process.env) {
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? 'localhost:7233' },
    namespace: namespace ?? 'default',
  };
}

/** The Web UI page of a run (the dev server's UI unless FLT_UI_URL says otherwise). */
export function uiLink(runId: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.FLT_UI_URL ?? 'http://localhost:8233';
  const namespace = encodeURIComponent(temporalConnectConfig(env).namespace);
  return `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(runId)}`;
}
