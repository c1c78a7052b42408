// Operator control inside workflows: pause and unpause, the budget guard before each paid stage, approval and a raised
// budget, the stage ledger, and what the Temporal UI shows as current details. Operators send a few signals per run,
// so histories grow by a handful of events; nothing here adds a command while a run is neither paused nor stopped.
import { condition, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  crossedLimit,
  estimateTokens,
  rescale,
  spentOf,
  type BudgetLimits,
  type StageEstimate,
} from '../core/estimate';
import { searchAttributes } from '../core/search-attributes';
import { addUsage, emptyUsage, type StageUsage } from '../core/types';
import {
  applyReviewUpdate,
  approvalHint,
  approveSignal,
  controlQuery,
  pauseSignal,
  raiseBudgetUpdate,
  reviewHint,
  unpauseSignal,
  type AppliedReview,
  type AwaitingApproval,
  type AwaitingReview,
  type BudgetPlan,
  type ControlState,
  type StageCost,
} from '../core/workflow-messages';
import { usdText } from '../core/ui-text';

/**
 * Pause and unpause for a stage's child workflow: its shard loop calls `pausePoint()` before each paid step.
 * `pausedAtStart`: the stage continued as new while paused, and stays paused until `flt unpause`.
 */
export function pausable(pausedAtStart = false) {
  let paused = pausedAtStart;
  if (paused) setCurrentDetails('**Paused**: no new shard starts until `flt unpause`; shards already running finish.');
  setHandler(pauseSignal, () => {
    paused = true;
    setCurrentDetails('**Paused**: no new shard starts until `flt unpause`; shards already running finish.');
  });
  setHandler(unpauseSignal, () => {
    paused = false;
    setCurrentDetails('');
  });
  const nothing = { usd: 0, tokens: 0 };
  setHandler(controlQuery, () => ({
    paused,
    awaiting: null,
    limits: {},
    spent: nothing,
    training: nothing,
    estimate: null,
    approved: [],
  }));
  return {
    async pausePoint(): Promise<void> {
      if (paused) await condition(() => !paused);
    },
    /** Whether the stage is paused now: carried across continue-as-new. */
    isPaused: (): boolean => paused,
  };
}

/**
 * Operator control of a method's run workflow. Call `enter` as each stage begins (current details in the UI),
 * `beforePaidStep` before each paid stage (waits while paused, or while the stage needs approval), and `spend` with
 * each stage's measured usage (the ledger and the budget's running total).
 */
