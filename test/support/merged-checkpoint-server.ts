// The "server command" of the merged-checkpoint tests, in place of `vllm serve {dir} --served-model-name {model}
// --port {port}`: checks that DIR is the unpacked merged model, waits while GATE exists (a test holds the start there),
// then runs the provider test double on PORT listing MODEL, each request it answers mirrored to REQUEST_LOG.
//   node --import <tsx loader> test/support/merged-checkpoint-server.ts DIR MODEL PORT REQUEST_LOG [GATE]
// The double runs as this script's child, so it is in the process group the run starts, and stops with it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnTs } from '../../lib/ts-process';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const [dir, model, port, requestLog, gate] = process.argv.slice(2);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    console.error(`${dir} holds no config.json: it is not a merged model`);
    process.exit(2);
  }
  console.log(`loading ${dir} as ${model}`);
  while (gate && fs.existsSync(gate)) await sleep(100);
  const config = path.resolve('double-config.json');
  fs.writeFileSync(config, JSON.stringify({ models: { [model]: { accuracy: 0.5 } } }));
  const server = path.resolve(__dirname, '../../testdouble/server.ts');
  const double = spawnTs(server, ['--port', port, '--config', config, '--request-log', requestLog], {
    stdio: 'inherit',
  });
  double.on('exit', (code) => process.exit(code ?? 1));
}

void main();
