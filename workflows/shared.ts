// Small workflow-side helpers shared by the stage workflows. Deterministic: no I/O, no clocks, no randomness.

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