export function runControl(budget: BudgetPlan | undefined) {
  let paused = false;
  let awaiting: AwaitingApproval | null = null;
  let review: AwaitingReview | null = null;
  let applied: AppliedReview | null = null;
  let limits: BudgetLimits = { ...budget?.limits };
  let stage = 'queued';
  let details = '';
  const approved = new Set<string>();
  const ledger: StageCost[] = [];
  let training = { usd: 0, tokens: 0 };

  const total = () => ledger.reduce((sum, c) => addUsage(sum, c.usage), emptyUsage());
  const spent = () => spentOf(total(), training);
  const state = (): ControlState => ({
    paused,
    awaiting,
    review,
    limits,
    spent: spent(),
    training,
    estimate: budget
      ? {
          usd: budget.stages.reduce((s, e) => s + e.costUsd, 0),
          tokens: budget.stages.reduce((s, e) => s + estimateTokens(e), 0),
        }
      : null,
    approved: [...approved],
  });
  const runId = workflowInfo().workflowId;

  const showDetails = () => {
    const lines = [`**Stage**: ${stage}${details ? `: ${details}` : ''}`];
    if (paused) lines.unshift(`**Paused**: no new paid step starts until \`flt unpause ${runId}\`.`);
    if (review)
      lines.unshift(
        `**Awaiting review**: ${review.items} ${review.what} before stage "${review.stage}". ${reviewHint(runId)}`,
      );
    if (awaiting) lines.unshift(`**Awaiting approval**: ${awaiting.reason}. ${approvalHint(runId, awaiting)}`);
    const s = spent();
    const usdBudget = limits.usd !== undefined ? ` of a ${usdText(limits.usd)} budget` : '';
    const tokenBudget = limits.tokens !== undefined ? ` (token budget ${limits.tokens})` : '';
    lines.push(`**Spent**: ${usdText(s.usd)}, ${s.tokens} tokens${usdBudget}${tokenBudget}`);
    setCurrentDetails(lines.join('\n\n'));
  };
  // Only these transitions upsert: a run that is never paused or stopped for approval adds no command.
  const showStage = () => {
    upsertSearchAttributes([
      {
        key: searchAttributes.stage,
        value: paused ? 'paused' : awaiting ? 'awaiting-approval' : review ? 'awaiting-review' : stage,
      },
    ]);
    showDetails();
  };

  setHandler(pauseSignal, () => {
    paused = true;
    showStage();
  });
  setHandler(unpauseSignal, () => {
    paused = false;
    showStage();
  });
  setHandler(approveSignal, (name?: string) => {
    const which = name ?? awaiting?.stage;
    if (which) approved.add(which);
  });
  setHandler(
    raiseBudgetUpdate,
    (raised: BudgetLimits) => {
      limits = { ...limits, ...raised };
      showDetails();
      // The waiting stage goes on once this handler returns, if it now fits: say so already.
      const still = awaiting && !approved.has(awaiting.stage) ? approvalNeeded(awaiting.estimate) : null;
      return { ...state(), awaiting: awaiting && still ? { ...awaiting, ...still } : null };
    },
    {
      validator: (raised: BudgetLimits) => {
        for (const [key, value] of Object.entries(raised)) {
          if (!(typeof value === 'number' && value > 0))
            throw new Error(`budget.${key} must be a positive number, got ${JSON.stringify(value)}`);
        }
      },
    },
  );
  setHandler(
    applyReviewUpdate,
    (decisions: AppliedReview) => {
      applied = decisions;
    },
    {
      validator: (decisions: AppliedReview) => {
        if (!review || applied) throw new Error('The run is not waiting for a review.');
        if (decisions.stage !== review.stage)
          throw new Error(`The run waits for a review before stage "${review.stage}", not "${decisions.stage}".`);
        if (decisions.accepted + decisions.rejected !== review.items || decisions.decisions.count !== review.items)
          throw new Error(`The review needs a decision on each of its ${review.items} items.`);
      },
    },
  );
  setHandler(controlQuery, state);

  /** Why `estimate` may not start without an operator, or null. */
  const approvalNeeded = (estimate: StageEstimate): Pick<AwaitingApproval, 'kind' | 'reason'> | null => {
    if (estimate.fineTune && budget?.approveFineTunes) {
      return {
        kind: 'fine-tune',
        reason:
          `stage "${estimate.stage}" fine-tunes (about ${estimate.trainingTokens} training tokens, ` +
          `${usdText(estimate.trainingUsd)}), and this run asks before every fine-tune`,
      };
    }
    const crossed = crossedLimit(limits, spent(), estimate);
    if (crossed === 'usd') {
      return {
        kind: 'budget',
        reason:
          `stage "${estimate.stage}" is estimated at up to ${usdText(estimate.costUsd)}, which would bring the run ` +
          `to ${usdText(spent().usd + estimate.costUsd)}, over its ${usdText(limits.usd!)} budget`,
      };
    }
    if (crossed === 'tokens') {
      return {
        kind: 'budget',
        reason:
          `stage "${estimate.stage}" is estimated at up to ${estimateTokens(estimate)} tokens, which would bring the ` +
          `run to ${spent().tokens + estimateTokens(estimate)}, over its budget of ${limits.tokens} tokens`,
      };
    }
    return null;
  };

  /** A step in the current stage that pays (a shard, a round): waits while the run is paused. */
  const pausePoint = async (): Promise<void> => {
    if (!paused) return;
    showStage(); // the method may have moved FltStage on to a stage entered while paused
    await condition(() => !paused);
    showStage();
  };

  return {
    enter(name: string, stageDetails: string): void {
      stage = name;
      details = stageDetails;
      showDetails();
    },

    pausePoint,

    /**
     * Before a paid stage: waits while paused, and while the stage needs approval; `units` rescales the plan's
     * estimate.
     */
    async beforePaidStep(name: string, units?: number): Promise<void> {
      const planned = budget?.stages.find((e) => e.stage === name);
      const estimate = planned && units !== undefined ? rescale(planned, units) : planned;
      for (;;) {
        await pausePoint();
        const needed = estimate && !approved.has(name) ? approvalNeeded(estimate) : null;
        if (!needed) break;
        awaiting = { stage: name, ...needed, estimate: estimate! };
        showStage();
        await condition(() => paused || approved.has(name) || !approvalNeeded(estimate!));
        awaiting = null;
        showStage();
      }
      if (estimate?.fineTune)
        training = { usd: training.usd + estimate.trainingUsd, tokens: training.tokens + estimate.trainingTokens };
      if (estimate) ledger.push({ stage: name, usage: emptyUsage(), estimate });
    },

    /** Waits for the operator's decisions on the items `request.stage` would train on (`flt review`). */
    async review(request: AwaitingReview): Promise<AppliedReview> {
      review = request;
      applied = null;
      showStage();
      await condition(() => applied !== null);
      review = null;
      showStage();
      return applied!;
    },

    /** A stage's measured usage, added to its ledger line. */
    spend(name: string, usage: StageUsage): void {
      const line = ledger.find((c) => c.stage === name);
      if (line) line.usage = addUsage(line.usage, usage);
      else ledger.push({ stage: name, usage, estimate: null });
      showDetails();
    },

    /** Measured usage of every stage so far. */
    usage: total,
    costs: (): StageCost[] => ledger.map((c) => ({ ...c })),
  };
}
