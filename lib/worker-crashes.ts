// An activity whose attempt kills its worker (out of heap on a huge item, a native crash) would otherwise be retried
// for ever while the run shows running. Every attempt is noted in a small ledger before it runs and cleared when it
// ends in this process, however it ends; an attempt still noted when the next one starts died with its worker (a
// restarted worker failed it, or its heartbeat or start-to-close timeout did). Once an activity's worker has died
// `limit` times, its next attempt fails for good, saying so. Failures a provider causes end their attempt normally, so
// they keep their own retry policy.
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

/** The failure type of an activity whose worker kept dying: not retried. */
export const WorkerCrashLoop = 'WorkerCrashLoop';

/** `FLT_MAX_WORKER_CRASHES`: how many times an activity's worker may die running it (default 10). */
export function maxWorkerCrashes(env: NodeJS.ProcessEnv = process.env): number {
  const limit = Number(env.FLT_MAX_WORKER_CRASHES);
  return Number.isInteger(limit) && limit > 0 ? limit : 10;
}

interface LedgerEntry {
  /** Attempts whose worker died. */
  crashes: number;
  /** The attempt running now, if any. */
  running: number | null;
}

/** The activity and, when its input names them, the stage, shard or round it worked on. */
function describeWork(activityType: string, input: unknown): string {
  const { stage, shard, round } = (input ?? {}) as {
    stage?: unknown;
    shard?: { index?: unknown; of?: unknown };
    round?: unknown;
  };
  const parts = [
    typeof stage === 'string' ? stage : null,
    typeof shard?.index === 'number' ? `shard ${shard.index + 1} of ${shard.of}` : null,
    typeof round === 'number' ? `round ${round}` : null,
  ].filter((part): part is string => part !== null);
  return parts.length ? `${activityType} (${parts.join(', ')})` : activityType;
}

async function readEntry(file: string): Promise<LedgerEntry> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { crashes: 0, running: null };
  }
  try {
    return JSON.parse(text) as LedgerEntry;
  } catch {
    // Written in place by an older worker that was killed mid-write: that kill is the one crash it can still count.
    return { crashes: 1, running: null };
  }
}

/**
 * Replaced whole (a renamed temporary file), so a worker killed while writing leaves the previous entry intact.
 * Attempts of one activity rarely overlap, so the temporary name is fixed: a killed writer's leftover is overwritten.
 */
async function writeEntry(file: string, entry: LedgerEntry): Promise<void> {
  const temporary = `${file}.tmp`;
  await writeFile(temporary, JSON.stringify(entry));
  await rename(temporary, file);
}

/** Counts attempts that died with their worker in `dir`, one small file per activity that has one running. */
export function workerCrashLimit(dir: string, limit: number): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const { info } = ctx;
        const key = [
          info.namespace,
          info.workflowExecution?.workflowId,
          info.workflowExecution?.runId,
          info.activityId,
        ];
        const file = path.join(dir, `${createHash('sha256').update(key.join('\n')).digest('hex')}.json`);
        const noted = await readEntry(file);
        const crashes = noted.crashes + (noted.running !== null ? 1 : 0);
        if (crashes >= limit) {
          await rm(file, { force: true });
          throw ApplicationFailure.nonRetryable(
            `${describeWork(info.activityType, input.args[0])}: its worker died ${crashes} times running it ` +
              `(FLT_MAX_WORKER_CRASHES is ${limit}); check the sizes of its items (a dataset's maxItemChars) and the ` +
              `worker's heap (FLT_WORKER_HEAP_MB) and memory`,
            WorkerCrashLoop,
          );
        }
        await mkdir(dir, { recursive: true });
        await writeEntry(file, { crashes, running: info.attempt });
        try {
          const result = await next(input);
          await rm(file, { force: true });
          return result;
        } catch (err) {
          // Ended here, so not a crash; only past crashes are worth remembering for a retry.
          if (crashes) await writeEntry(file, { crashes, running: null });
          else await rm(file, { force: true });
          throw err;
        }
      },
    },
  });
}
