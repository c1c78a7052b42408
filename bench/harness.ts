// What every benchmark shares: a throwaway Temporal dev server, the provider test double, worker processes started
// from worker.ts (with a workflow bundle built once), synthetic multiple-choice data, and the measurements read
// back from the double's request log, workflow histories and /proc.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { datasetActivities } from '../activities/datasets';
import type { ActivityDeps } from '../activities/context';
import type { ProvidersConfig } from '../core/config';
import { semievolOptionsSchema } from '../core/semievol-config';
import { semievolPlan } from '../core/semievol';
import type { McqItem, ModelRef, ShardList, ShardResults } from '../core/types';
import { LocalArtifactStore } from '../lib/artifacts';
import { freePort, startDevServer, type DevServer } from '../lib/dev-server';
import { tsArgs, workerNodeArgs } from '../lib/ts-process';
import {
  startProviderDouble,
  type DoubleConfigPatch,
  type GoldItem,
  type ProviderDouble,
  type RequestLogEntry,
} from '../testdouble/launch';
import type { SemievolRunInput, SemievolRunResult } from '../workflows/semievol';
import type { CollaborateStageInput } from '../workflows/semievol-stages';
import { childId } from '../workflows/shared';

export const root = path.resolve(__dirname, '..');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const seconds = (ms: number) => ms / 1000;
/** The provider's API key variable in every worker's environment (the double accepts any key). */
const keyEnv = 'FLT_BENCH_KEY';

export interface BenchEnv {
  /** Everything of this bench run lives under here and is removed at the end. */
  dir: string;
  server: DevServer;
  client: Client;
  /** worker.ts reads it from FLT_WORKFLOW_BUNDLE: a worker then starts without bundling. */
  bundlePath: string;
  log(line: string): void;
  close(): Promise<void>;
}

/** A dev server on free ports with its SQLite file in a temporary folder, a client, and the workflow bundle. */
export async function startEnv(log: (line: string) => void): Promise<BenchEnv> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-bench-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.sqlite'),
  });
  let connection: Connection;
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  try {
    connection = await Connection.connect({ address: server.address });
    writeFileSync(
      bundlePath,
      (await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger })).code,
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    dir,
    server,
    client: new Client({ connection }),
    bundlePath,
    log,
    async close() {
      await connection.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

/** A data home (artifact store and response cache) of its own, so no benchmark finds another's cached calls. */
export function dataHome(env: BenchEnv, name: string): { home: string; store: LocalArtifactStore } {
  const home = path.join(env.dir, name);
  mkdirSync(home, { recursive: true });
  return { home, store: new LocalArtifactStore(path.join(home, 'artifacts')) };
}

export function startDouble(config: DoubleConfigPatch, gold?: GoldItem[]): Promise<ProviderDouble> {
  return startProviderDouble({ config, gold });
}

export function providersFor(
  double: ProviderDouble,
  limits: { maxConcurrency: number; requestsPerMinute?: number; tokensPerMinute?: number; cacheSalt?: string },
): ProvidersConfig {
  return {
    double: {
      kind: 'openai-compatible',
      baseURL: double.baseURL,
      apiKeyEnv: keyEnv,
      testDouble: true,
      requestTimeoutSeconds: 60,
      // gpt-4o-mini's list prices, for an illustrative cost.
      prices: { inputPerMillionTokens: 0.15, outputPerMillionTokens: 0.6, trainingPerMillionTokens: 0 },
      ...limits,
    },
  };
}

/** The double's answered chat calls (HTTP 200, no fault). */
export async function answeredChats(double: ProviderDouble): Promise<RequestLogEntry[]> {
  return (await double.requests()).filter(
    (r) => r.path === '/v1/chat/completions' && r.status === 200 && r.fault === null,
  );
}

export interface WorkerProcess {
  pid: number;
  /** Milliseconds from spawn until the worker polls its task queue. */
  ready: Promise<number>;
  /** Resident memory now and its peak (VmRSS, VmHWM), in MiB; null once the process is gone. */
  memory(): { rssMb: number; peakMb: number } | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * worker.ts in a process of its own (node with tsx's loader, so a SIGKILL reaches it), with the prebuilt workflow
 * bundle and, unless `nodeArgs` says otherwise, node started as `npm run worker` starts it.
 */
export function spawnWorker(
  env: BenchEnv,
  options: { home: string; taskQueue: string; extraEnv?: NodeJS.ProcessEnv; nodeArgs?: string[] },
): WorkerProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? workerNodeArgs({})), ...tsArgs(path.join(root, 'worker.ts'))],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.server.address,
        FLT_HOME: options.home,
        FLT_TASK_QUEUE: options.taskQueue,
        FLT_WORKFLOW_BUNDLE: env.bundlePath,
        [keyEnv]: 'bench',
        ...options.extraEnv,
      },
    },
  );
  const started = Date.now();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stderr!.on('data', keep);
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (/worker( \(\w+\))?: polling/.test(output)) resolve(Date.now() - started);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`worker exited (${code ?? signal}) before polling:\n${output}`)),
    );
  });
  ready.catch(() => undefined);
  return {
    pid: child.pid!,
    ready,
    memory: () => procMemory(child.pid!),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function procMemory(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Samples a process's peak resident memory every `everyMs` until stopped; VmHWM keeps the peak between samples. */
export function sampleMemory(worker: WorkerProcess, everyMs = 1000) {
  let peakMb = 0;
  const take = () => {
    const m = worker.memory();
    if (m) peakMb = Math.max(peakMb, m.peakMb, m.rssMb);
  };
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      take();
      clearInterval(timer);
      return peakMb;
    },
  };
}

