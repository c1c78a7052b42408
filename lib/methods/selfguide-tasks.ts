// SELF-GUIDE task folders as runs carry them: the task definition inline, its test split (first N lines) as an
// artifact; and as estimates read them.
import type { SelfGuideTaskData } from '../../core/selfguide-config';
import type { SelfGuideEstimateTask } from '../../core/selfguide-estimate';
import type { SelfGuideTaskRun } from '../../workflows/selfguide-stages';
import type { ArtifactStore } from '../artifacts';
import { loadSelfGuideTask } from '../datasets';

/** A task and the test lines that will be scored, for estimates. */
const limitsOf = (data: SelfGuideTaskData) => ({ maxBytes: data.maxBytes, maxItemChars: data.maxItemChars });

export function loadScoredTask(data: SelfGuideTaskData, testLimit: number | undefined): SelfGuideEstimateTask {
  const { test, ...task } = loadSelfGuideTask(data.path, limitsOf(data));
  return { task, test: test.slice(0, testLimit) };
}

export async function storeSelfGuideTask(
  store: ArtifactStore,
  data: SelfGuideTaskData,
  testLimit: number | undefined,
  notes: string[],
): Promise<SelfGuideTaskRun> {
  const { test, ...task } = loadSelfGuideTask(data.path, limitsOf(data));
  const scored = test.slice(0, testLimit);
  notes.push(
    `${task.name} (${task.kind}, ${task.metric}): ${task.examples.length} gold examples, ` +
      `${scored.length} of ${test.length} test items scored` +
      (task.kind === 'classification' ? `, labels ${task.labels.join(', ')}` : ''),
  );
  return { task, test: await store.writeJsonl(scored) };
}
