// SemiEvol's sharded stages, each a child workflow of the run: one activity per shard of D_U, results kept to
// artifact references and counts, so a 100,000-question D_U costs each history a few small events per shard. A stage
// gets D_U as a ShardList and hands its per-shard outputs on as one ShardResults artifact; a stage started by a run
// from before shard lists gets and returns lists of references, and runs the loop those runs replay.
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AnswerReading } from '../core/answer-reading';
import type { ExecutionOptions, ItemFailure, ItemFailures, ResponseSampling, Retrieval } from '../core/contracts';
import type { ProvidersConfig } from '../core/config';
import type { CollaboratorSetup, EntropyOver } from '../core/semievol';
import type { ArtifactRef, ModelRef, Shard, ShardList, ShardResults, StageUsage } from '../core/types';
import type { BatchableStage } from '../core/batch';
import { shardModelCalls, stageStep } from './activity-options';
import { answerByBatch } from './batch-stage';
import { checkFailureCount, failureExamples, overShardList, type ShardProgress } from './shard-list-loop';
import { defaultMaxItemFailureShare, itemCount, overShards, type ShardsDone } from './shards';

/** Per shard of D_U, one output of an earlier stage: its ShardResults, or a list in runs from before shard lists. */
export type ShardOutputs = ShardResults | ArtifactRef[];

export interface ShardedStageInput {
  runId: string;
  /** D_U, already split; shard i of every stage covers the same questions. */
  shards: ShardList | Shard[];
  providers: ProvidersConfig;
  execution: ExecutionOptions;
  /** Set when the stage continued as new: where it stood (the shards it had finished, before shard lists). */
  done?: ShardProgress | ShardsDone<unknown>;
  /** Set once the stage's batches have answered: its shards read their answers, and a new execution sends none. */
  viaBatch?: boolean;
}

const shardActivities = (summary: string) => proxyActivities<Activities>({ ...shardModelCalls, summary });

const { collectRecords, summarizeJustification } = proxyActivities<Activities>(stageStep);

/** What a stage did: its ShardResults, or its results themselves in runs from before shard lists. */
type StageDone<R> = { usage: StageUsage; failures: { count: number; examples: ItemFailure[] } } & (
  { shardResults: ArtifactRef } | { results: R[] }
);

/**
 * Runs `work` on every shard of the stage, with the shard's output in each of `alongside`, continuing as new when the
 * server suggests it.
 */
async function eachShard<R extends { usage: StageUsage; failures?: ItemFailure[] }>(
  stage: string,
  input: ShardedStageInput,
  alongside: ShardOutputs[],
  work: (activities: Activities, shard: Shard, outputs: ArtifactRef[]) => Promise<R>,
): Promise<StageDone<R>> {
  const activitiesFor = (shard: Shard) => shardActivities(`${stage}: shard ${shard.index + 1} of ${shard.of}`);
  if (Array.isArray(input.shards)) {
    const lists = alongside.map((outputs) => outputs as ArtifactRef[]);
    const { results, usage } = await overShards<R>(
      {
        stage,
        shards: input.shards,
        parallelShards: input.execution.parallelShards,
        done: input.done as ShardsDone<R> | undefined,
        continueAsNew: (done) => continueAsNew({ ...input, done }),
      },
      (shard) =>
        work(
          activitiesFor(shard),
          shard,
          lists.map((list) => list[shard.index]),
        ),
    );
    const failures = results.flatMap((r) => r.failures ?? []);
    return { results, usage, failures: { count: failures.length, examples: failures.slice(0, failureExamples) } };
  }
  const done = await overShardList(
    {
      stage,
      list: input.shards,
      alongside: alongside.map((outputs) => (outputs as ShardResults).shardResults),
      parallelShards: input.execution.parallelShards,
      done: input.done as ShardProgress | undefined,
      continueAsNew: (progress) => continueAsNew({ ...input, done: progress }),
    },
    (shard, outputs) => work(activitiesFor(shard), shard, outputs),
  );
  return { shardResults: done.results, usage: done.usage, failures: done.failures };
}

/**
 * The stage's questions the provider refused, as `{itemFailures}` when there are any; stops the stage when more than
 * `execution.maxItemFailureShare` of them failed.
 */
function itemFailuresOf(stage: string, input: ShardedStageInput, done: StageDone<unknown>) {
  const of = Array.isArray(input.shards) ? itemCount(input.shards) : input.shards.items;
  const maxShare = input.execution.maxItemFailureShare ?? defaultMaxItemFailureShare;
  const itemFailures = checkFailureCount(stage, done.failures, of, maxShare);
  return itemFailures ? { itemFailures } : {};
}

/**
 * Sends the stage's calls through its provider's Batch API first when `execution.batch` says so (a stage started
 * before shard lists never does); returns the input its shards then run with.
 */
