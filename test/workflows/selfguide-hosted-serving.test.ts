// SELF-GUIDE with its two fine-tunes served the ways SemiEvol is tested with (together-download, together-merged,
// fireworks-deployment), on the real dev server against the provider double: Together checkpoints downloaded and
// loaded on the run's vLLM (`serve: download`), or merged and each served by a server the run starts on its own port,
// and Fireworks LoRAs loaded onto one deployment the run creates (`serve: deployment`). The fine-tuned evaluations
// call the served models, and everything is unloaded, stopped or deleted at the end.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FineTuneBackendConfig, ProvidersConfig } from '../../core/config';
import { freePort } from '../../lib/dev-server';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import { tsArgs } from '../../lib/ts-process';
import type { RequestLogEntry } from '../../testdouble/request-log';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const taskDir = path.resolve(__dirname, '../../../shared/data/selfguide/task1385');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const account = 'flt-sg-deploy';
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

describe('selfGuideRun with fine-tuned models served by download and by deployment', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  const provider = (baseURL: string) => ({
    kind: 'openai-compatible' as const,
    baseURL,
    apiKeyEnv: 'FLT_TEST_KEY',
    testDouble: true,
    requestTimeoutSeconds: 30,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
    maxConcurrency: 8,
  });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
    });
    providers = {
      together: provider(double.togetherBaseURL),
      'local-vllm': provider(double.baseURL),
      fireworks: provider(double.fireworksInferenceURL),
      merged: provider(`http://127.0.0.1:${await freePort()}/v1`),
    };
  });
  afterAll(async () => double?.stop());

  async function runSelfGuide(runId: string, modelProvider: string, backend: FineTuneBackendConfig) {
    const task = await storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir }, 8, []);
    const input: SelfGuideRunInput = {
      runId,
      providers,
      model: { provider: modelProvider, model: 'sim-model' },
      fineTune: { backend, lora: true, maxExampleTokens: 2000 },
      generation: { rounds: 2, promptsPerRound: 5, maxTokens: 100, maxPromptTokens: 3000 },
      annotation: { samples: 3, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 50 },
      evaluation: { maxTokens: 32, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 8, parallelShards: 2 },
      seed: 0,
      ...task,
      settings: { inputTemperature: 0.8, inputLengthFilter: false, outputLengthFilter: true, epochs: 1 },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      return await worker.run<SelfGuideRunResult>(() =>
        client.workflow.execute('selfGuideRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
    } finally {
      await close();
    }
  }

  it('downloads both Together checkpoints, evaluates them on vLLM by name and unloads them', async () => {
    await double.clearRequests();
    const before = (await double.loraAdapters()).events.length;
    const result = await runSelfGuide(`sgtd-${Date.now() % 1e7}`, 'local-vllm', {
      kind: 'together',
      baseURL: double.togetherBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      provider: 'together',
      pollIntervalSeconds: 0.1,
      serve: 'download',
      download: { checkpoint: 'adapter', engine: 'vllm', provider: 'local-vllm' },
    });
    const { selfGuide, fewShotFineTune } = result.models;
    const trained = [selfGuide.model, fewShotFineTune.model];
    for (const model of [selfGuide, fewShotFineTune]) {
      expect(model).toMatchObject({ provider: 'local-vllm', serving: { engine: 'vllm', provider: 'local-vllm' } });
      expect(model.model).toMatch(/^ft-.*-adapter$/);
    }
    expect((await double.togetherCheckpoints()).map((a) => `${a.jobId}-${a.key}`).sort()).toEqual([...trained].sort());
    const { loaded, events } = await double.loraAdapters();
    const mine = events.slice(before);
    expect(mine.filter((e) => e.action === 'load').map((e) => [e.name, e.error])).toEqual(
      expect.arrayContaining(trained.map((name) => [name, null])),
    );
    expect(
      mine
        .filter((e) => e.action === 'unload')
        .map((e) => e.name)
        .sort(),
    ).toEqual([...trained].sort());
    expect(loaded).toEqual([]);
    expect(result.evaluations.slice(2).map((e) => e.model.model)).toEqual([fewShotFineTune.model, selfGuide.model]);
    const chats = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
    for (const model of trained) expect(chats.filter((r) => r.model === model).length).toBeGreaterThanOrEqual(8);
    expect(chats.every((r) => r.status === 200)).toBe(true);
  });

  it('serves both merged Together checkpoints, each on its own port of server.ports, and stops both', async () => {
    const ports = [await freePort(), await freePort()];
    const requestLogOf = (port: number | string) => path.join(deps.jobsDir, '..', `sg-merged-requests-${port}.jsonl`);
    const command = [
      process.execPath,
      ...tsArgs(path.resolve(__dirname, '../support/merged-checkpoint-server.ts')),
      '{dir}',
      '{model}',
      '{port}',
      requestLogOf('{port}'),
    ]
      .map((word) => (word.startsWith('{') ? word : shellQuote(word)))
      .join(' ');
    const result = await runSelfGuide(`sgtm-${Date.now() % 1e7}`, 'local-vllm', {
      kind: 'together',
      baseURL: double.togetherBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      provider: 'together',
      pollIntervalSeconds: 0.1,
      serve: 'download',
      download: {
        checkpoint: 'merged',
        server: { command, provider: 'merged', ports, startTimeoutSeconds: 120, stopGraceSeconds: 5 },
      },
    });
    // SELF-GUIDE's model is the run's first merged model, few-shot fine-tuning's the second.
    const { selfGuide, fewShotFineTune } = result.models;
    for (const [i, model] of [selfGuide, fewShotFineTune].entries()) {
      expect(model).toMatchObject({ provider: 'merged', server: { baseURL: `http://127.0.0.1:${ports[i]}/v1` } });
      expect(model.model).toMatch(/^ft-.*-merged$/);
      const served: RequestLogEntry[] = fs
        .readFileSync(requestLogOf(ports[i]), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const chats = served.filter((r) => r.path === '/v1/chat/completions');
      expect(chats.length).toBeGreaterThanOrEqual(8);
      expect(chats.every((r) => r.model === model.model && r.status === 200)).toBe(true);
      await expect(fetch(`http://127.0.0.1:${ports[i]}/v1/models`)).rejects.toThrow();
    }
  });

  it('loads both Fireworks LoRAs onto one deployment, evaluates them there and deletes it', async () => {
    await double.clearRequests();
    const runId = `sgfd-${Date.now() % 1e7}`;
    const result = await runSelfGuide(runId, 'fireworks', {
      kind: 'fireworks',
      baseURL: double.fireworksBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      account,
      provider: 'fireworks',
      pollIntervalSeconds: 0.1,
      serve: 'deployment',
      deployment: { minReplicas: 1, maxReplicas: 1 },
    });
    const mine = async () =>
      (await double.fireworksDeployments()).deployments.filter((d) => d.name.includes(`/flt-${runId}-`));
    // Deleting takes one step of the double's clock.
    while ((await mine()).some((d) => d.state !== 'DELETED')) await sleep(50);
    const [deployment, ...others] = await mine();
    expect(others).toEqual([]);
    const { selfGuide, fewShotFineTune } = result.models;
    for (const model of [selfGuide, fewShotFineTune]) {
      expect(model.model).toMatch(new RegExp(`^accounts/${account}/models/flt-c.*#${deployment.name}$`));
    }
    expect((await double.fireworksDeployments()).deployedModels).toEqual([]);
    expect(result.evaluations.slice(2).map((e) => e.model.model)).toEqual([fewShotFineTune.model, selfGuide.model]);
    const requests = await double.requests();
    expect(
      requests.filter((r) => r.method === 'POST' && r.path.endsWith('/deployedModels') && r.status === 200),
    ).toHaveLength(2);
    const chats = requests.filter((r) => r.path === '/fireworks/inference/v1/chat/completions');
    for (const model of [selfGuide, fewShotFineTune])
      expect(chats.filter((r) => r.model === model.model).length).toBeGreaterThanOrEqual(8);
    expect(chats.every((r) => r.status === 200)).toBe(true);
  });
});
