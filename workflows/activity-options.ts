// How workflows schedule activities, one preset per kind of work. Retries never give up on a transient failure
// (a worker gone, a provider down, a bug fixed by redeploying the worker): it is waited out with backoff. What no
// attempt can fix fails at once: provider errors as activities/providers/errors.ts classifies them, and the
// deterministic failures of core/errors.ts by type. A model call adds its `summary` for the Temporal UI.
import type { Duration } from '@temporalio/common';
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { nonRetryableErrorTypes } from '../core/errors';

function retryPolicy(initialInterval: Duration, maximumInterval: Duration): RetryPolicy {
  return {
    initialInterval,
    maximumInterval,
    maximumAttempts: Number.POSITIVE_INFINITY,
    nonRetryableErrorTypes: [...nonRetryableErrorTypes],
  };
}

/** Artifact work of one step: splitting into shards, scoring, filters, training files. */
export const dataStep: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: retryPolicy('1 second', '1 minute'),
};

/** Artifact work over a whole stage's outputs (collecting records, selection, training sets, the diagnostic). */
export const stageStep: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  retry: retryPolicy('1 second', '1 minute'),
};

/** One shard's model calls: heartbeats detect a dead worker long before the start-to-close timeout. */
export const shardModelCalls: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '5 minutes',
  retry: retryPolicy('1 second', '2 minutes'),
};

/** Model calls of a whole SELF-GUIDE stage in one activity (a round of input generation, all annotations). */
export const stageModelCalls: ActivityOptions = {
  ...shardModelCalls,
  startToCloseTimeout: '4 hours',
};

/**
 * Planning a stage's batch: its shards' code run without calls, over every shard at once; heartbeats count the
 * shards planned.
 */
export const batchPlanning: ActivityOptions = {
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '5 minutes',
  retry: retryPolicy('1 second', '1 minute'),
};

/** Creating, finding, downloading or cancelling a provider batch, or storing its answers. */
export const batchCalls: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  retry: retryPolicy('2 seconds', '2 minutes'),
};

/** One long heartbeating activity polls a batch (up to the provider's day and a margin), not one per poll. */
export function batchWait(pollIntervalSeconds: number): ActivityOptions {
  return {
    startToCloseTimeout: '30 hours',
    heartbeatTimeout: `${Math.max(60, 3 * pollIntervalSeconds)} seconds`,
    retry: retryPolicy('5 seconds', '5 minutes'),
  };
}

/** Starting, finding or cancelling a fine-tune job at its provider. */
export const fineTuneJobCalls: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: retryPolicy('2 seconds', '2 minutes'),
};

/** One long heartbeating activity polls a job, so history grows by a few events per job, not per poll. */
export function fineTuneWait(pollIntervalSeconds: number): ActivityOptions {
  return {
    startToCloseTimeout: '7 days',
    heartbeatTimeout: `${Math.max(60, 3 * pollIntervalSeconds)} seconds`,
    retry: retryPolicy('5 seconds', '5 minutes'),
  };
}

/**
 * Downloading a checkpoint (a merged one is the size of the model): heartbeats carry the bytes on disk, and a retried
 * attempt continues from them.
 */
export const checkpointDownload: ActivityOptions = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '2 minutes',
  retry: retryPolicy('2 seconds', '1 minute'),
};

/**
 * Starting a merged checkpoint's server and waiting until it lists the model: loading full weights takes minutes;
 * heartbeats show the wait alive, and a retried attempt follows the server its predecessor started.
 */
export const checkpointServerStart: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '15 seconds',
  retry: retryPolicy('2 seconds', '1 minute'),
};

/** Reading the worker's clock around a stage, as a local activity: one marker event in the history, no task. */
export const clockRead: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: retryPolicy('1 second', '10 seconds'),
};

/** Loading an adapter into a serving engine and probing it, or unloading it: a cold load reads weights from disk. */
export const adapterServingStep: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  retry: retryPolicy('2 seconds', '1 minute'),
};

/**
 * Unloading a run's adapters at its end, also after a failure or cancellation: a few tries, then the run ends as it
 * would have (an adapter left loaded costs server memory, never a result), rather than waiting on a server gone.
 */
export const adapterUnloadStep: ActivityOptions = {
  ...adapterServingStep,
  retry: { ...adapterServingStep.retry, maximumAttempts: 5 },
};
