// Human review before a fine-tune: the items it would train on, written for `flt review --export`, and the items the
// operator accepted, in the format the stage reads. Review items and the stage's items are in the same order, one
// for one, so a decision finds its item by place whatever the item's own fields are.
import { InvalidInput, typedError } from '../core/errors';
import {
  reviewDecisionsName,
  selfGuideReviewItem,
  semievolReviewItem,
  type ReviewItem,
  type ReviewVerdict,
} from '../core/review';
import type { SelectedLine } from '../core/semievol';
import { trainingSet, type SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import type { ArtifactRef, IoExample, McqItem } from '../core/types';
import type { ActivityDeps } from './context';

export function reviewActivities({ store }: Pick<ActivityDeps, 'store'>) {
  return {
    /** SemiEvol's selected pseudo-labels with their questions, for review before `stage`. */
    async semievolReviewItems(input: {
      runId: string;
      stage: string;
      selected: ArtifactRef;
      questions: ArtifactRef;
    }): Promise<ArtifactRef> {
      const questions = new Map<string, McqItem>();
      for await (const item of store.readJsonl<McqItem>(input.questions)) questions.set(item.id, item);
      const items: ReviewItem[] = [];
      for await (const line of store.readJsonl<SelectedLine>(input.selected)) {
        const question = questions.get(line.id);
        if (!question) throw typedError(InvalidInput, `Selected pseudo-label ${line.id} has no question in D_U.`);
        items.push(semievolReviewItem(line, question));
      }
      return store.writeJsonl(items, `runs/${input.runId}/review/${input.stage}/items`);
    },

    /** SELF-GUIDE's synthetic pairs, for review before `stage`. */
    async selfGuideReviewItems(input: { runId: string; stage: string; pairs: ArtifactRef }): Promise<ArtifactRef> {
      const pairs = await store.readAll<IoExample>(input.pairs);
      return store.writeJsonl(pairs.map(selfGuideReviewItem), `runs/${input.runId}/review/${input.stage}/items`);
    },

    /** Decisions already recorded on exactly these items (a resumed run's), or null when none cover them all. */
    async recordedReview(input: {
      items: ArtifactRef;
    }): Promise<{ decisions: ArtifactRef; accepted: number; rejected: number } | null> {
      const decisions = await store.lookup(reviewDecisionsName(input.items));
      if (!decisions) return null;
      const verdicts = await store.readAll<ReviewVerdict>(decisions);
      const ids = new Set(verdicts.map((v) => v.id));
      const items = await store.readAll<ReviewItem>(input.items);
      if (verdicts.length !== items.length || items.some((item) => !ids.has(item.id))) return null;
      const accepted = verdicts.filter((v) => v.decision === 'accept').length;
      return { decisions, accepted, rejected: verdicts.length - accepted };
    },

    /** The lines of `source` whose review item (same place in `items`) the operator accepted. */
    async acceptedItems(input: {
      runId: string;
      stage: string;
      source: ArtifactRef;
      items: ArtifactRef;
      decisions: ArtifactRef;
    }): Promise<ArtifactRef> {
      const decided = new Map<string, ReviewVerdict['decision']>();
      for await (const v of store.readJsonl<ReviewVerdict>(input.decisions)) decided.set(v.id, v.decision);
      const items = await store.readAll<ReviewItem>(input.items);
      const source = await store.readAll<unknown>(input.source);
      const undecided = items.find((item) => !decided.has(item.id));
      if (source.length !== items.length || undecided)
        throw typedError(
          InvalidInput,
          `The review decisions of stage ${input.stage} do not match its ${items.length} items under review.`,
        );
      const accepted = source.filter((_, i) => decided.get(items[i].id) === 'accept');
      return store.writeJsonl(accepted, `runs/${input.runId}/review/${input.stage}/accepted`);
    },

    /** SELF-GUIDE's training file of reviewed pairs, built as stage 3 builds it from all of them. */
    async syntheticTrainingSet(input: {
      runId: string;
      stage: string;
      task: SelfGuideTaskDefinition;
      pairs: ArtifactRef;
      maxExampleTokens: number;
    }): Promise<{ training: ArtifactRef; tooLongToTrain: number }> {
      const { examples, tooLong } = trainingSet(
        input.task,
        await store.readAll<IoExample>(input.pairs),
        input.maxExampleTokens,
      );
      const training = await store.writeJsonl(examples, `runs/${input.runId}/review/${input.stage}/training`);
      return { training, tooLongToTrain: tooLong };
    },
  };
}
