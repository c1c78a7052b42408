// The data steps of the shard loop (workflows/shard-list-loop.ts): a page of a stage's shard list, with the matching
// outputs of earlier stages, and the stage's results appended batch by batch to one artifact. Each payload holds at
// most a page, so the loop's history and continue-as-new input stay small however many shards a stage has.
import type { ArtifactRef, Shard, ShardPageEntry, ShardResults } from '../core/types';
import type { ArtifactStore } from '../lib/artifacts';
import type { ActivityDeps } from './context';

export interface ShardPageInput {
  list: ArtifactRef;
  from: number;
  count: number;
  /** ShardResults artifacts of earlier stages whose outputs each shard's work reads, line for line with `list`. */
  alongside: ArtifactRef[];
}

/** Records `from` up to `from + count` of an artifact, reading no further than that. */
async function recordsIn<T>(store: ArtifactStore, ref: ArtifactRef, from: number, count: number): Promise<T[]> {
  const records: T[] = [];
  if (count <= 0 || from >= ref.count) return records;
  let index = 0;
  for await (const record of store.readJsonl<T>(ref)) {
    if (index++ >= from) records.push(record);
    if (records.length === count) break;
  }
  return records;
}

/** The outputs of a stage's shards in order, from a list of references or from its ShardResults artifact. */
export async function* shardOutputs(store: ArtifactStore, outputs: ArtifactRef[] | ShardResults) {
  if (Array.isArray(outputs)) yield* outputs;
  else for await (const result of store.readJsonl<{ output: ArtifactRef }>(outputs.shardResults)) yield result.output;
}

export function shardListActivities({ store }: ActivityDeps) {
  return {
    async readShardPage({ list, from, count, alongside }: ShardPageInput): Promise<ShardPageEntry[]> {
      const shards = await recordsIn<Shard>(store, list, from, count);
      const outputs = await Promise.all(
        alongside.map((ref) => recordsIn<{ output: ArtifactRef }>(store, ref, from, shards.length)),
      );
      return shards.map((shard, i) => ({ shard, alongside: outputs.map((results) => results[i].output) }));
    },

    /** A new ShardResults artifact: the records of `results` (none when null), then `add`. */
    async appendShardResults({ results, add }: { results: ArtifactRef | null; add: unknown[] }): Promise<ArtifactRef> {
      async function* all() {
        if (results) yield* store.readJsonl(results);
        yield* add;
      }
      return store.writeJsonl(all());
    },
  };
}