/**
 * Synthetic multiple-choice questions: unique stems of about 25 words, 3 or 4 options, a gold letter. `answer` is
 * kept for the double's gold index; the benchmarks hand D_U to the stages without it.
 */
export function syntheticMcq(count: number, prefix: string, seed = 1): McqItem[] {
  const words = [
    'revenue',
    'margin',
    'guidance',
    'outlook',
    'dividend',
    'merger',
    'quarter',
    'forecast',
    'contract',
    'earnings',
    'capacity',
    'demand',
    'pricing',
    'supplier',
    'export',
    'layoffs',
    'expansion',
    'profit',
    'loss',
    'order',
  ];
  const subjects = [
    'The company',
    'The group',
    'Our bank',
    'The retailer',
    'The operator',
    'The mill',
    'The shipyard',
    'The insurer',
  ];
  const verbs = ['reported', 'expects', 'announced', 'confirmed', 'lowered', 'raised', 'signed', 'postponed'];
  let state = seed >>> 0 || 1;
  const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  return Array.from({ length: count }, (_, i) => {
    const clause = () =>
      `${pick(verbs)} a ${pick(words)} ${pick(words)} of ${(random() * 100).toFixed(1)} million euros`;
    const question =
      `${pick(subjects)} ${clause()}, and ${pick(subjects).toLowerCase()} ${clause()} in case ${prefix}-${i}. ` +
      'What is the sentiment of this news?';
    const options = random() < 0.5 ? ['positive', 'negative', 'neutral'] : ['positive', 'negative', 'neutral', 'mixed'];
    return {
      id: `${prefix}-${i}`,
      question,
      options,
      answer: String.fromCharCode(65 + Math.floor(random() * options.length)),
    };
  });
}

export const goldOf = (items: McqItem[]): GoldItem[] =>
  items.map((i) => ({
    question: i.question,
    answer: i.answer!,
    choices: i.options.map((_, k) => String.fromCharCode(65 + k)),
  }));
export const withoutAnswers = (items: McqItem[]) => items.map((i) => ({ ...i, answer: null }));

/** SemiEvol's collaborate stage for `unlabeled`: D_U sharded, neighbours from the real propagate stage (BM25). */
export async function collaborateInput(
  env: BenchEnv,
  opts: {
    store: LocalArtifactStore;
    taskQueue: string;
    runId: string;
    unlabeled: McqItem[];
    labeled: McqItem[];
    providers: ProvidersConfig;
    shardSize: number;
    parallelShards: number;
    seed: number;
  },
): Promise<CollaborateStageInput & { shards: ShardList; neighbours: ShardResults }> {
  const { store } = opts;
  const dataset = await store.writeJsonl(withoutAnswers(opts.unlabeled));
  const labeled = await store.writeJsonl(opts.labeled);
  const shards = await datasetActivities({ store } as unknown as ActivityDeps).listShards({
    dataset,
    shardSize: opts.shardSize,
    name: `runs/${opts.runId}/unlabeled/items`,
  });
  const execution = { shardSize: opts.shardSize, parallelShards: opts.parallelShards };
  const { neighbours } = await execute<{ neighbours: ShardResults }>(
    env,
    'propagateInContext',
    {
      taskQueue: opts.taskQueue,
      workflowId: `${opts.runId}--propagate`,
      args: [
        {
          runId: opts.runId,
          shards,
          providers: opts.providers,
          execution,
          retrieval: { pool: labeled, k: 3, retriever: { kind: 'bm25' as const } },
        },
      ],
    },
    5 * 60_000,
  );
  const plan = semievolPlan(semievolOptionsSchema.parse({}), opts.seed);
  const models: { base: ModelRef; warm: ModelRef } = {
    base: { provider: 'double', model: 'sim-model' },
    warm: { provider: 'double', model: 'sim-model-2' },
  };
  return {
    runId: opts.runId,
    shards,
    providers: opts.providers,
    execution,
    collaborators: plan.collaborators,
    models,
    labeled,
    neighbours,
    sampling: { temperature: 1, maxTokens: 1024, seed: opts.seed },
  };
}

export interface HistoryCost {
  workflowId: string;
  events: number;
  bytes: number;
  largestPayloadBytes: number;
}

