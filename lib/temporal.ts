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

/**
 * Where the Web UI of the server at `address` is: Temporal Cloud's for a Cloud namespace, otherwise the same host at
 * the dev server's UI port, which `temporal server start-dev` puts 1000 above its gRPC port.
 */
function uiBase(address: string): string {
  const [, host, port] = /^(.*?)(?::(\d+))?$/.exec(address)!;
  if (host.endsWith('.tmprl.cloud')) return 'https://cloud.temporal.io';
  return `http://${host}:${Number(port ?? 7233) + 1000}`;
}

/** The Web UI page of a run: FLT_UI_URL when set, else derived from the server's address (TEMPORAL_ADDRESS). */
export function uiLink(runId: string, env: NodeJS.ProcessEnv = process.env): string {
  const { connectionOptions, namespace: name } = temporalConnectConfig(env);
  const base = env.FLT_UI_URL ?? uiBase(connectionOptions.address);
  const namespace = encodeURIComponent(name);
  return `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(runId)}`;
}
