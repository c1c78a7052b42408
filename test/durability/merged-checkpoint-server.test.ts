// Durability of a merged checkpoint's server (`download.checkpoint: merged`): the worker process is SIGKILLed while
// the server it started is held before listing the model (its pid recorded). The restarted worker's attempt must find
// the server alive and follow it, never start a second one; the run completes and the server is stopped at its end.
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { freePort } from '../../lib/dev-server';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { temporalAddress } from '../support/temporal';
import { prebuiltBundle } from './crash-harness';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fpb = (split: string) => loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`)).items;
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
jest.setTimeout(300_000);

/** Whether a process group still has a running (not zombie) member. */
function groupAlive(pgid: number): boolean {
  return fs.readdirSync('/proc').some((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return false; // exited meanwhile
    }
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(pgrp) === pgid && state !== 'Z' && state !== 'X';
  });
}

describe('durability of a merged checkpoint server', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-merged-durability-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  const serversRoot = path.join(home, 'jobs', 'checkpoint-servers');
  const gate = path.join(home, 'server-gate');
  const taskQueue = `merged-durability-${process.pid}`;
  const labeled = fpb('labeled').slice(0, 10);
  const unlabeled = fpb('unlabeled').slice(0, 20);
  const test = fpb('test').slice(0, 10);
  let double: ProviderDouble;
  let providers: ProvidersConfig;

  const startWorker = async (): Promise<ChildProcess> =>
    spawnTs(path.join(root, 'worker.ts'), [], {
      cwd: root,
      stdio: 'ignore',
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_HOME: home,
        FLT_TASK_QUEUE: taskQueue,
        FLT_DURABILITY_KEY: 'k',
        FLT_WORKFLOW_BUNDLE: await prebuiltBundle(),
      },
    });
  const stopWorker = async (worker: ChildProcess, signal: NodeJS.Signals) => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill(signal);
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  };

  beforeAll(async () => {
    const gold = [...labeled, ...unlabeled, ...test].map((i) => ({
      question: i.question,
      answer: i.answer!,
      choices: ['A', 'B', 'C'],
    }));
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
      gold,
    });
    const provider = (baseURL: string) => ({
      kind: 'openai-compatible' as const,
      baseURL,
      apiKeyEnv: 'FLT_DURABILITY_KEY',
      testDouble: true,
      requestTimeoutSeconds: 30,
      prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
      maxConcurrency: 2,
    });
    providers = {
      together: provider(double.togetherBaseURL),
      'local-vllm': provider(double.baseURL),
      merged: provider(`http://127.0.0.1:${await freePort()}/v1`),
    };
  });
  afterAll(async () => double?.stop());

  it('follows the server its killed worker started, and stops it at the end', async () => {
    const command = [
      process.execPath,
      ...tsArgs(path.join(root, 'test/support/merged-checkpoint-server.ts')),
      '{dir}',
      '{model}',
      '{port}',
      path.join(home, 'server-requests.jsonl'),
      gate,
    ]
      .map((word) => (word.startsWith('{') ? word : shellQuote(word)))
      .join(' ');
    const input = await semievolTestInput(
      store,
      `merged-killed-${Date.now()}`,
      providers,
      { labeled, unlabeled, test },
      {
        model: { provider: 'local-vllm', model: 'sim-model' },
        fineTune: {
          backend: {
            kind: 'together',
            baseURL: double.togetherBaseURL,
            apiKeyEnv: 'FLT_DURABILITY_KEY',
            provider: 'together',
            pollIntervalSeconds: 0.2,
            serve: 'download',
            download: {
              checkpoint: 'merged',
              server: { command, provider: 'merged', startTimeoutSeconds: 120, stopGraceSeconds: 5 },
            },
          },
          hyperparameters: { epochs: 1 },
          finalHyperparameters: { epochs: 1 },
        },
        options: {
          propagation: { k: 0 },
          collaboration: { maxTokens: 32 },
          justification: { maxTokens: 32 },
          without: ['in-weight-propagation'],
        },
        sampling: { temperature: 0, maxTokens: 32, seed: 5 },
        execution: { shardSize: 10, parallelShards: 2 },
      },
    );
    fs.writeFileSync(gate, 'held until the worker is killed and restarted');
    const connection = await Connection.connect({ address: temporalAddress() });
    let worker = await startWorker();
    try {
      const handle = await new Client({ connection }).workflow.start('semievolRun', {
        taskQueue,
        workflowId: input.runId,
        args: [input],
      });
      // The server is started once its pid is recorded; it cannot list the model while the gate stands.
      const servers = path.join(serversRoot, input.runId);
      let record: string | undefined;
      while (!record) {
        const started = fs.existsSync(servers) ? fs.readdirSync(servers) : [];
        record = started.map((name) => path.join(servers, name)).find((dir) => fs.existsSync(path.join(dir, 'pid')));
        if (!record) await sleep(50);
      }
      const pgid = Number(fs.readFileSync(path.join(record, 'pid'), 'utf8'));
      await stopWorker(worker, 'SIGKILL');
      expect(groupAlive(pgid)).toBe(true);
      worker = await startWorker();
      fs.rmSync(gate);
      const result: SemievolRunResult = await handle.result();

      expect(result.evaluations.semievol.score.total).toBe(test.length);
      expect(result.models.evolved.model).toBe(path.basename(record));
      // One server in all: the same recorded group, one start in its log, gone after the run.
      expect(Number(fs.readFileSync(path.join(record, 'pid'), 'utf8'))).toBe(pgid);
      expect(fs.readFileSync(path.join(record, 'server.log'), 'utf8').match(/^loading /gm)).toHaveLength(1);
      expect(groupAlive(pgid)).toBe(false);
    } finally {
      await stopWorker(worker, 'SIGTERM');
      await connection.close();
      fs.rmSync(gate, { force: true });
    }
  });
});
