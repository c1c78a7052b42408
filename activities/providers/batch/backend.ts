// The interface a provider's Batch API is driven through, and how a batch is named so that it is created once.
import type { ApplicationFailure } from '@temporalio/common';
import type { BatchResults, BatchState, BatchTag } from '../../../core/batch';
import { InvalidInput, typedError } from '../../../core/errors';
import type { ArtifactRef } from '../../../core/types';
import { toActivityFailure } from '../errors';
import { tagName } from '../finetune/backend-common';

/** Provider-safe name of a batch, kept in its metadata: the same run, stage and part always give the same name. */
export function batchTagName(tag: BatchTag): string {
  return tagName({ runId: tag.runId, stage: `${tag.stage}-part-${tag.part}` });
}

/** A provider's limits per batch: a stage larger than these is split into parts. */
export interface BatchLimits {
  provider: string;
  maxRequests: number;
  maxBytes: number;
}

/** The final failure for requests over the provider's limits, decided before any call; null when they fit. */
export function oversizedBatch(name: string, requests: ArtifactRef, limits: BatchLimits): ApplicationFailure | null {
  const { count, bytes } = requests;
  if (count <= limits.maxRequests && bytes <= limits.maxBytes) return null;
  return toActivityFailure(
    typedError(
      InvalidInput,
      `Batch ${name} has ${count} requests in ${bytes} bytes; ${limits.provider} takes at most ${limits.maxRequests} ` +
        `requests and ${limits.maxBytes} bytes a batch, so the stage must be split into more parts.`,
    ),
    `create batch ${name}`,
  );
}

/**
 * Every method fails with an ApplicationFailure classified by providers/errors.ts (retryable or not); a retried call
 * never creates or pays for a batch twice.
 */
export interface BatchBackend {
  /**
   * The batch already created under this tag, or a new one of `requests` (an artifact of `BatchRequestLine`s);
   * requests over the provider's limits are refused before any call.
   */
  findOrCreateBatch(args: { tag: BatchTag; requests: ArtifactRef }): Promise<BatchState>;
  getBatch(batchId: string): Promise<BatchState>;
  /** Asks the provider to stop the batch; nothing to do once it has finished. */
  cancelBatch(batchId: string): Promise<void>;
  /**
   * A finished batch's answers and the requests it left unanswered, each mapped back to its request by `custom_id`
   * and written to the artifact store under the tag's name (a retried call finds them there).
   */
  downloadResults(args: { tag: BatchTag; batchId: string; requests: ArtifactRef }): Promise<BatchResults>;
}
