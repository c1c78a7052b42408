// Small workflow-side helpers shared by the stage workflows. Deterministic: no I/O, no clocks, no randomness.
import type { SearchAttributePair } from '@temporalio/common';
import { workflowInfo } from '@temporalio/workflow';
import { searchAttributes } from '../core/search-attributes';

/** Runs `task` over `items` with at most `limit` in flight, keeping results in input order. */
export async function mapBounded<T, R>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Child workflow ids are derived from the run id, so a resumed parent finds its children again. */
export const childId = (runId: string, stage: string) => `${runId}--${stage}`;

/**
 * A child workflow's id and search attributes: its parent's method, task and base model, and its own stage, so the Web
 * UI and visibility queries find and filter a run's children (`RootWorkflowId = '<run>' AND FltStage = 'justify'`).
 */
export function childOptions(runId: string, stage: string) {
  const parent = workflowInfo().typedSearchAttributes;
  const inherited = [searchAttributes.method, searchAttributes.task, searchAttributes.baseModel].flatMap(
    (key): SearchAttributePair[] => {
      const value = parent.get(key);
      return value === undefined ? [] : [{ key, value }];
    },
  );
  return {
    workflowId: childId(runId, stage),
    typedSearchAttributes: [...inherited, { key: searchAttributes.stage, value: stage }],
  };
}
