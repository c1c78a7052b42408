// Splitting datasets into shard artifacts, so each shard activity reads only its own items.
import type { ArtifactRef, Shard, ShardList } from '../core/types';
import type { ActivityDeps } from './context';

export interface ShardDatasetInput {
  dataset: ArtifactRef;
  shardSize: number;
  /** Artifact name prefix, deterministic from (run, stage). */
  name: string;
}

export function datasetActivities({ store }: ActivityDeps) {
  async function shardDataset({ dataset, shardSize, name }: ShardDatasetInput): Promise<Shard[]> {
    const of = Math.max(1, Math.ceil(dataset.count / shardSize));
    const shards: Shard[] = [];
    let batch: unknown[] = [];
    const flush = async () => {
      const index = shards.length;
      shards.push({
        index,
        of,
        items: await store.writeJsonl(batch, `${name}/shard-${String(index).padStart(5, '0')}`),
      });
      batch = [];
    };
    for await (const record of store.readJsonl(dataset)) {
      batch.push(record);
      if (batch.length === shardSize) await flush();
    }
    if (batch.length || shards.length === 0) await flush();
    return shards;
  }

  return {
    /** The shards themselves, for runs started before shard lists (their workflows replay this step). */
    shardDataset,

    /** The shards as a ShardList artifact, named `<name>/list`. */
    async listShards(input: ShardDatasetInput): Promise<ShardList> {
      const shards = await shardDataset(input);
      return { shards: await store.writeJsonl(shards, `${input.name}/list`), items: input.dataset.count };
    },
  };
}
