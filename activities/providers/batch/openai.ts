// OpenAI's Batch API through the openai SDK (also any provider that speaks the same files + batches API).
import { File } from 'node:buffer';
import { openAsBlob } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import {
  batchEndpoint,
  finishedBatchStatuses,
  type BatchAnswer,
  type BatchMissingItem,
  type BatchRequestLine,
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
import { batchTagName, type BatchBackend } from './backend';
import { BatchResultLines } from './result-lines';

const tagMetadataKey = 'flt_tag';
/** OpenAI's limits per batch: a stage larger than these is split into parts. */
const maxRequests = 50_000;
const maxBytes = 200 * 1024 * 1024;

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
    const { count, bytes } = args.requests;
    if (count > maxRequests || bytes > maxBytes)
      throw toActivityFailure(
        typedError(
          InvalidInput,
          `Batch ${name} has ${count} requests in ${bytes} bytes; OpenAI takes at most ${maxRequests} requests and ` +
            `${maxBytes} bytes a batch, so the stage must be split into more parts.`,
        ),
        `create batch ${name}`,
      );
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
    const answersName = `batches/${name}/answers`;
    const missingName = `batches/${name}/missing`;
    const [foundAnswers, foundMissing] = await Promise.all([
      this.store.lookup(answersName),
      this.store.lookup(missingName),
    ]);
    if (foundAnswers && foundMissing)
      return { batchId: batch.id, status: batch.status, answers: foundAnswers, missing: foundMissing };

    const lines = new BatchResultLines();
    await this.call(context, async () => {
      for (const [kind, fileId] of [
        ['output', batch.output_file_id],
        ['error', batch.error_file_id],
      ] as const) {
        if (fileId) await this.readLines(fileId, kind, lines);
      }
    });
    const unanswered = this.unansweredReason(batch);
    const answers: BatchAnswer[] = [];
    const missing: BatchMissingItem[] = [];
    for await (const request of this.store.readJsonl<BatchRequestLine>(args.requests)) {
      const outcome = lines.outcome(request.custom_id, unanswered);
      if ('answer' in outcome) answers.push(outcome.answer);
      else missing.push(outcome.missing);
    }
    return {
      batchId: batch.id,
      status: batch.status,
      answers: await this.store.writeJsonl(answers, answersName),
      missing: await this.store.writeJsonl(missing, missingName),
    };
  }

  /** Why an item with no line in either file has no answer. */
  private unansweredReason(batch: Batch): Omit<BatchMissingItem, 'customId'> {
    if (batch.status === 'failed')
      return { retryable: false, reason: `the batch failed: ${stateOf(batch).errors.join('; ')}`, status: null };
    return { retryable: true, reason: `the ${batch.status} batch has no line for it`, status: null };
  }

  /** Streams one output or error file, line by line: a batch's output can be hundreds of megabytes. */
  private async readLines(fileId: string, kind: 'output' | 'error', lines: BatchResultLines): Promise<void> {
    const response = await this.client.files.content(fileId);
    if (!response.body) return;
    const input = createInterface({ input: Readable.fromWeb(response.body as ReadableStream), crlfDelay: Infinity });
    let number = 0;
    for await (const raw of input) lines.read(raw, `line ${++number} of the ${kind} file ${fileId}`);
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
