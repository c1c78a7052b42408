// What crosses the workflow/activity boundary for a provider batch: its request lines, its state while it runs, and
// its results (the answers and the items still to ask for), each list an artifact so no payload grows with a batch.
import type { ArtifactRef, ChatResponse, ShardList } from './types';

/** Identifies one batch of one stage of one run; the same tag always names the same provider batch. */
export interface BatchTag {
  runId: string;
  stage: string;
  /** Which batch of the stage (a stage larger than a provider's limit is split). */
  part: number;
}

/** The chat endpoint every batch line calls. */
export const batchEndpoint = '/v1/chat/completions';

/** One request line, as OpenAI and Together read it; a batch's requests artifact holds these. */
export interface BatchRequestLine {
  /** The item the answer belongs to; unique within the batch. */
  custom_id: string;
  method: 'POST';
  url: typeof batchEndpoint;
  /** The chat completion request. */
  body: Record<string, unknown>;
}

export function batchRequestLine(customId: string, body: Record<string, unknown>): BatchRequestLine {
  return { custom_id: customId, method: 'POST', url: batchEndpoint, body };
}

export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** Statuses after which a batch changes no more: its results can be downloaded. */
export const finishedBatchStatuses: readonly BatchStatus[] = ['completed', 'failed', 'expired', 'cancelled'];

export interface BatchState {
  batchId: string;
  status: BatchStatus;
  /** Null where the provider reports none (Together gives a progress percentage only). */
  counts: { total: number; completed: number; failed: number } | null;
  /** Why the provider refused the batch as a whole (its validation errors, each naming a line), or empty. */
  errors: string[];
}

/** An item of a batch answered with a 200: its chat completion. */
export interface BatchAnswer {
  customId: string;
  body: Record<string, unknown>;
}

/** An item a finished batch did not answer, and whether asking again (in a new batch or online) can help. */
export interface BatchMissingItem {
  customId: string;
  /** False for a refusal of the item itself (a 400) or a batch the provider refused: it would be refused again. */
  retryable: boolean;
  /** The provider's reason, or which output line could not be read. */
  reason: string;
  /** The HTTP status the item was answered with, when it was answered at all. */
  status: number | null;
}

export interface BatchResults {
  batchId: string;
  status: BatchStatus;
  /** `BatchAnswer` records, in the order of the batch's requests. */
  answers: ArtifactRef;
  /**
   * `BatchMissingItem` records, in the order of the batch's requests: every request without an answer (expired,
   * cancelled, failed, or whose output line could not be read).
   */
  missing: ArtifactRef;
}

/** Whether a stage sends its calls through the provider's Batch API: always, never, or when it has enough of them. */
export type BatchMode = boolean | 'auto';

/** The stages whose model calls can go through a Batch API: each item's calls are independent of the others'. */
export const batchableStages = ['collaborate', 'justify', 'generate-inputs', 'annotate-outputs', 'evaluate'] as const;
export type BatchableStage = (typeof batchableStages)[number];

/** `execution.batch`, as the workflows carry it. */
export interface BatchOptions {
  /** Every batchable stage's mode, unless `stages` names it. */
  mode: BatchMode;
  stages: Partial<Record<BatchableStage, BatchMode>>;
  /** `auto` batches a stage with at least this many calls still to pay. */
  autoMinCalls: number;
  /** What becomes of items a finished batch did not answer: a new batch, or calls made online. */
  missing: 'batch' | 'online';
  /** New batches a stage may send for its unanswered items, before the rest are called online. */
  resubmissions: number;
  /** How often a running batch is polled. */
  pollIntervalSeconds: number;
}

export function stageBatchMode(options: BatchOptions | undefined, stage: BatchableStage): BatchMode {
  if (!options) return false;
  return options.stages[stage] ?? options.mode;
}

/**
 * Where one shard's batch answers are kept: a round's answers at `<folder>/round-<r>`, and `<stage folder>/round-<r>`
 * marks the round finished for every shard (a shard without answers in a finished round has none to find).
 */
export function batchAnswersFolder(runId: string, stage: string, shard: number): string {
  return `${batchStageFolder(runId, stage)}/shard-${String(shard).padStart(6, '0')}`;
}

/** The name of a SELF-GUIDE stage's batches: each generation round is a batch of its own. */
export const selfGuideBatchStage = (stage: string, round?: number) =>
  round === undefined ? stage : `${stage}-round-${round}`;

export function batchStageFolder(runId: string, stage: string): string {
  return `runs/${runId}/batches/${stage}`;
}

export const batchRoundName = (folder: string, round: number) => `${folder}/round-${String(round).padStart(3, '0')}`;

/** A request line's custom_id: which shard asked, and the request's response-cache key. */
export const batchCustomId = (shard: number, key: string) => `${shard}:${key}`;

export function parseBatchCustomId(customId: string): { shard: number; key: string } | null {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(customId);
  return match ? { shard: Number(match[1]), key: match[2] } : null;
}

/** What planning a stage's batch found: its request files, each one batch of one provider and model. */
export interface BatchPlan {
  /** Requests in all parts. */
  requests: number;
  /** `BatchSharedAnswer`s: requests asked again by a later shard, sent once; null when there are none. */
  shared: ArtifactRef | null;
  /** Shards the stage has: every shard's answers of a round are stored, if only as none. */
  shards: number;
  parts: BatchPart[];
}

export interface BatchPart {
  tag: BatchTag;
  provider: string;
  model: string;
  /** `BatchRequestLine`s, in shard order. */
  requests: ArtifactRef;
}

/**
 * One entry of a shard's batch answers: the answer to a request, or why the provider refused it for good; `shared`
 * when another shard's line was paid for it (a duplicate question): then it counts as cached here.
 */
export type BatchAnswerEntry = { key: string; batchId: string; shared?: true } & (
  { response: ChatResponse } | { refused: string; status: number | null }
);

/** A request of `shard` that an earlier shard's line of the same batch round answers. */
export interface BatchSharedAnswer {
  shard: number;
  key: string;
}

/** The activities whose calls a stage can batch: run as they are, in planning mode. */
export type BatchedActivity =
  | 'collaborateOnShard'
  | 'justifyShard'
  | 'generateInputRound'
  | 'sampleAnnotations'
  | 'answerQuestions'
  | 'answerTestShard';

/** What a batch's stage runs: a sharded stage's shard activity over its shard list, or one activity of its own. */
export type BatchedWork =
  | {
      activity: BatchedActivity;
      /** The activity's input, less the shard and its outputs of earlier stages. */
      input: Record<string, unknown>;
      shards: ShardList;
      /** Outputs of earlier stages each shard reads: the input field, and the stage's ShardResults artifact. */
      alongside: { field: string; results: ArtifactRef }[];
    }
  | { activity: BatchedActivity; input: Record<string, unknown> };

/** What a stored round of batch answers did: items answered, refused for good, and left unanswered. */
export interface StoredBatchRound {
  answered: number;
  refused: number;
  unanswered: number;
}
