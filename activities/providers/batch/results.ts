// A finished batch's results, whichever provider ran it: its output and error files read line by line, every request
// mapped to its answer or to why it has none, both lists written to the artifact store under the batch's tag name,
// where a retried download finds them.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { BatchAnswer, BatchMissingItem, BatchRequestLine, BatchResults, BatchStatus } from '../../../core/batch';
import type { ArtifactRef } from '../../../core/types';
import type { ArtifactStore } from '../../../lib/artifacts';
import { BatchResultLines } from './result-lines';

export interface FinishedBatch {
  batchId: string;
  status: BatchStatus;
  /** The tag name the results are stored under. */
  name: string;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Why the provider refused the batch as a whole, when it did. */
  errors: string[];
}

/** Why an item with no line in either file has no answer. */
function unansweredReason(batch: FinishedBatch): Omit<BatchMissingItem, 'customId'> {
  if (batch.status === 'failed')
    return { retryable: false, reason: `the batch failed: ${batch.errors.join('; ')}`, status: null };
  return { retryable: true, reason: `the ${batch.status} batch has no line for it`, status: null };
}

export async function collectBatchResults(args: {
  store: ArtifactStore;
  batch: FinishedBatch;
  requests: ArtifactRef;
  /** A file's content as a stream (null when empty): a batch's output can be hundreds of megabytes. */
  openFile: (fileId: string) => Promise<ReadableStream | null>;
}): Promise<BatchResults> {
  const { store, batch } = args;
  const answersName = `batches/${batch.name}/answers`;
  const missingName = `batches/${batch.name}/missing`;
  const [foundAnswers, foundMissing] = await Promise.all([store.lookup(answersName), store.lookup(missingName)]);
  if (foundAnswers && foundMissing)
    return { batchId: batch.batchId, status: batch.status, answers: foundAnswers, missing: foundMissing };

  const lines = new BatchResultLines();
  for (const [kind, fileId] of [
    ['output', batch.outputFileId],
    ['error', batch.errorFileId],
  ] as const) {
    const content = fileId ? await args.openFile(fileId) : null;
    if (!content) continue;
    let number = 0;
    for await (const raw of createInterface({ input: Readable.fromWeb(content), crlfDelay: Infinity }))
      lines.read(raw, `line ${++number} of the ${kind} file ${fileId}`);
  }
  const unanswered = unansweredReason(batch);
  const answers: BatchAnswer[] = [];
  const missing: BatchMissingItem[] = [];
  for await (const request of store.readJsonl<BatchRequestLine>(args.requests)) {
    const outcome = lines.outcome(request.custom_id, unanswered);
    if ('answer' in outcome) answers.push(outcome.answer);
    else missing.push(outcome.missing);
  }
  return {
    batchId: batch.batchId,
    status: batch.status,
    answers: await store.writeJsonl(answers, answersName),
    missing: await store.writeJsonl(missing, missingName),
  };
}
