// OpenAI's Batch API through the openai SDK (also any provider that speaks the same files + batches API).
import { File } from 'node:buffer';
import { openAsBlob } from 'node:fs';
import type { ReadableStream } from 'node:stream/web';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import {
  batchEndpoint,
  finishedBatchStatuses,
  type BatchResults,
  type BatchState,
  type BatchTag,
} from '../../../core/batch';
import type { OpenAiCompatibleProviderConfig } from '../../../core/config';
import { InvalidInput, typedError } from '../../../core/errors';
import type { ArtifactRef } from '../../../core/types';
import type { ArtifactStore } from '../../../lib/artifacts';
import { toActivityFailure } from '../errors';
import { providerApiKey } from '../secrets';
import { batchTagName, oversizedBatch, type BatchBackend, type BatchLimits } from './backend';
import { collectBatchResults } from './results';

const tagMetadataKey = 'flt_tag';
export const openAiBatchLimits: BatchLimits = { provider: 'OpenAI', maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 };

function stateOf(batch: Batch): BatchState {
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  return {
    batchId: batch.id,
    status: batch.status,
    counts: { total: counts.total, completed: counts.completed, failed: counts.failed },
    errors: (batch.errors?.data ?? []).map(
      (e) => `${e.line ? `line ${e.line}: ` : ''}${e.message ?? e.code ?? 'invalid'}${e.code ? ` (${e.code})` : ''}`,
    ),
  };
}

export class OpenAiBatchBackend implements BatchBackend {
  private readonly client: OpenAI;

  constructor(
    provider: OpenAiCompatibleProviderConfig,
    env: NodeJS.ProcessEnv,
    private readonly store: ArtifactStore,
  ) {
    this.client = new OpenAI({
      apiKey: providerApiKey(provider, env),
      baseURL: provider.baseURL ?? 'https://api.openai.com/v1',
      timeout: provider.requestTimeoutSeconds * 1000,
      // Temporal owns retries; an SDK retry of a create could start a second paid batch.
      maxRetries: 0,
    });
  }

  async findOrCreateBatch(args: { tag: BatchTag; requests: ArtifactRef }): Promise<BatchState> {
    const name = batchTagName(args.tag);
    const oversized = oversizedBatch(name, args.requests, openAiBatchLimits);
    if (oversized) throw oversized;
    return this.call(`create batch ${name}`, async () => {
      const found = await this.findBatch(name);
      if (found) return stateOf(found);
      const inputFileId = await this.uploadRequests(name, args.requests);
      return stateOf(
        await this.client.batches.create({
          input_file_id: inputFileId,
          endpoint: batchEndpoint,
          completion_window: '24h',
          metadata: { [tagMetadataKey]: name },
        }),
      );
    });
  }

  getBatch(batchId: string): Promise<BatchState> {
    return this.call(`get batch ${batchId}`, async () => stateOf(await this.client.batches.retrieve(batchId)));
  }

  cancelBatch(batchId: string): Promise<void> {
    return this.call(`cancel batch ${batchId}`, async () => {
      // Cancelling a batch that already ended is a provider error; for us it is nothing left to do.
      const batch = await this.client.batches.retrieve(batchId);
      if (batch.status === 'cancelling' || finishedBatchStatuses.includes(batch.status)) return;
      await this.client.batches.cancel(batchId);
    });
  }

  async downloadResults(args: { tag: BatchTag; batchId: string; requests: ArtifactRef }): Promise<BatchResults> {
    const name = batchTagName(args.tag);
    const context = `download the results of batch ${args.batchId} (${name})`;
    const batch = await this.call(context, () => this.client.batches.retrieve(args.batchId));
    if (!finishedBatchStatuses.includes(batch.status))
      throw toActivityFailure(
        typedError(InvalidInput, `Batch ${args.batchId} is ${batch.status}: its results exist once it has finished.`),
        context,
      );
    return this.call(context, () =>
      collectBatchResults({
        store: this.store,
        batch: {
          batchId: batch.id,
          status: batch.status,
          name,
          outputFileId: batch.output_file_id ?? null,
          errorFileId: batch.error_file_id ?? null,
          errors: stateOf(batch).errors,
        },
        requests: args.requests,
        openFile: async (fileId) => (await this.client.files.content(fileId)).body as ReadableStream | null,
      }),
    );
  }

  /** The newest batch carrying this tag: the list is newest first and has no metadata filter. */
  private async findBatch(name: string): Promise<Batch | null> {
    for await (const batch of this.client.batches.list({ limit: 100 })) {
      if (batch.metadata?.[tagMetadataKey] === name) return batch;
    }
    return null;
  }

  /** Uploads the requests once: a file of the same name (tag and content hash) uploaded before is reused. */
  private async uploadRequests(name: string, requests: ArtifactRef): Promise<string> {
    const filename = `${name}-${requests.sha256.slice(0, 12)}.jsonl`;
    for await (const file of this.client.files.list({ purpose: 'batch' })) {
      if (file.filename === filename) return file.id;
    }
    const content = await openAsBlob(await this.store.localPath(requests));
    const created = await this.client.files.create({
      file: new File([content], filename, { type: 'application/jsonl' }),
      purpose: 'batch',
    });
    return created.id;
  }

  private async call<T>(context: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      throw toActivityFailure(err, context);
    }
  }
}
