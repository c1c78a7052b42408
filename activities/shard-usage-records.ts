// What a shard's work cost is written next to its output, with the activity execution that paid it: a retried
// attempt of that execution that finds the output finished (its worker died after writing it) reports the same spend,
// and any other reader (a resumed run, a re-run of the stage) reports none, as it paid nothing.
import { Context } from '@temporalio/activity';
import type { ItemFailure } from '../core/contracts';
import { emptyUsage, type StageUsage } from '../core/types';
import type { ArtifactStore } from '../lib/artifacts';
import { recordedFailures } from './item-failure-records';
import { payerOf } from './shard-calls';

interface UsageRecord {
  payer: string | null;
  usage: StageUsage;
}

const usageName = (output: string) => `${output}-usage`;
const currentPayer = (): string | null => payerOf(Context.current().info) ?? null;

/** The usage recorded next to the finished output `output`, if this activity execution paid it; else none. */
export async function recordedUsage(store: ArtifactStore, output: string): Promise<StageUsage> {
  const ref = await store.lookup(usageName(output));
  const [record] = ref ? await store.readAll<UsageRecord>(ref) : [];
  const payer = currentPayer();
  return record && payer !== null && record.payer === payer ? record.usage : emptyUsage();
}

/** Writes `usage` next to the output `output` (before it: the output marks the shard finished); returns it. */
export async function recordUsage(store: ArtifactStore, usage: StageUsage, output: string): Promise<StageUsage> {
  await store.writeJsonl([{ payer: currentPayer(), usage } satisfies UsageRecord], usageName(output));
  return usage;
}

/** What a shard found finished reports: the spend recorded with its output (`recordedUsage`) and its failed items. */
export async function finishedShardRecords(
  store: ArtifactStore,
  output: string,
): Promise<{ usage: StageUsage; failures?: ItemFailure[] }> {
  return { usage: await recordedUsage(store, output), ...(await recordedFailures(store, output)) };
}
