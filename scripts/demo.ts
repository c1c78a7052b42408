// The README's first command: SemiEvol end to end on this machine. Starts what is missing (a Temporal dev server,
// a worker, and the provider test double when no API key or model file is configured), runs the job, prints the result.
import type { ChildProcess } from 'node:child_process';
import { spawnTs, spawnTsSync, workerNodeArgs } from '../lib/ts-process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { dataHome } from '../lib/artifacts';
import { loadSemiEvolCsv } from '../lib/datasets';
import { freePort, portOpen, startDevServer, type DevServer } from '../lib/dev-server';
import { startProviderDouble, type ProviderDouble } from '../testdouble/launch';

const root = path.resolve(__dirname, '..');
const demoData = path.join(root, 'demo', 'fpb');
const splits = ['labeled', 'unlabeled', 'test'] as const;

/** The provider, model and fine-tune backend the demo runs SemiEvol with, by what this machine has. */
async function chooseSetup(started: { double?: ProviderDouble }) {
  if (process.env.FLT_MODEL_PATH) {
    console.log(
      `demo: using the embedded llama.cpp model at ${process.env.FLT_MODEL_PATH}; ` +
        'fine-tuning is in-context (no trainer needed)',
    );
    return {
      provider: { kind: 'llama-cpp', modelPath: path.resolve(process.env.FLT_MODEL_PATH) },
      model: path.basename(process.env.FLT_MODEL_PATH),
      backend: { kind: 'in-context' },
      maxTokens: 128, // keeps a CPU-only run of 4 collaborators x 120 questions to minutes
    };
  }
  if (process.env.OPENAI_API_KEY) {
    const model = process.env.FLT_OPENAI_MODEL ?? 'gpt-4o-mini';
    console.log(
      `demo: using OpenAI (${model}) with the key in OPENAI_API_KEY; ` +
        'fine-tuning is in-context, so no paid training job is started',
    );
    return {
      provider: { kind: 'openai-compatible', apiKeyEnv: 'OPENAI_API_KEY', requestsPerMinute: 500 },
      model,
      backend: { kind: 'in-context' },
      maxTokens: 512,
    };
  }
  console.log(
    'demo: no OPENAI_API_KEY or FLT_MODEL_PATH set, so this run uses the provider test double ' +
      '(a simulated model and fine-tuning service): its figures are simulated.',
  );
  // The simulated model needs the gold answers to simulate a model that knows some of them.
  const gold = splits.flatMap((split) => loadSemiEvolCsv(path.join(demoData, `${split}.csv`)).items);
  started.double = await startProviderDouble({ config: { fineTune: { stepMs: 200 } } });
  await started.double.setGold(
    gold.map((item) => ({
      question: item.question,
      answer: item.answer!,
      choices: item.options.map((_, i) => String.fromCharCode(65 + i)),
    })),
  );
  return {
    provider: {
      kind: 'openai-compatible',
      baseURL: started.double.baseURL,
      apiKeyEnv: 'FLT_DEMO_KEY',
      testDouble: true,
    },
    model: 'sim-model',
    backend: { kind: 'openai', provider: 'main', pollIntervalSeconds: 1 },
    maxTokens: 256,
  };
}

async function ensureTemporal(started: { server?: DevServer }): Promise<string> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const [host, port] = address.split(':');
  if (await portOpen(Number(port), host)) {
    console.log(`demo: using the Temporal server at ${address}`);
    return address;
  }
  const freeDefault = !(await portOpen(8233));
  started.server = await startDevServer({
    port: Number(port) || (await freePort()),
    uiPort: freeDefault ? 8233 : await freePort(),
    dbFile: path.join(dataHome(), 'temporal.sqlite'),
  });
  console.log(
    `demo: started a Temporal dev server at ${started.server.address} (Web UI ${started.server.uiUrl}); ` +
      'it stops when the demo ends, `npm run server` keeps one running',
  );
  return started.server.address;
}

async function main(): Promise<void> {
  const started: { server?: DevServer; double?: ProviderDouble; worker?: ChildProcess } = {};
  try {
    const { provider, model, backend, maxTokens } = await chooseSetup(started);
    const address = await ensureTemporal(started);
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      FLT_TASK_QUEUE: `flt-demo-${process.pid}`,
      FLT_DEMO_KEY: 'demo',
    };

    // SemiEvol with the paper's defaults on the bundled sample (40 labeled, 120 unlabeled, 60 test questions).
    const configFile = path.join(dataHome(), 'demo', 'semievol-fpb.yaml');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(
      configFile,
      stringify({
        method: 'semievol',
        name: 'demo',
        task: 'fpb',
        providers: { main: provider },
        model: { provider: 'main', model },
        data: Object.fromEntries(
          splits.map((split) => [split, { format: 'semievol-csv', path: path.join(demoData, `${split}.csv`) }]),
        ),
        fineTune: { backend },
        semievol: { collaboration: { maxTokens }, justification: { maxTokens } },
        sampling: { maxTokens },
        execution: { shardSize: 20, parallelShards: 3 },
      }),
    );

    const workerLog = path.join(dataHome(), 'demo', 'worker.log');
    started.worker = spawnTs(
      path.join(root, 'worker.ts'),
      [],
      { env, stdio: ['ignore', openSync(workerLog, 'w'), openSync(workerLog, 'a')] },
      workerNodeArgs(env),
    );
    console.log(`demo: started a worker (log: ${workerLog})`);
    const run = spawnTsSync(path.join(root, 'client.ts'), ['run', configFile, '--wait'], { env, stdio: 'inherit' });
    if (run.status !== 0) throw new Error(`the run did not complete (flt exited with ${run.status})`);
    console.log('demo: done. `npm run flt -- list` lists runs; the Web UI shows each stage and activity.');
  } finally {
    started.worker?.kill('SIGTERM');
    await started.double?.stop();
    await started.server?.stop();
  }
}

main().catch((err) => {
  console.error(`demo: ${err?.message ?? err}`);
  process.exit(1);
});
