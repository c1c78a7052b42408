// A shard's refused items are written next to its output, so a retried attempt that finds the output finished still
// reports them.
import type { ItemFailure } from '../core/contracts';
import type { ArtifactStore } from '../lib/artifacts';

const failuresName = (output: string) => `${output}-failures`;

/** The failures recorded next to the finished output `output`, as `{failures}` when there are any. */
export async function recordedFailures(store: ArtifactStore, output: string): Promise<{ failures?: ItemFailure[] }> {
  const ref = await store.lookup(failuresName(output));
  const failures = ref ? await store.readAll<ItemFailure>(ref) : [];
  return failures.length ? { failures } : {};
}

/** Writes `failures` next to the output `output` (before it: the output marks the shard finished). */
export async function recordFailures(
  store: ArtifactStore,
  failures: ItemFailure[],
  output: string,
): Promise<{ failures?: ItemFailure[] }> {
  if (!failures.length) return {};
  await store.writeJsonl(failures, failuresName(output));
  return { failures };
}
