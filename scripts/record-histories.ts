// `npm run record-histories`: runs representative workflows on a throwaway dev server against the provider test
// double and saves their histories under test/histories/, which CI replays against the current workflow code.
// Re-record only when a change is meant to be incompatible (and patched for runs in flight; see README).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivities } from '../activities';
import { ModelGateway } from '../activities/providers/gateway';
import type { ProvidersConfig } from '../core/config';
import { LocalArtifactStore } from '../lib/artifacts';
import { AdapterCopies } from '../lib/adapter-archive';
import { loadSemiEvolCsv } from '../lib/datasets';
import { freePort, requireTemporalCli, startDevServer } from '../lib/dev-server';
import { storeSelfGuideTask } from '../lib/methods/selfguide-tasks';
import { ResponseCache } from '../lib/response-cache';
import { startProviderDouble } from '../testdouble/launch';
import { semievolTestInput } from '../test/support/semievol-input';
import type { SelfGuideRunInput } from '../workflows/selfguide';
import { childId } from '../workflows/shared';

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'test', 'histories');

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-record-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(home, 'temporal.sqlite'),
  });
  const fpb = (split: string) =>
    loadSemiEvolCsv(path.join(root, 'demo', 'fpb', `${split}.csv`), { requireAnswer: split !== 'unlabeled' }).items;
  const items = fpb('test');
  // SemiEvol's splits: tiny, so its histories stay small.
  const labeled = fpb('labeled').slice(0, 8);
  const unlabeled = fpb('unlabeled').slice(0, 12);
  const gold = [...items, ...labeled, ...unlabeled].map((i) => ({
    question: i.question,
    answer: i.answer!,
    choices: ['A', 'B', 'C'],
  }));
  const double = await startProviderDouble({
    gold,
    config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
  });
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  const env = { FLT_RECORD_KEY: 'k' };
  const deps = {
    store,
    gateway: new ModelGateway(new ResponseCache(path.join(home, 'cache')), env),
    jobsDir: path.join(home, 'jobs'),
    adapters: new AdapterCopies(store, path.join(home, 'adapters')),
    env,
  };
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection,
    taskQueue: 'record',
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(deps),
  });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const providers: ProvidersConfig = {
    double: {
      kind: 'openai-compatible',
      baseURL: double.baseURL,
      apiKeyEnv: 'FLT_RECORD_KEY',
      testDouble: true,
      requestTimeoutSeconds: 30,
      prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
      maxConcurrency: 4,
    },
  };
  // The CLI writes the same JSON form the Web UI downloads, which historyFromJSON reads back.
  const save = async (workflowId: string, file: string) => {
    const json = execFileSync(
      requireTemporalCli(),
      ['workflow', 'show', '--workflow-id', workflowId, '--address', server.address, '--output', 'json'],
      { encoding: 'utf8' },
    );
    writeFileSync(path.join(outDir, file), json);
    console.log(`recorded ${file} (${JSON.parse(json).events.length} events)`);
  };

  mkdirSync(outDir, { recursive: true });
  try {
    await worker.runUntil(async () => {
      const test = await store.writeJsonl(items.slice(0, 30));
      await client.workflow.execute('evaluationRun', {
        taskQueue: 'record',
        workflowId: 'record-eval',
        args: [
          {
            runId: 'record-eval',
            task: 'fpb',
            providers,
            models: [{ provider: 'double', model: 'sim-model' }],
            test,
            sampling: { temperature: 0, maxTokens: 64, seed: 1 },
            metric: 'option-letter',
            execution: { shardSize: 10, parallelShards: 2 },
          },
        ],
      });
      await save('record-eval', 'evaluation-run.json');
      await save('record-eval--evaluate-1', 'evaluate-model.json');

      const training = await store.writeJsonl(
        items.slice(0, 10).map((i) => ({
          messages: [
            { role: 'user', content: i.question },
            { role: 'assistant', content: `Answer: ${i.answer}` },
          ],
        })),
      );
      await client.workflow.execute('fineTune', {
        taskQueue: 'record',
        workflowId: 'record-fine-tune',
        args: [
          {
            runId: 'record',
            stage: 'warmup',
            backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
            providers,
            baseModel: { provider: 'double', model: 'sim-model' },
            training,
            hyperparameters: { epochs: 2 },
          },
        ],
      });
      await save('record-fine-tune', 'fine-tune.json');

      // SemiEvol: every stage on 8 labeled, 12 unlabeled and 6 test questions.
      const semievol = await semievolTestInput(
        store,
        'record-semievol',
        providers,
        { labeled, unlabeled, test: items.slice(0, 6) },
        { execution: { shardSize: 6, parallelShards: 2 } },
      );
      await client.workflow.execute('semievolRun', {
        taskQueue: 'record',
        workflowId: semievol.runId,
        args: [semievol],
      });
      await save(semievol.runId, 'semievol-run.json');
      await save(childId(semievol.runId, 'collaborate'), 'semievol-collaborate.json');

      // SELF-GUIDE: a classification task from demo/, 2 rounds of 4 prompts, 3 test items.
      const selfGuideTask = await storeSelfGuideTask(
        store,
        { format: 'selfguide-task', path: path.join(root, 'demo', 'selfguide', 'task1386') },
        3,
        [],
      );
      const testItems = await store.readAll<{ input: string; output: string }>(selfGuideTask.test);
      await double.setGold([
        ...gold,
        ...testItems.map((i) => ({ question: i.input, answer: i.output, choices: selfGuideTask.task.labels })),
      ]);
      const selfGuide: SelfGuideRunInput = {
        runId: 'record-selfguide',
        ...selfGuideTask,
        providers,
        model: { provider: 'double', model: 'sim-model' },
        fineTune: {
          backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
          lora: false,
          maxExampleTokens: 2000,
        },
        generation: { rounds: 2, promptsPerRound: 4, maxTokens: 200, maxPromptTokens: 3000 },
        annotation: { samples: 3, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 32 },
        evaluation: { maxTokens: 32, contextTokens: 4096, rouge: 'words' },
        execution: { shardSize: 4, parallelShards: 2 },
        seed: 1,
        settings: { inputTemperature: 0.8, inputLengthFilter: true, outputLengthFilter: true, epochs: 1 },
      };
      await client.workflow.execute('selfGuideRun', {
        taskQueue: 'record',
        workflowId: selfGuide.runId,
        args: [selfGuide],
      });
      await save(selfGuide.runId, 'selfguide-run.json');
      await save(childId(selfGuide.runId, 'evaluate-self-guide'), 'selfguide-evaluate.json');
    });
  } finally {
    await connection.close();
    await deps.gateway.close();
    await double.stop();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
