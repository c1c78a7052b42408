// OpenAI's Batch API under /v1/batches (its input and output files live in the Files API of
// openai-fine-tuning-routes.ts), and /_admin/batches/:id/advance, the clock a test moves.
import { BatchEngine, type Batch, type BatchEngineDeps } from './batches';
import type { DoubleState } from './double-state';
import { DoubleRequest, HttpError, badRequest, ok, paginate, parseMetadata, requiredString, type Router } from './http';
import { chatCompletion } from './inference-routes';
import { billedUsage, requestHash } from './request-log';

const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.floor(ms / 1000));
const completionWindowMs = 24 * 60 * 60 * 1000;
/** The one endpoint the double runs batches for, at OpenAI and Together alike. */
export const supportedEndpoint = '/v1/chat/completions';

function batchView(batch: Batch) {
  const { times } = batch;
  return {
    id: batch.id,
    object: 'batch',
    endpoint: batch.endpoint,
    model: batch.model,
    errors: batch.errors.length > 0 ? { object: 'list', data: batch.errors } : null,
    input_file_id: batch.inputFile.id,
    completion_window: '24h',
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: seconds(times.created),
    in_progress_at: seconds(times.in_progress),
    expires_at: seconds(times.created + completionWindowMs),
    finalizing_at: seconds(times.finalizing),
    completed_at: seconds(times.completed),
    failed_at: seconds(times.failed),
    expired_at: seconds(times.expired),
    cancelling_at: seconds(times.cancelling),
    cancelled_at: seconds(times.cancelled),
    request_counts: batch.counts,
    metadata: batch.metadata,
  };
}

/**
 * Answers each line of a batch as a chat call to the double would be (a refusal becomes that line's 400) and logs it
 * as one, so a test can count what each item cost.
 */
export function batchLineAnswerer(state: DoubleState): BatchEngineDeps['answer'] {
  const chat = chatCompletion(state);
  return (batchId, body) => {
    const rawBody = Buffer.from(JSON.stringify(body));
    const request = new DoubleRequest('POST', supportedEndpoint, new URLSearchParams(), {}, rawBody);
    const started = Date.now();
    let answer: { status: number; body: unknown };
    try {
      answer = chat(request);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      answer = { status: error.status, body: error.body() };
    }
    state.log.add({
      seq: state.log.nextSeq(),
      time: started,
      method: request.method,
      path: request.path,
      model: request.model(),
      requestHash: requestHash(request.method, request.path, rawBody),
      status: answer.status,
      fault: null,
      durationMs: Date.now() - started,
      concurrent: 0,
      usage: billedUsage(answer),
      batchId,
    });
    return { status: answer.status, body: answer.body };
  };
}

export function batchRoutes(router: Router, state: DoubleState): void {
  const engine = new BatchEngine({
    config: () => state.config.batches,
    ids: state.ids,
    files: state.openaiFiles,
    maxInputBytes: 200 * 1024 * 1024,
    answer: batchLineAnswerer(state),
  });
  const findBatch = (request: DoubleRequest) => {
    const batch = engine.get(request.params.id);
    if (!batch) throw new HttpError(404, `No batch found with id '${request.params.id}'.`, 'invalid_request_error');
    return batch;
  };

  router
    .on('POST', '/v1/batches', (request) => {
      const body = request.json();
      const inputFileId = requiredString(body, 'input_file_id');
      const endpoint = requiredString(body, 'endpoint');
      const window = requiredString(body, 'completion_window');
      if (endpoint !== supportedEndpoint)
        throw badRequest(
          `The provider test double runs batches for '${supportedEndpoint}' only, not '${endpoint}'.`,
          'endpoint',
        );
      if (window !== '24h') throw badRequest("'completion_window' must be '24h'.", 'completion_window');
      const metadata = parseMetadata(body.metadata);
      const inputFile = state.openaiFiles.get(inputFileId);
      if (!inputFile)
        throw new HttpError(
          400,
          `Invalid input_file_id: no such file '${inputFileId}'.`,
          'invalid_request_error',
          null,
          'input_file_id',
        );
      if (inputFile.purpose !== 'batch')
        throw badRequest(
          `The input file '${inputFileId}' has purpose '${inputFile.purpose}'; ` +
            "a batch needs a file uploaded with purpose 'batch'.",
          'input_file_id',
        );
      return ok(batchView(engine.create({ inputFile, endpoint, metadata })));
    })
    .on('GET', '/v1/batches', (request) => ok(paginate(engine.list().map(batchView), request.query, 20)))
    .on('GET', '/v1/batches/:id', (request) => ok(batchView(findBatch(request))))
    .on('POST', '/v1/batches/:id/cancel', (request) => {
      const batch = findBatch(request);
      if (!engine.cancel(batch)) throw badRequest(`Cannot cancel a batch with status '${batch.status}'.`);
      return ok(batchView(batch));
    })
    .on('POST', '/_admin/batches/:id/advance', (request) => {
      const batch = findBatch(request);
      engine.advance(batch);
      return ok(batchView(batch));
    });
}
