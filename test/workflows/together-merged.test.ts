// A SemiEvol run whose Together jobs' merged checkpoints are downloaded and served by servers the run starts on them
// (`download.checkpoint: merged`), on the real dev server against the provider double: each "server" is another
// provider double started by the configured command on its port. Without warm-up, one server on the serving
// provider's port; with it, M_warm's and M_evol's each on its own port of `server.ports`. Each is started once, the
// evaluation's calls reach it naming its checkpoint, and it is gone after the run, and after a cancel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { ProvidersConfig } from '../../core/config';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { freePort } from '../../lib/dev-server';
import { tsArgs } from '../../lib/ts-process';
import type { RequestLogEntry } from '../../testdouble/request-log';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`), {
    requireAnswer: split !== 'unlabeled',
  }).items;
const labeled = fpb('labeled').slice(0, 10);
const unlabeled = fpb('unlabeled').slice(0, 20);
const test = fpb('test').slice(0, 10);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether a process group still has a running member. Zombies do not count: the run's server processes are
 * reparented to PID 1 when their leader exits, and this machine's PID 1 reaps them late.
 */
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

describe('semievolRun with a merged Together checkpoint served by a server the run starts', () => {
  let double: ProviderDouble;
  let port: number;
  /** The ports of `server.ports` in the runs with warm-up: M_warm's server, then M_evol's. */
  let ports: number[];
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  // Each server's own, by its port: `{port}` in the command's words is replaced too.
  const requestLogOf = (port: number | string) => path.join(deps.jobsDir, '..', `merged-server-requests-${port}.jsonl`);
  const gateOf = (port: number | string) => path.join(deps.jobsDir, '..', `merged-server-gate-${port}`);
  const provider = (baseURL: string) => ({
    kind: 'openai-compatible' as const,
    baseURL,
    apiKeyEnv: 'FLT_TEST_KEY',
    testDouble: true,
    requestTimeoutSeconds: 30,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
    maxConcurrency: 8,
  });
  const serverCommand = [
    process.execPath,
    ...tsArgs(path.join(root, 'test/support/merged-checkpoint-server.ts')),
    '{dir}',
    '{model}',
    '{port}',
    requestLogOf('{port}'),
    gateOf('{port}'),
  ]
    .map((word) => (word.startsWith('{') ? word : shellQuote(word)))
    .join(' ');

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    port = await freePort();
    ports = [await freePort(), await freePort()];
  });
  afterAll(async () => double?.stop());
  afterEach(() => [port, ...ports].forEach((p) => fs.rmSync(gateOf(p), { force: true })));

  /** Jobs are found by what they train on: another `epochs` makes jobs no earlier test created. */
  const input = async (
    runId: string,
    epochs: number,
    { command = serverCommand, serverProvider = 'merged', warmUp = false } = {},
  ): Promise<SemievolRunInput> => {
    const providers: ProvidersConfig = {
      together: provider(double.togetherBaseURL),
      'local-vllm': provider(double.baseURL),
      merged: provider(`http://127.0.0.1:${port}/v1`),
      // A port something else already answers on.
      busy: provider(double.baseURL),
    };
    return {
      runId,
      task: 'fpb',
      providers,
      model: { provider: 'local-vllm', model: 'sim-model' },
      data: {
        labeled: await deps.store.writeJsonl(labeled),
        unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
        unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
        test: await deps.store.writeJsonl(test),
      },
      fineTune: {
        backend: {
          kind: 'together',
          baseURL: double.togetherBaseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          provider: 'together',
          pollIntervalSeconds: 0.1,
          serve: 'download',
          download: {
            checkpoint: 'merged',
            server: {
              command,
              provider: serverProvider,
              ...(warmUp ? { ports } : {}),
              startTimeoutSeconds: 120,
              stopGraceSeconds: 5,
            },
          },
        },
        hyperparameters: { epochs },
        finalHyperparameters: { epochs },
      },
      options: semievolOptionsSchema.parse({
        propagation: { k: 0 },
        collaboration: { maxTokens: 32 },
        justification: { maxTokens: 32 },
        without: warmUp ? [] : ['in-weight-propagation'],
      }),
      sampling: { temperature: 0, maxTokens: 32, seed: 5 },
      execution: { shardSize: 10, parallelShards: 2 },
    };
  };

  /** The recorded server of a run's checkpoint: its process group's leader and its log. */
  const recordOf = (runId: string, name: string) => path.join(deps.jobsDir, 'checkpoint-servers', runId, name);
  const pgidOf = (runId: string, name: string) =>
    Number(fs.readFileSync(path.join(recordOf(runId, name), 'pid'), 'utf8'));
  const requestsServedOn = (port: number): RequestLogEntry[] =>
    fs
      .readFileSync(requestLogOf(port), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  /** The pids recorded so far under a run's servers, by checkpoint. */
  const startedServers = (runId: string): Map<string, number> => {
    const servers = path.join(deps.jobsDir, 'checkpoint-servers', runId);
    const names = fs.existsSync(servers) ? fs.readdirSync(servers) : [];
    return new Map(
      names.filter((name) => fs.existsSync(path.join(servers, name, 'pid'))).map((name) => [name, pgidOf(runId, name)]),
    );
  };

  it('starts the server once, calls the merged model there, and stops it at the end', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tm-${Date.now() % 1e7}`;
    try {
      const result: SemievolRunResult = await worker.run(async () =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 1)],
        }),
      );
      const evolved = result.models.evolved;
      expect(evolved).toMatchObject({ provider: 'merged', server: { runId, name: evolved.model } });
      expect(evolved.model).toMatch(/^ft-.*-merged$/);
      expect(result.models.warm).toBeNull();
      expect(result.evaluations.semievol.model.model).toBe(evolved.model);

      // Started once, on the unpacked merged model; stopped, its whole group gone.
      const record = recordOf(runId, evolved.model);
      const log = fs.readFileSync(path.join(record, 'server.log'), 'utf8');
      const jobId = evolved.model.replace(/-merged$/, '');
      const unpacked = path.join(deps.jobsDir, 'together-checkpoints', jobId, 'merged', 'checkpoint');
      expect(log.match(/^loading .* as .*$/gm)).toEqual([`loading ${unpacked} as ${evolved.model}`]);
      expect(groupAlive(pgidOf(runId, evolved.model))).toBe(false);
      await expect(fetch(`http://127.0.0.1:${port}/v1/models`)).rejects.toThrow();

      const chats = requestsServedOn(port).filter((r) => r.path === '/v1/chat/completions');
      expect(chats.length).toBeGreaterThanOrEqual(test.length);
      expect(chats.every((r) => r.model === evolved.model && r.status === 200)).toBe(true);
    } finally {
      await close();
    }
  });

  it('stops the server when the run is cancelled while the server starts', async () => {
    fs.writeFileSync(gateOf(port), 'held until the test removes it');
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tmc-${Date.now() % 1e7}`;
    const servers = path.join(deps.jobsDir, 'checkpoint-servers', runId);
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 2)],
        });
        // The server is started once its pid is recorded; it cannot list the model while the gate stands.
        let pidFile: string | undefined;
        while (!pidFile) {
          const started = fs.existsSync(servers) ? fs.readdirSync(servers) : [];
          pidFile = started.map((n) => path.join(servers, n, 'pid')).find((file) => fs.existsSync(file));
          if (!pidFile) await sleep(50);
        }
        const pgid = Number(fs.readFileSync(pidFile, 'utf8'));
        expect(groupAlive(pgid)).toBe(true);
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
        expect(groupAlive(pgid)).toBe(false);
      });
    } finally {
      await close();
    }
  });

  it('fails the run with the tail of its log when the server exits before listing the model', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tmx-${Date.now() % 1e7}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 3, { command: 'echo "loading {dir}"; echo "CUDA out of memory" >&2; exit 1' })],
        });
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      const history = JSON.stringify(await client.workflow.getHandle(runId).fetchHistory());
      expect(history).toMatch(/the server exited before listing ft-[^"]*-merged:\\n[^"]*CUDA out of memory/);
    } finally {
      await close();
    }
  });

  it('starts no server on a port that already answers, failing the run in one sentence', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tmb-${Date.now() % 1e7}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 4, { serverProvider: 'busy' })],
        });
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      const history = JSON.stringify(await client.workflow.getHandle(runId).fetchHistory());
      expect(history).toMatch(
        /already answers \(listing [^)]*sim-model[^)]*\): the server of a merged checkpoint needs/,
      );
      expect(fs.existsSync(path.join(deps.jobsDir, 'checkpoint-servers', runId))).toBe(false);
    } finally {
      await close();
    }
  });

  it('serves M_warm and M_evol each on its own port of server.ports, and stops both at the end', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tmw-${Date.now() % 1e7}`;
    try {
      const result: SemievolRunResult = await worker.run(async () =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 5, { warmUp: true })],
        }),
      );
      const { warm, evolved } = result.models;
      const baseURLs = ports.map((p) => `http://127.0.0.1:${p}/v1`);
      expect(warm).toMatchObject({ provider: 'merged', server: { runId, name: warm!.model, baseURL: baseURLs[0] } });
      expect(evolved).toMatchObject({
        provider: 'merged',
        server: { runId, name: evolved.model, baseURL: baseURLs[1] },
      });
      expect(warm!.model).not.toBe(evolved.model);

      // Each server was started once, on its own checkpoint, and its whole group is gone.
      for (const model of [warm!, evolved]) {
        const log = fs.readFileSync(path.join(recordOf(runId, model.model), 'server.log'), 'utf8');
        expect(log.match(/^loading .* as .*$/gm)).toHaveLength(1);
        expect(log).toContain(` as ${model.model}`);
        expect(groupAlive(pgidOf(runId, model.model))).toBe(false);
      }
      for (const baseURL of baseURLs) await expect(fetch(`${baseURL}/models`)).rejects.toThrow();

      // M_warm's evaluation reached the first server only, M_evol's the second only.
      for (const [i, model] of [warm!, evolved].entries()) {
        const chats = requestsServedOn(ports[i]).filter((r) => r.path === '/v1/chat/completions');
        expect(chats.length).toBeGreaterThanOrEqual(test.length);
        expect(chats.every((r) => r.model === model.model && r.status === 200)).toBe(true);
      }
    } finally {
      await close();
    }
  });

  it("stops both servers when the run is cancelled while M_evol's starts", async () => {
    fs.writeFileSync(gateOf(ports[1]), 'held until the test removes it');
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tmwc-${Date.now() % 1e7}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 6, { warmUp: true })],
        });
        // M_warm's server answers; M_evol's is started (its pid recorded) and held at its gate, unable to list.
        // (Or the run ended first, failing this test rather than waiting on.)
        while (startedServers(runId).size < 2 && (await handle.describe()).status.name === 'RUNNING') await sleep(50);
        const groups = [...startedServers(runId).values()];
        expect(groups).toHaveLength(2);
        expect(groups.every(groupAlive)).toBe(true);
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
        expect(groups.filter(groupAlive)).toEqual([]);
      });
    } finally {
      await close();
    }
  });
});