/** A workflow's history as the server returns it: event count, encoded size, and its largest single payload. */
export async function historyCost(client: Client, workflowId: string): Promise<HistoryCost> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  let largest = 0;
  const visit = (value: unknown) => {
    if (!value || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const v = value as Record<string, unknown>;
    if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') {
      largest = Math.max(
        largest,
        temporal.api.common.v1.Payload.encode(v as temporal.api.common.v1.IPayload).finish().length,
      );
      return;
    }
    for (const child of Object.values(v)) visit(child);
  };
  visit(history.events);
  return {
    workflowId,
    events: history.events?.length ?? 0,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    largestPayloadBytes: largest,
  };
}

/** Largest number of entries whose `time` falls in any window [t, t + windowMs). */
export function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi] - sorted[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Runs `task` over `items` with at most `limit` in flight: the plain script's concurrency cap. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export interface SemievolRun {
  runId: string;
  input: SemievolRunInput;
  result: SemievolRunResult;
  ms: number;
}

/**
 * A whole SemiEvol run with the paper's and authors' defaults (n = 4, 1,024 tokens, self-justification),
 * fine-tunes on the double.
 */
export async function semievolInput(opts: {
  store: LocalArtifactStore;
  runId: string;
  unlabeled: McqItem[];
  labeled: McqItem[];
  test: McqItem[];
  providers: ProvidersConfig;
  shardSize: number;
  parallelShards: number;
  seed: number;
}): Promise<SemievolRunInput> {
  const { store } = opts;
  return {
    runId: opts.runId,
    task: 'bench',
    providers: opts.providers,
    model: { provider: 'double', model: 'sim-model' },
    data: {
      labeled: await store.writeJsonl(opts.labeled),
      unlabeled: await store.writeJsonl(withoutAnswers(opts.unlabeled)),
      unlabeledGold: await store.writeJsonl(opts.unlabeled.map(({ id, answer }) => ({ id, answer }))),
      test: await store.writeJsonl(opts.test),
    },
    fineTune: {
      backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.5 },
      hyperparameters: { epochs: 2 },
      finalHyperparameters: { epochs: 2 },
    },
    options: semievolOptionsSchema.parse({}),
    sampling: { temperature: 0, maxTokens: 256, seed: opts.seed },
    execution: { shardSize: opts.shardSize, parallelShards: opts.parallelShards },
  };
}

export async function runSemievol(
  env: BenchEnv,
  taskQueue: string,
  input: SemievolRunInput,
  deadlineMs = 20 * 60_000,
): Promise<SemievolRun> {
  const started = Date.now();
  const result: SemievolRunResult = await execute(
    env,
    'semievolRun',
    { taskQueue, workflowId: input.runId, args: [input] },
    deadlineMs,
  );
  return { runId: input.runId, input, result, ms: Date.now() - started };
}

/**
 * Runs a workflow to its result, or terminates it after `deadlineMs` and throws with the last failure of each of its
 * pending activities (a bench must end even when an activity keeps failing and Temporal keeps retrying it).
 */
export async function execute<T>(
  env: BenchEnv,
  workflowType: string,
  options: { taskQueue: string; workflowId: string; args: unknown[] },
  deadlineMs: number,
): Promise<T> {
  const handle = await env.client.workflow.start(workflowType, options);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
  try {
    const outcome = await Promise.race([handle.result() as Promise<T>, late]);
    if (outcome !== 'late') return outcome;
  } finally {
    clearTimeout(timer);
  }
  const stuck: string[] = [];
  for await (const run of env.client.workflow.list({
    query: `ExecutionStatus = "Running" AND TaskQueue = "${options.taskQueue}"`,
  })) {
    const { raw } = await env.client.workflow.getHandle(run.workflowId).describe();
    for (const a of raw.pendingActivities ?? [])
      stuck.push(
        `${run.workflowId} ${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? 'no failure'}`,
      );
  }
  await handle.terminate(`bench deadline of ${deadlineMs / 1000} s passed`);
  throw new Error(
    `${workflowType} ${options.workflowId} did not finish within ${deadlineMs / 1000} s.\n${stuck.join('\n')}`,
  );
}

/** The run's own history and each of its child workflows', by stage name. */
export async function semievolHistories(
  env: BenchEnv,
  run: SemievolRun,
): Promise<{ stage: string; cost: HistoryCost }[]> {
  const stages = [
    'warm-up',
    'propagate',
    'collaborate',
    'justify',
    'evolve',
    'evaluate-vanilla',
    'evaluate-sft',
    'evaluate-semievol',
    'evaluate-rag',
  ];
  const out = [{ stage: 'semievolRun (parent)', cost: await historyCost(env.client, run.runId) }];
  for (const stage of stages) out.push({ stage, cost: await historyCost(env.client, childId(run.runId, stage)) });
  return out;
}

/** One line of the summary table: what a benchmark's target is, what was measured, and whether it holds. */
export interface Verdict {
  benchmark: string;
  target: string;
  measured: string;
  met: boolean;
}
