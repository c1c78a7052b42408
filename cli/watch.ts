// `flt watch <runId>`: a live view of a run in the terminal, redrawn every few seconds until the run ends. It reads
// the run through Temporal only (describe, queries, the fine-tune children's short histories), so it works on a run
// started anywhere.
import type { Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { readRunTree, flatten, type RunNode } from '../lib/run-tree';
import { uiLink } from '../lib/temporal';
import { connect, UserError } from './connection';
import { printResult } from './result';
import { fitToWidth, formatDuration, ProgressRates, renderFrame, SeenChildren, SpentHighWater } from './watch-view';

export interface WatchOptions {
  intervalMs: number;
  /** One frame, then return. */
  once?: boolean;
  out?: NodeJS.WriteStream;
}

/** Keeps each fine-tune job's events across frames: a heartbeat carries only the latest. */
function rememberJobEvents(root: RunNode, seen: Map<string, string[]>): void {
  for (const node of flatten(root)) {
    const job = node.fineTuneJob;
    if (!job) continue;
    const events = seen.get(job.jobId) ?? [];
    for (const e of job.events) if (!events.includes(e)) events.push(e);
    seen.set(job.jobId, events);
    job.events = events;
  }
}

/** Draws the run until it ends (or once); returns its final Temporal status. */
export async function watchRun(client: Client, runId: string, opts: WatchOptions): Promise<string> {
  const out = opts.out ?? process.stdout;
  const { startTime } = await client.workflow.getHandle(runId).describe();
  const rates = new ProgressRates();
  const spent = new SpentHighWater();
  const jobEvents = new Map<string, string[]>();
  const children = new SeenChildren();
  let previous = '';
  for (;;) {
    const live = await readRunTree(client, runId);
    rememberJobEvents(live, jobEvents);
    if (live.status !== 'RUNNING') {
      // A closed run answers no progress query: the last frame stays, and a line says how it ended.
      const { closeTime } = await client.workflow.getHandle(runId).describe();
      const elapsedSeconds = ((closeTime ?? new Date()).getTime() - startTime.getTime()) / 1000;
      out.write(`run ${runId} · ${live.type} · ${live.status} after ${formatDuration(elapsedSeconds)}\n`);
      if (live.failure) out.write(`reason: ${live.failure}\n`);
      return live.status;
    }
    // How each child that left the tree ended, read once; one that could not be read is tried again next frame.
    await Promise.all(
      children.gone(live).map(async (id) => {
        const closed = await readRunTree(client, id, { queries: false }).catch(() => null);
        if (closed) children.ended(id, closed);
      }),
    );
    const root = children.restore(live);
    const width = out.isTTY ? (out.columns ?? 160) : undefined;
    const lines = renderFrame({
      root,
      startedAt: startTime,
      link: uiLink(runId),
      now: Date.now(),
      rates,
      spent,
      width,
    });
    if (width !== undefined) {
      // Home and clear, then the frame.
      out.write(`\x1b[H\x1b[2J${fitToWidth(lines, width).join('\n')}\n`);
    } else {
      const frame = lines.join('\n');
      if (frame !== previous) out.write(`${frame}\n\n`);
      previous = frame;
    }
    if (opts.once) return live.status;
    await sleep(opts.intervalMs);
  }
}

/** After the view: the result's summary, or one sentence on how the run ended. */
export async function printOutcome(client: Client, runId: string, status: string): Promise<void> {
  const handle = client.workflow.getHandle(runId);
  if (status === 'COMPLETED') {
    const { type } = await handle.describe();
    printResult(runId, type, await handle.result(), false);
  } else if (status !== 'RUNNING') {
    throw new UserError(
      `Run ${runId} ended ${status}; \`flt status ${runId}\` and its Web UI page (${uiLink(runId)}) say why.`,
    );
  }
}

/** `flt watch <runId>`. */
export async function watchCommand(runId: string, opts: { interval: number; once?: boolean }): Promise<void> {
  const client = await connect();
  const status = await watchRun(client, runId, { intervalMs: opts.interval * 1000, once: opts.once });
  if (!opts.once) await printOutcome(client, runId, status);
}
