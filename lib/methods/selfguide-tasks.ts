// SELF-GUIDE task folders as runs carry them: the task definition inline, its test split (first N lines) as an
// artifact; and as estimates read them.
import type { SelfGuideTaskData } from '../../core/selfguide-config';
import type { SelfGuideEstimateTask } from '../../core/selfguide-estimate';
import { withinAuthorsLimits } from '../../core/selfguide-test-items';
import type { SelfGuideTaskRun } from '../../workflows/selfguide-stages';
import type { ArtifactStore } from '../artifacts';
import { loadSelfGuideTask, type SelfGuideTask } from '../datasets';

/** Reads a configured task folder, with the split it scores, within the size limits its config sets. */
export const loadConfiguredTask = (data: SelfGuideTaskData, split: 'test' | 'validation' = 'test'): SelfGuideTask =>
  loadSelfGuideTask(data.path, limitsOf(data), split);

/** The read limits a task folder's config sets. */
export const limitsOf = (data: SelfGuideTaskData) => ({ maxBytes: data.maxBytes, maxItemChars: data.maxItemChars });

/**
 * The task with its split cut as `evaluation.longItems: drop` cuts it (before `testLimit`), and how many items that
 * left out; as read with `score` or no option.
 */
export function cutLongItems(
  loaded: SelfGuideTask,
  longItems: 'score' | 'drop' | undefined,
): { loaded: SelfGuideTask; longItemsDropped?: number } {
  if (longItems !== 'drop') return { loaded };
  const { kept, dropped } = withinAuthorsLimits(loaded, loaded.test);
  return { loaded: { ...loaded, test: kept }, longItemsDropped: dropped };
}

/** A loaded task and the test lines that will be scored, for estimates. */
export function scoredTask(loaded: SelfGuideTask, testLimit: number | undefined): SelfGuideEstimateTask {
  const { test, ...task } = loaded;
  return { task, test: test.slice(0, testLimit) };
}

/**
 * Stores the scored test lines; `read` is the task folder already read, when the caller has it. With
 * `longItems: drop`, the items over the authors' limits are left out first and counted.
 */
export async function storeSelfGuideTask(
  store: ArtifactStore,
  data: SelfGuideTaskData,
  testLimit: number | undefined,
  notes: string[],
  read: SelfGuideTask = loadConfiguredTask(data),
  split: 'test' | 'validation' = 'test',
  longItems?: 'score' | 'drop',
): Promise<SelfGuideTaskRun> {
  const { loaded, longItemsDropped } = cutLongItems(read, longItems);
  const { test, ...task } = loaded;
  const scored = test.slice(0, testLimit);
  const cut = longItemsDropped === undefined ? '' : ` (${longItemsDropped} over the authors' token limits left out)`;
  notes.push(
    `${task.name} (${task.kind}, ${task.metric}): ${task.examples.length} gold examples, ` +
      `${scored.length} of ${test.length} ${split} items scored${cut}` +
      (task.kind === 'classification' ? `, labels ${task.labels.join(', ')}` : ''),
  );
  return {
    task,
    test: await store.writeJsonl(scored),
    ...(longItemsDropped === undefined ? {} : { longItemsDropped }),
  };
}
