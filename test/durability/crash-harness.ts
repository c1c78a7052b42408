// The crash harness: runs a method's config twice against the provider test double (deterministic ids) — once
// uninterrupted, once with its worker process SIGKILLed in every stage it passes through (after a seeded random
// number of provider requests into the stage), right after a fine-tune job is created and while one is polled —
// and reports what the kills cost. The caller asserts on the report.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { ChildProcess } from 'node:child_process';
import { spawnTs } from '../../lib/ts-process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { searchAttributes } from '../../core/search-attributes';
import { runConfigSchema } from '../../core/run-config';
import { seededRandom } from '../../core/stats';
import { LocalArtifactStore } from '../../lib/artifacts';
import { methodOf } from '../../lib/methods';
import {
  startProviderDouble,
  type DoubleConfigPatch,
  type GoldItem,
  type ProviderDouble,
  type RequestLogEntry,
} from '../support/provider-double';
import { temporalAddress } from '../support/temporal';
import { repeatsOf } from '../support/repeats';
import { describeStuckRun, tailOf } from '../support/stuck-run';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CrashRunOptions {
  runId: string;
  /** The run config; `provider` is the provider test double's block, to be put under `providers`. */
  config: (provider: Record<string, unknown>) => Record<string, unknown>;
  gold: GoldItem[];
  double?: DoubleConfigPatch;
  seed: number;
  /** Kills per stage (CI: 1; FLT_CRASH_KILLS_PER_STAGE for more). */
  killsPerStage: number;
  /** Calls in flight at most: the provider's maxConcurrency. */
  maxConcurrency: number;
}

export interface Kill {
  stage: string;
  reason: string;
  /** Provider requests seen when it happened. */
  atRequest: number;
  /** When the killed worker had exited. */
  at: number;
}

export interface CrashReport {
  kills: Kill[];
  reference: unknown;
  result: unknown;
  /** Successful model calls whose identical request had already succeeded before. */
  repeatedCalls: number;
  /** Of those, the ones whose first answer was not in flight at any kill: finished calls paid twice (must be 0). */
  repeatedFinishedCalls: number;
  /** Estimated: repeated calls times the reference run's mean tokens per call. */
  extraTokens: number;
  jobCreates: { reference: number; killed: number };
  uploads: { reference: number; killed: number };
  stagesSeen: string[];
}

let bundlePath: Promise<string> | undefined;
/** Workers restarted a dozen times should not bundle the workflows a dozen times. */
export function prebuiltBundle(): Promise<string> {
  bundlePath ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  }).then(({ code }) => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'flt-bundle-')), 'workflows.js');
    writeFileSync(file, code);
    return file;
  });
  return bundlePath;
}

const isChat = (r: RequestLogEntry) => /\/chat\/completions$/.test(r.path);
const answered = (log: RequestLogEntry[]) => log.filter((r) => isChat(r) && r.status === 200 && r.fault === null);
const count = (log: RequestLogEntry[], method: string, pattern: RegExp) =>
  log.filter((r) => r.method === method && pattern.test(r.path)).length;

/** A killed run that makes no progress (no provider request, no history event) for this long is stuck. */
const stuckAfterMs = 150_000;

class Lane {
  worker!: ChildProcess;
  /** Every worker of the lane writes here, so a stuck run can say what its workers said. */
  readonly workerLog: string;
  constructor(
    readonly home: string,
    readonly taskQueue: string,
    readonly double: ProviderDouble,
  ) {
    this.workerLog = path.join(home, 'workers.log');
  }

  async start(): Promise<void> {
    const log = openSync(this.workerLog, 'a');
    this.worker = spawnTs(path.join(root, 'worker.ts'), [], {
      cwd: root,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_HOME: this.home,
        FLT_TASK_QUEUE: this.taskQueue,
        FLT_CRASH_KEY: 'k',
        FLT_WORKFLOW_BUNDLE: await prebuiltBundle(),
      },
    });
    closeSync(log);
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    const worker = this.worker;
    if (worker.exitCode !== null || worker.signalCode !== null) return;
    worker.kill(signal);
    await new Promise((resolve) => worker.once('exit', resolve));
  }

  async startRun(client: Client, options: CrashRunOptions): Promise<WorkflowHandle> {
    const provider = {
      kind: 'openai-compatible',
      baseURL: this.double.baseURL,
      apiKeyEnv: 'FLT_CRASH_KEY',
      testDouble: true,
      maxConcurrency: options.maxConcurrency,
    };
    const config = runConfigSchema.parse(options.config(provider));
    const method = methodOf(config);
    const prepared = await method.prepare(config, new LocalArtifactStore(path.join(this.home, 'artifacts')));
    return client.workflow.start(method.workflowType, {
      taskQueue: this.taskQueue,
      workflowId: options.runId,
      args: [{ runId: options.runId, ...prepared.input }],
    });
  }
}