async function batchedFirst<I extends ShardedStageInput>(
  stage: BatchableStage,
  input: I,
  activity: 'collaborateOnShard' | 'justifyShard',
  shardInput: Record<string, unknown>,
  alongside: { field: string; outputs: ShardOutputs | null }[],
): Promise<I> {
  if (Array.isArray(input.shards) || input.done || input.viaBatch || !input.execution.batch) return input;
  const viaBatch = await answerByBatch({
    runId: input.runId,
    stage,
    providers: input.providers,
    options: input.execution.batch,
    work: {
      activity,
      input: { runId: input.runId, providers: input.providers, ...shardInput },
      shards: input.shards,
      alongside: alongside.flatMap(({ field, outputs }) =>
        outputs ? [{ field, results: (outputs as ShardResults).shardResults }] : [],
      ),
    },
  });
  return viaBatch ? { ...input, viaBatch } : input;
}

/** Each shard's `output`, as the stage hands them on. */
const outputsOf = (done: StageDone<{ output: ArtifactRef }>): ShardOutputs =>
  'shardResults' in done ? { shardResults: done.shardResults } : done.results.map((r) => r.output);

/** In-context propagation: the k labeled questions nearest to each unlabeled question. */
export async function propagateInContext(
  input: ShardedStageInput & { retrieval: Retrieval },
): Promise<{ neighbours: ShardOutputs; usage: StageUsage }> {
  const done = await eachShard('propagate', input, [], (a, shard) =>
    a.retrieveNeighbours({ runId: input.runId, shard, providers: input.providers, retrieval: input.retrieval }),
  );
  return { neighbours: outputsOf(done), usage: done.usage };
}

export interface CollaborateStageInput extends ShardedStageInput {
  collaborators: CollaboratorSetup[];
  models: { base: ModelRef; warm: ModelRef | null };
  labeled: ArtifactRef;
  /** Per shard, from propagateInContext; null without in-context propagation. */
  neighbours: ShardOutputs | null;
  sampling: ResponseSampling;
}

/** Collaborative inference: every collaborator answers every unlabeled question the provider does not refuse. */
export async function collaborate(
  stageInput: CollaborateStageInput,
): Promise<{ answers: ShardOutputs; usage: StageUsage; itemFailures?: ItemFailures }> {
  const shardInput = {
    collaborators: stageInput.collaborators,
    models: stageInput.models,
    labeled: stageInput.labeled,
    neighbours: null,
    sampling: stageInput.sampling,
  };
  const input = await batchedFirst('collaborate', stageInput, 'collaborateOnShard', shardInput, [
    { field: 'neighbours', outputs: stageInput.neighbours },
  ]);
  const done = await eachShard(
    'collaborate',
    input,
    input.neighbours ? [input.neighbours] : [],
    (a, shard, [neighbours]) =>
      a.collaborateOnShard({
        runId: input.runId,
        shard,
        providers: input.providers,
        ...shardInput,
        neighbours: neighbours ?? null,
        ...(input.viaBatch ? { viaBatch: true } : {}),
      }),
  );
  return { answers: outputsOf(done), usage: done.usage, ...itemFailuresOf('collaborate', input, done) };
}

export interface JustifyStageInput extends ShardedStageInput {
  /** Per shard, from collaborate. */
  answers: ShardOutputs;
  justifier: ModelRef;
  sampling: ResponseSampling;
  /** Which tokens each pseudo-label's entropy covers; `response` when absent (runs started before the option). */
  entropyOver?: EntropyOver;
  /** How answers are read and compared; `ours` when absent (runs started before the option). */
  answerReading?: AnswerReading;
}

export interface Justification {
  /** Every question's stage 3 and 4 outputs in one artifact: `flt semievol select --run` reads it. */
  records: ArtifactRef;
  /** Each question's pseudo-label and entropy (or why it has none): in one artifact, or per shard before lists. */
  labels: ArtifactRef[];
  justified: number;
  usage: StageUsage;
  /** Questions the justifier's provider refused: they have no pseudo-label. */
  itemFailures?: ItemFailures;
}

/** Self-justification: the justifier settles every inconsistent question; every question gets its pseudo-label. */
export async function justify(stageInput: JustifyStageInput): Promise<Justification> {
  const shardInput = {
    justifier: stageInput.justifier,
    sampling: stageInput.sampling,
    entropyOver: stageInput.entropyOver,
    answerReading: stageInput.answerReading,
  };
  const input = await batchedFirst('justify', stageInput, 'justifyShard', shardInput, [
    { field: 'answers', outputs: stageInput.answers },
  ]);
  const done = await eachShard('justify', input, [input.answers], (a, shard, [answers]) =>
    a.justifyShard({
      runId: input.runId,
      shard,
      providers: input.providers,
      answers,
      ...shardInput,
      ...(input.viaBatch ? { viaBatch: true } : {}),
    }),
  );
  const itemFailures = itemFailuresOf('justify', input, done);
  if ('shardResults' in done) {
    const { records, labels, justified } = await summarizeJustification({
      runId: input.runId,
      results: done.shardResults,
    });
    return { records, labels: [labels], justified, usage: done.usage, ...itemFailures };
  }
  const { results, usage } = done;
  const records = await collectRecords({ runId: input.runId, parts: results.map((r) => r.records) });
  return {
    records,
    labels: results.map((r) => r.labels),
    justified: results.reduce((sum, r) => sum + r.justified, 0),
    usage,
    ...itemFailures,
  };
}
