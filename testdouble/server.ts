// The provider test double: an OpenAI-, Together- and Fireworks-compatible HTTP server with a simulated model,
// for tests that cannot reach paid providers.
//   tsx testdouble/server.ts --port 0 [--host 127.0.0.1] [--api-key KEY] [--config cfg.json] [--gold gold.jsonl]
//     [--request-log requests.jsonl]
// Prints one JSON line {"listening":"http://HOST:PORT"} to stdout once it accepts connections.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { adminRoutes } from './admin-routes';
import { batchRoutes } from './batch-routes';
import { defaultConfig, type DoubleConfigPatch } from './config';
import { DoubleState } from './double-state';
import { fireworksDeploymentRoutes } from './fireworks-deployment-routes';
import { fireworksRoutes } from './fireworks-routes';
import { parseGoldJsonl } from './gold-index';
import { Router } from './http';
import { inferenceRoutes } from './inference-routes';
import { LoraAdapters } from './lora-adapters';
import { loraRoutes } from './lora-routes';
import { openaiFineTuningRoutes } from './openai-fine-tuning-routes';
import { requestListener } from './request-pipeline';
import { togetherBatchRoutes } from './together-batch-routes';
import { togetherCheckpointRoutes } from './together-checkpoint-routes';
import { togetherEndpointRoutes } from './together-endpoint-routes';
import { togetherRoutes } from './together-routes';

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-key': { type: 'string' },
      config: { type: 'string' },
      gold: { type: 'string' },
      'request-log': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a port number, got ${values.port}`);
  const host = values.host!;

  const state = new DoubleState(defaultConfig(), values['api-key']);
  if (values.config) state.configure(JSON.parse(readFileSync(values.config, 'utf8')) as DoubleConfigPatch);
  if (values['request-log']) state.log.mirrorTo(values['request-log']);
  if (values.gold) state.gold.add(parseGoldJsonl(readFileSync(values.gold, 'utf8'), values.gold));

  const router = new Router();
  // Before inferenceRoutes: its chat and model-list routes are replaced by adapter-aware ones.
  loraRoutes(router, state, new LoraAdapters());
  inferenceRoutes(router, state);
  openaiFineTuningRoutes(router, state);
  batchRoutes(router, state);
  togetherRoutes(router, state);
  togetherBatchRoutes(router, state);
  togetherEndpointRoutes(router, state);
  togetherCheckpointRoutes(router, state);
  fireworksRoutes(router, state);
  fireworksDeploymentRoutes(router, state);
  adminRoutes(router, state);

  const server = createServer(requestListener(state, router));
  // Never close an idle keep-alive connection: a client may be sending on it at that very moment and see "other side
  // closed". Clients close their idle connections themselves; shutdown closes the rest.
  server.keepAliveTimeout = 0;
  server.listen(port, host, () => {
    const address = server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    process.stdout.write(`${JSON.stringify({ listening: `http://${shownHost}:${address.port}` })}\n`);
  });

  const shutdown = () => {
    state.stop();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

try {
  main();
} catch (error) {
  console.error(`provider test double: ${(error as Error).message}`);
  process.exit(1);
}
