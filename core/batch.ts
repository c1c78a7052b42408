// What crosses the workflow/activity boundary for a provider batch: its request lines, its state while it runs, and
// its results (the answers and the items still to ask for), each list an artifact so no payload grows with a batch.
import type { ArtifactRef } from './types';

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
