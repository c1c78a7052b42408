// SELF-GUIDE task folders as runs carry them: the task definition inline, its test split (first N lines) as an
// artifact; and as estimates read them.
import type { SelfGuideTaskData } from '../../core/selfguide-config';
import type { SelfGuideEstimateTask } from '../../core/selfguide-estimate';
import type { SelfGuideTaskRun } from '../../workflows/selfguide-stages';
import type { ArtifactStore } from '../artifacts';
import { loadSelfGuideTask, type SelfGuideTask } from '../datasets';

/** Reads a configured task folder, with the split it scores, within the size limits its config sets. */
export const loadConfiguredTask = (data: SelfGuideTaskData, split: 'test' | 'validation' = 'test'): SelfGuideTask =>
  loadSelfGuideTask(data.path, limitsOf(data), split);

/** The read limits a task folder's config sets. */
export const limitsOf = (data: SelfGuideTaskData) => ({ maxBytes: data.maxBytes, maxItemChars: data.maxItemChars });

/** A loaded task and the test lines that will be scored, for estimates. */
export function scoredTask(loaded: SelfGuideTask, testLimit: number | undefined): SelfGuideEstimateTask {
  const { test, ...task } = loaded;
  return { task, test: test.slice(0, testLimit) };
}

/** Stores the scored test lines; `loaded` is the task folder already read, when the caller has it. */
export async function storeSelfGuideTask(
  store: ArtifactStore,
  data: SelfGuideTaskData,
  testLimit: number | undefined,
  notes: string[],
  loaded: SelfGuideTask = loadConfiguredTask(data),
  split: 'test' | 'validation' = 'test',
): Promise<SelfGuideTaskRun> {
  const { test, ...task } = loaded;
  const scored = test.slice(0, testLimit);
  notes.push(
    `${task.name} (${task.kind}, ${task.metric}): ${task.examples.length} gold examples, ` +
      `${scored.length} of ${test.length} ${split} items scored` +
      (task.kind === 'classification' ? `, labels ${task.labels.join(', ')}` : ''),
  );
  return { task, test: await store.writeJsonl(scored) };
}
