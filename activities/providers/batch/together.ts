// Together's Batch API over REST: OpenAI's line format, but no metadata, so a batch is found by its input file, whose
// name carries the tag and the content hash.
import { File } from 'node:buffer';
import { openAsBlob } from 'node:fs';
import type { ReadableStream } from 'node:stream/web';
import {
  batchEndpoint,
  finishedBatchStatuses,
  type BatchResults,
  type BatchState,
  type BatchStatus,
  type BatchTag,
} from '../../../core/batch';
import type { OpenAiCompatibleProviderConfig } from '../../../core/config';
import { InvalidInput, typedError } from '../../../core/errors';
import type { ArtifactRef } from '../../../core/types';
import type { ArtifactStore } from '../../../lib/artifacts';
import { toActivityFailure } from '../errors';
import { RestClient } from '../finetune/rest-client';
import { providerApiKey } from '../secrets';
import { batchTagName, oversizedBatch, type BatchBackend, type BatchLimits } from './backend';
import { collectBatchResults } from './results';

export const togetherBatchLimits: BatchLimits = {
  provider: 'Together',
  maxRequests: 50_000,
  maxBytes: 100 * 1024 * 1024,
};

interface TogetherBatch {
  id: string;
  input_file_id: string;
  status: string;
  output_file_id?: string | null;
  error_file_id?: string | null;
  error?: string | null;
}

interface TogetherFile {
  id: string;
  filename: string;
}

const statuses: Record<string, BatchStatus> = {
  VALIDATING: 'validating',
  IN_PROGRESS: 'in_progress',
  COMPLETED: 'completed',
  FAILED: 'failed',
  EXPIRED: 'expired',
  CANCELLED: 'cancelled',
};

// A status Together adds later keeps the poller waiting rather than ending the stage.
const statusOf = (batch: TogetherBatch): BatchStatus => statuses[batch.status] ?? 'in_progress';

const stateOf = (batch: TogetherBatch): BatchState => ({
  batchId: batch.id,
  status: statusOf(batch),
  counts: null,
  errors: batch.error ? [batch.error] : [],
});

export class TogetherBatchBackend implements BatchBackend {
  private readonly rest: RestClient;

  constructor(
    provider: OpenAiCompatibleProviderConfig,
    env: NodeJS.ProcessEnv,
    private readonly store: ArtifactStore,
  ) {
    this.rest = new RestClient(
      'Together',
      provider.baseURL ?? 'https://api.together.xyz/v1',
      providerApiKey(provider, env),
      provider.requestTimeoutSeconds * 1000,
    );
  }

  async findOrCreateBatch(args: { tag: BatchTag; requests: ArtifactRef }): Promise<BatchState> {
    const name = batchTagName(args.tag);
    const oversized = oversizedBatch(name, args.requests, togetherBatchLimits);
    if (oversized) throw oversized;
    return this.call(`create batch ${name}`, async () => {
      const filename = `${name}-${args.requests.sha256.slice(0, 12)}.jsonl`;
      const files = await this.rest.request<{ data: TogetherFile[] }>('GET', '/files');
      let inputFileId = files.data.find((file) => file.filename === filename)?.id;
      if (inputFileId) {
        const batches = await this.rest.request<TogetherBatch[]>('GET', '/batches');
        const found = batches.find((batch) => batch.input_file_id === inputFileId);
        if (found) return stateOf(found);
      } else {
        inputFileId = await this.upload(filename, args.requests);
      }
      const created = await this.rest.request<{ job: TogetherBatch }>('POST', '/batches', {
        input_file_id: inputFileId,
        endpoint: batchEndpoint,
        completion_window: '24h',
      });
      return stateOf(created.job);
    });
  }

  getBatch(batchId: string): Promise<BatchState> {
    return this.call(`get batch ${batchId}`, async () => stateOf(await this.retrieve(batchId)));
  }

  cancelBatch(batchId: string): Promise<void> {
    return this.call(`cancel batch ${batchId}`, async () => {
      if (finishedBatchStatuses.includes(statusOf(await this.retrieve(batchId)))) return;
      await this.rest.request('POST', `/batches/${encodeURIComponent(batchId)}/cancel`);
    });
  }

  async downloadResults(args: { tag: BatchTag; batchId: string; requests: ArtifactRef }): Promise<BatchResults> {
    const name = batchTagName(args.tag);
    const context = `download the results of batch ${args.batchId} (${name})`;
    const batch = await this.call(context, () => this.retrieve(args.batchId));
    const status = statusOf(batch);
    if (!finishedBatchStatuses.includes(status))
      throw toActivityFailure(
        typedError(InvalidInput, `Batch ${args.batchId} is ${batch.status}: its results exist once it has finished.`),
        context,
      );
    return this.call(context, () =>
      collectBatchResults({
        store: this.store,
        batch: {
          batchId: batch.id,
          status,
          name,
          outputFileId: batch.output_file_id ?? null,
          errorFileId: batch.error_file_id ?? null,
          errors: stateOf(batch).errors,
        },
        requests: args.requests,
        // A download may be long: no overall timeout, as for checkpoints.
        openFile: async (fileId) =>
          (await this.rest.open(`/files/${encodeURIComponent(fileId)}/content`, {}, new AbortController().signal))
            .body as ReadableStream | null,
      }),
    );
  }

  private retrieve(batchId: string): Promise<TogetherBatch> {
    return this.rest.request<TogetherBatch>('GET', `/batches/${encodeURIComponent(batchId)}`);
  }

  private async upload(filename: string, requests: ArtifactRef): Promise<string> {
    const form = new FormData();
    const content = await openAsBlob(await this.store.localPath(requests));
    form.append('file', new File([content], filename, { type: 'application/jsonl' }), filename);
    form.append('file_name', filename);
    form.append('purpose', 'batch-api');
    return (await this.rest.request<TogetherFile>('POST', '/files/upload', form)).id;
  }

  private async call<T>(context: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      throw toActivityFailure(err, context);
    }
  }
}
