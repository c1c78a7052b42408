// A stage's calls through the provider's Batch API, before its shards run: plan the calls still unanswered, send them
// as batches (each created once, under its tag), wait for them with one heartbeating poll each, store the answers
// with the shards that asked, and send what a batch left unanswered again, up to `execution.batch.resubmissions`
// times. The shards then read these answers and pay online only for what no batch answered.
import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  stageBatchMode,
  type BatchableStage,
  type BatchOptions,
  type BatchPart,
  type BatchResults,
  type BatchedWork,
} from '../core/batch';
import type { ProvidersConfig } from '../core/config';
import { batchCalls, batchPlanning, batchWait } from './activity-options';

const { planStageBatch } = proxyActivities<Activities>(batchPlanning);
const { startStageBatch, collectStageBatch, cancelStageBatch, storeStageBatchAnswers } =
  proxyActivities<Activities>(batchCalls);

export interface BatchStage {
  runId: string;
  /** Whose mode applies. */
  stage: BatchableStage;
  /** Names the stage's batches and answers; `stage` unless one stage has several (SELF-GUIDE's rounds). */
  name?: string;
  providers: ProvidersConfig;
  options: BatchOptions | undefined;
  work: BatchedWork;
}

/** Sends the stage's calls as batches when its mode says so; true when its shards are to read the answers. */
export async function answerByBatch(stage: BatchStage): Promise<boolean> {
  const mode = stageBatchMode(stage.options, stage.stage);
  const options = stage.options;
  if (mode === false || !options) return false;
  const name = stage.name ?? stage.stage;
  for (let round = 0; ; round++) {
    const plan = await planStageBatch({
      runId: stage.runId,
      stage: name,
      round,
      providers: stage.providers,
      work: stage.work,
    });
    if (plan.requests === 0) return round > 0;
    if (round === 0 && mode === 'auto' && plan.requests < options.autoMinCalls) return false;
    const results = await Promise.all(plan.parts.map((part) => batchOf(stage.providers, part, options)));
    const stored = await storeStageBatchAnswers({
      runId: stage.runId,
      stage: name,
      round,
      shards: plan.shards,
      results,
      shared: plan.shared,
    });
    if (stored.unanswered === 0 || options.missing === 'online' || round >= options.resubmissions) return true;
  }
}

/** One part's batch from creation to its downloaded results; cancelled at the provider if the stage is. */
async function batchOf(providers: ProvidersConfig, part: BatchPart, options: BatchOptions): Promise<BatchResults> {
  const started = await startStageBatch({ providers, part });
  const { waitForStageBatch } = proxyActivities<Activities>({
    ...batchWait(options.pollIntervalSeconds),
    summary: `batch ${part.tag.stage} part ${part.tag.part}: ${part.requests.count} requests to ${part.provider}`,
  });
  try {
    await waitForStageBatch({
      providers,
      part,
      batchId: started.batchId,
      pollIntervalSeconds: options.pollIntervalSeconds,
    });
  } catch (err) {
    // A cancelled run leaves no batch running: the provider would still charge for it.
    if (isCancellation(err))
      await CancellationScope.nonCancellable(() => cancelStageBatch({ providers, part, batchId: started.batchId }));
    throw err;
  }
  return collectStageBatch({ providers, part, batchId: started.batchId });
}
