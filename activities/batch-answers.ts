// A shard's answers from its stage's batches, read before its own cache: the shard's calls that a batch answered are
// paid (at the batch price) without a call, and those the provider refused in the batch fail as the online call
// would have. The answers live in the artifact store, so a shard on any host finds them.
import { ApplicationFailure } from '@temporalio/common';
import { batchAnswersFolder, batchRoundName, batchStageFolder, type BatchAnswerEntry } from '../core/batch';
import type { ArtifactStore } from '../lib/artifact-contract';
import type { CallCache } from '../lib/response-cache';
import type { CachedCall } from './providers/gateway';

export class BatchAnswers implements CallCache {
  private readonly entries = new Map<string, BatchAnswerEntry>();
  private readonly loaded: Promise<void>;

  constructor(
    private readonly store: ArtifactStore,
    where: { runId: string; stage: string; shard: number },
    /** Where every other answer is looked up and every paid one kept. */
    private readonly next: CallCache,
  ) {
    this.loaded = this.load(
      batchStageFolder(where.runId, where.stage),
      batchAnswersFolder(where.runId, where.stage, where.shard),
    );
    this.loaded.catch(() => undefined); // reported by the first get
  }

  /** Every finished round's answers of this shard (a round is finished for all shards at once). */
  private async load(stageFolder: string, shardFolder: string): Promise<void> {
    for (let round = 0; await this.store.lookup(batchRoundName(stageFolder, round)); round++) {
      const answers = await this.store.lookup(batchRoundName(shardFolder, round));
      if (!answers) continue;
      for await (const entry of this.store.readJsonl<BatchAnswerEntry>(answers)) this.entries.set(entry.key, entry);
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    await this.loaded;
    const entry = this.entries.get(key);
    if (!entry) return this.next.get<T>(key);
    if ('refused' in entry)
      throw ApplicationFailure.create({
        message: `refused in batch ${entry.batchId}: ${entry.refused}`,
        type: `ProviderHttp${entry.status ?? 400}`,
        nonRetryable: true,
      });
    // Another shard's line paid for a shared answer.
    const answer: CachedCall = entry.shared
      ? { response: entry.response }
      : { response: entry.response, batchId: entry.batchId };
    return answer as T;
  }

  set(key: string, value: unknown): Promise<void> {
    return this.next.set(key, value);
  }
}
