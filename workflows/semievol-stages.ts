// SemiEvol's sharded stages, each a child workflow of the run: one activity per shard of D_U, results kept to
// artifact references and counts, so a 100,000-question D_U costs each history a few small events per shard.
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ItemFailure, ItemFailures, ResponseSampling, Retrieval } from '../core/contracts';
import type { ProvidersConfig } from '../core/config';
import type { CollaboratorSetup, EntropyOver } from '../core/semievol';
import type { ArtifactRef, ModelRef, Shard, StageUsage } from '../core/types';
import { shardModelCalls, stageStep } from './activity-options';
import { checkItemFailures, itemCount, overShards, type ShardsDone } from './shards';

export interface ShardedStageInput {
  runId: string;
  /** D_U, already split; shard i of every stage covers the same questions. */
  shards: Shard[];
  providers: ProvidersConfig;
  execution: { shardSize: number; parallelShards: number; maxItemFailureShare?: number };
  /** Set when the stage continued as new: the shards it had finished. */
  done?: ShardsDone<unknown>;
}

const shardActivities = (summary: string) => proxyActivities<Activities>({ ...shardModelCalls, summary });

const { collectRecords } = proxyActivities<Activities>(stageStep);

/** Runs `work` on every shard of the stage, continuing as new when the server suggests it. */
function eachShard<R extends { usage: StageUsage }>(
  stage: string,
  input: ShardedStageInput,
  work: (activities: Activities, shard: Shard) => Promise<R>,
) {
  return overShards<R>(
    {
      stage,
      shards: input.shards,
      parallelShards: input.execution.parallelShards,
      done: input.done as ShardsDone<R> | undefined,
      continueAsNew: (done) => continueAsNew({ ...input, done }),
    },
    (shard) => work(shardActivities(`${stage}: shard ${shard.index + 1} of ${shard.of}`), shard),
  );
}

/**
 * The stage's questions the provider refused, as `{itemFailures}` when there are any; stops the stage when more than
 * `execution.maxItemFailureShare` of them failed.
 */
function itemFailuresOf(stage: string, input: ShardedStageInput, results: { failures?: ItemFailure[] }[]) {
  const failures = results.flatMap((r) => r.failures ?? []);
  const itemFailures = checkItemFailures(stage, itemCount(input.shards), failures, input.execution.maxItemFailureShare);
  return itemFailures ? { itemFailures } : {};
}

/** In-context propagation: the k labeled questions nearest to each unlabeled question. */
export async function propagateInContext(
  input: ShardedStageInput & { retrieval: Retrieval },
): Promise<{ neighbours: ArtifactRef[]; usage: StageUsage }> {
  const { results, usage } = await eachShard('propagate', input, (a, shard) =>
    a.retrieveNeighbours({ runId: input.runId, shard, providers: input.providers, retrieval: input.retrieval }),
  );
  return { neighbours: results.map((r) => r.output), usage };
}

export interface CollaborateStageInput extends ShardedStageInput {
  collaborators: CollaboratorSetup[];
  models: { base: ModelRef; warm: ModelRef | null };
  labeled: ArtifactRef;
  /** Per shard, from propagateInContext; null without in-context propagation. */
  neighbours: ArtifactRef[] | null;
  sampling: ResponseSampling;
}

/** Collaborative inference: every collaborator answers every unlabeled question the provider does not refuse. */
export async function collaborate(
  input: CollaborateStageInput,
): Promise<{ answers: ArtifactRef[]; usage: StageUsage; itemFailures?: ItemFailures }> {
  const { results, usage } = await eachShard('collaborate', input, (a, shard) =>
    a.collaborateOnShard({
      runId: input.runId,
      shard,
      providers: input.providers,
      collaborators: input.collaborators,
      models: input.models,
      labeled: input.labeled,
      neighbours: input.neighbours?.[shard.index] ?? null,
      sampling: input.sampling,
    }),
  );
  return { answers: results.map((r) => r.output), usage, ...itemFailuresOf('collaborate', input, results) };
}

export interface JustifyStageInput extends ShardedStageInput {
  /** Per shard, from collaborate. */
  answers: ArtifactRef[];
  justifier: ModelRef;
  sampling: ResponseSampling;
  /** Which tokens each pseudo-label's entropy covers; `response` when absent (runs started before the option). */
  entropyOver?: EntropyOver;
}

export interface Justification {
  /** Every question's stage 3 and 4 outputs in one artifact: `flt semievol select --run` reads it. */
  records: ArtifactRef;
  /** Per shard, each question's pseudo-label and entropy (or why it has none). */
  labels: ArtifactRef[];
  justified: number;
  usage: StageUsage;
  /** Questions the justifier's provider refused: they have no pseudo-label. */
  itemFailures?: ItemFailures;
}

/** Self-justification: the justifier settles every inconsistent question; every question gets its pseudo-label. */
export async function justify(input: JustifyStageInput): Promise<Justification> {
  const { results, usage } = await eachShard('justify', input, (a, shard) =>
    a.justifyShard({
      runId: input.runId,
      shard,
      providers: input.providers,
      answers: input.answers[shard.index],
      justifier: input.justifier,
      sampling: input.sampling,
      entropyOver: input.entropyOver,
    }),
  );
  const itemFailures = itemFailuresOf('justify', input, results);
  const records = await collectRecords({ runId: input.runId, parts: results.map((r) => r.records) });
  return {
    records,
    labels: results.map((r) => r.labels),
    justified: results.reduce((sum, r) => sum + r.justified, 0),
    usage,
    ...itemFailures,
  };
}
