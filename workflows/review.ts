// Human review before a fine-tune (`review: true` in the config): the run writes the items it would train on, waits
// until `flt review --apply` sends the operator's decisions (unless decisions on the very same items are recorded),
// and trains on the accepted items only. The wait is one condition on the run's update handler: a run may wait for
// days, and the wait itself adds only the update and the two FltStage upserts around it.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SelectionResult, SyntheticDataResult } from '../core/contracts';
import type { ReviewOutcome } from '../core/review';
import type { SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import type { ArtifactRef } from '../core/types';
import type { AppliedReview } from '../core/workflow-messages';
import { dataStep } from './activity-options';
import type { runControl } from './control';

type Control = ReturnType<typeof runControl>;

const step = (summary: string) => proxyActivities<Activities>({ ...dataStep, summary });

/** The decisions already made on these very items, as by the run a resumed one started from; null when none are. */
async function recorded(items: ArtifactRef, stage: string): Promise<AppliedReview | null> {
  const earlier = await step('review: look for decisions already made on these items').recordedReview({ items });
  return earlier && { stage, ...earlier };
}

/** Reviewed selection: SemiEvol's `evolve` trains on the pseudo-labels the operator accepted. */
export async function reviewPseudoLabels(
  control: Control,
  run: { runId: string; unlabeled: ArtifactRef },
  selection: SelectionResult,
): Promise<SelectionResult & { review: ReviewOutcome }> {
  const stage = 'evolve';
  const items = await step(
    `review: write the ${selection.counts.selected} selected pseudo-labels for the operator`,
  ).semievolReviewItems({ runId: run.runId, stage, selected: selection.selected, questions: run.unlabeled });
  const applied =
    (await recorded(items, stage)) ??
    (await control.review({ stage, what: 'pseudo-labels', items: items.count, artifact: items }));
  const selected = await step(`review: keep the ${applied.accepted} accepted pseudo-labels`).acceptedItems({
    runId: run.runId,
    stage,
    source: selection.selected,
    items,
    decisions: applied.decisions,
  });
  const review = { accepted: applied.accepted, rejected: applied.rejected, decisions: applied.decisions };
  return { ...selection, selected, counts: { ...selection.counts, selected: applied.accepted }, review };
}

/** Reviewed synthetic data: SELF-GUIDE's fine-tune and Self-ICL use the pairs the operator accepted. */
export async function reviewSyntheticPairs(
  control: Control,
  run: { runId: string; task: SelfGuideTaskDefinition; maxExampleTokens: number },
  synthetic: SyntheticDataResult,
): Promise<SyntheticDataResult & { review: ReviewOutcome }> {
  const stage = 'fine-tune';
  const items = await step(
    `review: write the ${synthetic.pairs.count} synthetic pairs for the operator`,
  ).selfGuideReviewItems({ runId: run.runId, stage, pairs: synthetic.pairs });
  const applied =
    (await recorded(items, stage)) ??
    (await control.review({ stage, what: 'synthetic pairs', items: items.count, artifact: items }));
  const keep = step(`review: keep the ${applied.accepted} accepted synthetic pairs`);
  const pairs = await keep.acceptedItems({
    runId: run.runId,
    stage,
    source: synthetic.pairs,
    items,
    decisions: applied.decisions,
  });
  const { training, tooLongToTrain } = await keep.syntheticTrainingSet({
    runId: run.runId,
    stage,
    task: run.task,
    pairs,
    maxExampleTokens: run.maxExampleTokens,
  });
  const review = { accepted: applied.accepted, rejected: applied.rejected, decisions: applied.decisions };
  return { ...synthetic, pairs, training, tooLongToTrain, review };
}
