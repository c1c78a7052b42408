// Steering a running run: `flt pause`, `unpause`, `approve` and `budget`. Pause and unpause are signals to the run and
// to every stage workflow running under it, so a paused run starts no new shard, round or stage until unpaused
// (steps already in flight finish); approve is a signal to the run; budget is an update, answered with the new state.
import type { Client } from '@temporalio/client';
import { readRunTree } from '../lib/run-tree';
import {
  approveSignal,
  controlQuery,
  pauseSignal,
  raiseBudgetUpdate,
  uncontrolledWorkflowTypes,
  unpauseSignal,
  type ControlState,
} from '../core/workflow-messages';
import { connect, UserError } from './connection';
import { formatUsd } from './watch-view';

/** How long to wait for a worker to take a signal, or to answer an update, before saying none is running. */
const workerWaitMs = 10_000;

async function requireRunning(client: Client, runId: string): Promise<void> {
  const { status } = await client.workflow.getHandle(runId).describe();
  if (status.name !== 'RUNNING')
    throw new UserError(`Run ${runId} is ${status.name}; only a running run can be steered.`);
}

/** Polls the control query until `done` holds; false when no worker answers in time (signals wait for one). */
async function confirm(client: Client, workflowId: string, done: (state: ControlState) => boolean): Promise<boolean> {
  const deadline = Date.now() + workerWaitMs;
  while (Date.now() < deadline) {
    const state = await client
      .withDeadline(deadline, () => client.workflow.getHandle(workflowId).query(controlQuery))
      .catch(() => null);
    if (state && done(state)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/**
 * Pauses or unpauses a workflow, then each running child under it. The parent is confirmed paused before its children
 * are listed, so a child it started in the meantime is listed too; a parent starts no new one while paused. Without a
 * worker nothing is confirmed (or started), and the signals wait in the histories.
 */
async function setPaused(
  client: Client,
  workflowId: string,
  paused: boolean,
  withWorker = true,
): Promise<{ workflows: number; confirmed: boolean }> {
  await client.workflow.getHandle(workflowId).signal(paused ? pauseSignal : unpauseSignal);
  const confirmed = withWorker && (await confirm(client, workflowId, (s) => s.paused === paused));
  const { children } = await readRunTree(client, workflowId, { queries: false });
  let workflows = 1;
  for (const child of children) {
    if (uncontrolledWorkflowTypes.includes(child.type) || child.status !== 'RUNNING') continue;
    workflows += (await setPaused(client, child.workflowId, paused, confirmed)).workflows;
  }
  return { workflows, confirmed };
}

const noWorker = (runId: string) =>
  'no worker has taken it yet; it takes effect when one runs (`npm run worker`), ' +
  `and \`flt watch ${runId}\` shows when.`;

/** `flt pause <runId>`. */
export async function pauseCommand(runId: string): Promise<void> {
  const client = await connect();
  await requireRunning(client, runId);
  const { workflows, confirmed } = await setPaused(client, runId, true);
  console.log(
    `paused ${runId} and ${workflows - 1} running stage workflow(s): ` +
      `no new paid step starts until \`flt unpause ${runId}\`; steps in flight finish.`,
  );
  if (!confirmed) console.log(`The pause is recorded, but ${noWorker(runId)}`);
}

/** `flt unpause <runId>`. */
export async function unpauseCommand(runId: string): Promise<void> {
  const client = await connect();
  await requireRunning(client, runId);
  const { workflows, confirmed } = await setPaused(client, runId, false);
  console.log(`unpaused ${runId} and ${workflows - 1} running stage workflow(s).`);
  if (!confirmed) console.log(`The unpause is recorded, but ${noWorker(runId)}`);
}

/** `flt approve <runId>`. */
export async function approveCommand(runId: string, opts: { stage?: string }): Promise<void> {
  const client = await connect();
  await requireRunning(client, runId);
  const handle = client.workflow.getHandle(runId);
  const state = await client
    .withDeadline(Date.now() + workerWaitMs, () => handle.query(controlQuery))
    .catch(() => null);
  const stage = opts.stage ?? state?.awaiting?.stage;
  if (!stage) {
    throw new UserError(
      state
        ? `Run ${runId} is not waiting for approval; name a stage with --stage to approve it before it asks.`
        : `No worker answered for run ${runId}, so which stage waits is unknown; ` +
            'name it with --stage, or start a worker (`npm run worker`).',
    );
  }
  await handle.signal(approveSignal, stage);
  const started = await confirm(client, runId, (s) => s.awaiting?.stage !== stage);
  console.log(
    started || opts.stage
      ? `approved stage "${stage}" of ${runId}.`
      : `approved stage "${stage}" of ${runId}; ${noWorker(runId)}`,
  );
}

/** `flt budget <runId>`. */
export async function budgetCommand(runId: string, opts: { usd?: number; tokens?: number }): Promise<void> {
  if (opts.usd === undefined && opts.tokens === undefined)
    throw new UserError('Give --usd and/or --tokens: the new budget.');
  const client = await connect();
  await requireRunning(client, runId);
  const limits = {
    ...(opts.usd !== undefined && { usd: opts.usd }),
    ...(opts.tokens !== undefined && { tokens: Math.round(opts.tokens) }),
  };
  const state = await client
    .withDeadline(Date.now() + workerWaitMs, () =>
      client.workflow.getHandle(runId).executeUpdate(raiseBudgetUpdate, { args: [limits] }),
    )
    .catch((err) => {
      throw new UserError(
        `Run ${runId} did not take the new budget (${err?.message ?? err}); ` +
          'is a worker running (`npm run worker`)?',
      );
    });
  const budget = [
    state.limits.usd !== undefined && formatUsd(state.limits.usd),
    state.limits.tokens !== undefined && `${state.limits.tokens} tokens`,
  ]
    .filter(Boolean)
    .join(' and ');
  console.log(
    `budget of ${runId}: ${budget}; spent ${formatUsd(state.spent.usd)} and ${state.spent.tokens} tokens so far.`,
  );
  if (state.awaiting) console.log(`stage "${state.awaiting.stage}" still waits: ${state.awaiting.reason}.`);
}

/** `flt cancel <runId>`: the run's cancellation handlers cancel its remote fine-tune jobs. */
export async function cancelCommand(runId: string): Promise<void> {
  await (await connect()).workflow.getHandle(runId).cancel();
  console.log(`cancellation requested for ${runId}`);
}