async function newLane(name: string, options: CrashRunOptions): Promise<Lane> {
  const double = await startProviderDouble({
    gold: options.gold,
    config: { ...options.double, deterministicIds: true },
  });
  return new Lane(
    mkdtempSync(path.join(os.tmpdir(), `flt-crash-${name}-`)),
    `crash-${name}-${process.pid}-${Date.now()}`,
    double,
  );
}

export async function crashRun(options: CrashRunOptions): Promise<CrashReport> {
  const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  const reference = await newLane('reference', options);
  const killed = await newLane('killed', options);
  try {
    await reference.start();
    const referenceResult = await (await reference.startRun(client, options)).result();
    await reference.stop('SIGTERM');
    const referenceLog = await reference.double.requests();

    await killed.start();
    const handle = await killed.startRun(client, options);
    const random = seededRandom(options.seed);
    const kills: Kill[] = [];
    const stagesSeen: string[] = [];
    let stage: string | null = null;
    let stageStart = 0;
    let killsInStage = 0;
    let nextKillAfter = 0;
    const triggers = [
      {
        reason: 'right after a fine-tune job was created',
        seen: (log: RequestLogEntry[]) => count(log, 'POST', /\/fine_tuning\/jobs$|\/fine-tunes$/) > 0,
      },
      {
        reason: 'while a fine-tune job was polled',
        seen: (log: RequestLogEntry[]) => count(log, 'GET', /\/fine_tuning\/jobs\/[^/]+$|\/fine-tunes\/[^/]+$/) > 0,
      },
    ];
    const kill = async (reason: string, atRequest: number) => {
      await killed.stop('SIGKILL');
      kills.push({ stage: stage ?? '', reason, atRequest, at: Date.now() });
      await killed.start();
    };

    let progress = '';
    let progressAt = Date.now();
    for (;;) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') break;
      const log = await killed.double.requests();
      const seen = `${log.length} ${description.historyLength}`;
      if (seen !== progress) [progress, progressAt] = [seen, Date.now()];
      else if (Date.now() - progressAt > stuckAfterMs)
        throw new Error(
          `the killed run made no progress for ${stuckAfterMs / 1000} s after kills ` +
            `${JSON.stringify(kills)}:\n${await describeStuckRun(client, options.runId)}\n` +
            `its workers said:\n${tailOf(killed.workerLog, 60)}`,
        );
      const now = description.typedSearchAttributes.get(searchAttributes.stage) ?? '';
      if (now !== stage) {
        stage = now;
        stagesSeen.push(stage);
        stageStart = log.length;
        killsInStage = 0;
        nextKillAfter = Math.floor(random() * 6); // 0: as soon as the stage is seen
      }
      const trigger = triggers.findIndex((t) => t.seen(log));
      if (trigger >= 0) {
        await kill(triggers[trigger].reason, log.length);
        triggers.splice(trigger, 1);
      } else if (killsInStage < options.killsPerStage && log.length - stageStart >= nextKillAfter) {
        await kill(`${nextKillAfter} requests into the stage`, log.length);
        killsInStage++;
        stageStart = log.length;
        nextKillAfter = Math.floor(random() * 6);
      }
      await sleep(25);
    }
    const result = await handle.result();
    await killed.stop('SIGTERM');
    const killedLog = await killed.double.requests();

    const { repeated, finishedRepeated } = repeatsOf(
      answered(killedLog),
      kills.map((k) => k.at),
    );
    // The double's log has no token counts: a repeated call costs what an average call of the reference run did.
    const usage = (referenceResult as { usage?: { calls: number; promptTokens: number; completionTokens: number } })
      .usage;
    const tokensPerCall = usage && usage.calls ? (usage.promptTokens + usage.completionTokens) / usage.calls : 0;
    return {
      kills,
      reference: referenceResult,
      result,
      repeatedCalls: repeated.length,
      repeatedFinishedCalls: finishedRepeated.length,
      extraTokens: Math.round(repeated.length * tokensPerCall),
      jobCreates: {
        reference: count(referenceLog, 'POST', /\/fine_tuning\/jobs$|\/fine-tunes$/),
        killed: count(killedLog, 'POST', /\/fine_tuning\/jobs$|\/fine-tunes$/),
      },
      uploads: {
        reference: count(referenceLog, 'POST', /\/files(\/upload)?$/),
        killed: count(killedLog, 'POST', /\/files(\/upload)?$/),
      },
      stagesSeen,
    };
  } finally {
    for (const lane of [reference, killed]) {
      if (lane.worker) await lane.stop('SIGKILL');
      await lane.double.stop();
    }
    await client.connection.close();
  }
}

/** A run's result without what legitimately differs between a killed and an uninterrupted run: what was paid. */
export function withoutUsage(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUsage);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'usage' && key !== 'costUsd')
      .map(([key, v]) => [key, withoutUsage(v)]),
  );
}
