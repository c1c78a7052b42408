// The queries, signals and update that workflows answer and clients (the CLI, the run tree, tests) send, with the
// state they carry. Their names are in recorded histories and used by running clients: never rename them.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BudgetLimits, Spent, StageEstimate } from './estimate';
import type { FineTuneJobDeparture, FineTuneJobWaiter, StageItemFailures } from './contracts';
import type { ArtifactRef, FineTuneJobState, StageUsage } from './types';

export interface StageProgress {
  stage: string;
  /** Steps (shards, rounds, child stages) finished, of `total`. */
  done: number;
  total: number;
  /** For sharded stages: the items (questions, test items) in finished shards, of all the stage's items. */
  items?: { done: number; total: number };
  /** Items the provider refused in this stage, keyed the way `flt result` names them; absent when none did. */
  itemFailures?: StageItemFailures;
}

export interface RunProgress {
  stage: string;
  stages: StageProgress[];
  usage: StageUsage;
  /** Each finished stage's usage, where the workflow keeps a ledger (`flt watch` shows their prompt-cache shares). */
  costs?: StageCost[];
}

export const progressQuery = defineQuery<RunProgress>('progress');

/** A run's budget as the CLI starts it: the config's limits and the estimate per stage made from its data. */
export interface BudgetPlan {
  limits: BudgetLimits;
  /** Every fine-tune stage waits for `flt approve`, whatever it costs. */
  approveFineTunes: boolean;
  stages: StageEstimate[];
}

export interface AwaitingApproval {
  stage: string;
  /** `fine-tune`: the run asks before every fine-tune; `budget`: the stage would cross the budget. */
  kind: 'fine-tune' | 'budget';
  reason: string;
  estimate: StageEstimate;
}

/** A fine-tune stage waiting for the operator's accept/reject decisions on the items it would train on. */
export interface AwaitingReview {
  /** The fine-tune stage that waits: SemiEvol's `evolve`, SELF-GUIDE's `fine-tune`. */
  stage: string;
  /** What the items are: `pseudo-labels` (SemiEvol's selected) or `synthetic pairs` (SELF-GUIDE's). */
  what: string;
  /** Items awaiting a decision. */
  items: number;
  /** The items as `flt review --export` writes them (core/review.ts). */
  artifact: ArtifactRef;
}

/** The operator's decisions, as `flt review --apply` sends them once it has checked the file. */
export interface AppliedReview {
  stage: string;
  /** One `{id, decision}` line per item under review. */
  decisions: ArtifactRef;
  accepted: number;
  rejected: number;
}

export interface ControlState {
  paused: boolean;
  /** The stage waiting for `flt approve` or a raised budget; null when none is. */
  awaiting: AwaitingApproval | null;
  /** The stage waiting for `flt review --apply`; absent or null when none is (absent in runs from before review). */
  review?: AwaitingReview | null;
  limits: BudgetLimits;
  /** Measured calls plus `training`. */
  spent: Spent;
  /** The estimated training of the fine-tunes started so far: providers do not report what a job cost. */
  training: Spent;
  /** The whole run's estimate when it started; null when it was started without one. */
  estimate: { usd: number; tokens: number } | null;
  approved: string[];
}

/** Measured usage per stage, with the estimate it was let through on (training cost is only ever estimated). */
export interface StageCost {
  stage: string;
  usage: StageUsage;
  estimate: StageEstimate | null;
}

export const pauseSignal = defineSignal('pause');
export const unpauseSignal = defineSignal('unpause');
/** Approves the named stage, or the one waiting when no name is given. */
export const approveSignal = defineSignal<[stage?: string]>('approve');
export const raiseBudgetUpdate = defineUpdate<ControlState, [BudgetLimits]>('raiseBudget');
/** Ends the review the run waits on: it trains on the accepted items. */
export const applyReviewUpdate = defineUpdate<void, [AppliedReview]>('applyReview');
export const controlQuery = defineQuery<ControlState>('control');

/** Workflow types that take no operator signals: a fine-tune child only waits on its job, which pausing won't stop. */
export const uncontrolledWorkflowTypes: readonly string[] = ['fineTune'];

/** What the operator can do about a waiting stage. */
export function approvalHint(runId: string, awaiting: Pick<AwaitingApproval, 'kind'>): string {
  return awaiting.kind === 'budget'
    ? `Run \`flt approve ${runId}\` for this stage, or raise the budget with \`flt budget ${runId} --usd <dollars>\`.`
    : `Run \`flt approve ${runId}\`.`;
}

/** What the operator does about a review the run waits on. */
export function reviewHint(runId: string): string {
  return (
    `Run \`flt review ${runId} --export FILE\`, mark each item "accept" or "reject", ` +
    `then \`flt review ${runId} --apply FILE\`.`
  );
}

// A fine-tune job's owner workflow (workflows/fine-tune-job.ts) and the runs waiting on its job.

/** Joins the job's waiters, creating the job first unless a live or succeeded one exists; answers the job. */
export const attachToJobUpdate = defineUpdate<FineTuneJobState, [FineTuneJobWaiter]>('attachToJob');
/** Leaves the job's waiters; the last one to leave by cancellation has the job cancelled at its provider. */
export const detachFromJobUpdate = defineUpdate<void, [FineTuneJobDeparture]>('detachFromJob');

export interface JobWaiters {
  /** The workflow ids of the runs waiting on the job. */
  waiters: string[];
  /** Attaches and cancels waiting for the one before them to finish. */
  queued: number;
}

export const jobWaitersQuery = defineQuery<JobWaiters>('jobWaiters');
