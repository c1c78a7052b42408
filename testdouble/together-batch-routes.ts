// Together's Batch API under /together/v1/batches: OpenAI's line format and lifecycle (batches.ts) under Together's
// names (upper-case statuses, a `progress` percentage, no metadata, the create answered as `{job}`), with input and
// output files in Together's file store; /_admin/together/batches/:id/advance moves its clock.
import { batchLineAnswerer, supportedEndpoint } from './batch-routes';
import { BatchEngine, type Batch, type BatchStatus } from './batches';
import type { DoubleState } from './double-state';
import { DoubleRequest, HttpError, badRequest, ok, requiredString, type Router } from './http';

const togetherStatus: Record<BatchStatus, string> = {
  validating: 'VALIDATING',
  in_progress: 'IN_PROGRESS',
  finalizing: 'IN_PROGRESS',
  cancelling: 'IN_PROGRESS',
  completed: 'COMPLETED',
  failed: 'FAILED',
  expired: 'EXPIRED',
  cancelled: 'CANCELLED',
};
const completionWindowMs = 24 * 60 * 60 * 1000;
const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function batchView(batch: Batch) {
  const { total, completed, failed } = batch.counts;
  return {
    id: batch.id,
    user_id: 'user-provider-double',
    input_file_id: batch.inputFile.id,
    file_size_bytes: batch.inputFile.bytes,
    status: togetherStatus[batch.status],
    job_deadline: iso(batch.times.created + completionWindowMs),
    created_at: iso(batch.times.created),
    endpoint: batch.endpoint,
    progress: total === 0 ? 0 : (100 * (completed + failed)) / total,
    model_id: batch.model,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    error: batch.errors.length > 0 ? batch.errors.map((e) => `line ${e.line}: ${e.message}`).join('; ') : null,
    completed_at: iso(batch.times.completed ?? batch.times.failed ?? batch.times.expired ?? batch.times.cancelled),
  };
}

export function togetherBatchRoutes(router: Router, state: DoubleState): void {
  const engine = new BatchEngine({
    config: () => state.config.batches,
    ids: state.ids,
    files: state.togetherFiles,
    maxInputBytes: 100 * 1024 * 1024,
    answer: batchLineAnswerer(state),
  });
  const findBatch = (request: DoubleRequest) => {
    const batch = engine.get(request.params.id);
    if (!batch) throw new HttpError(404, `Batch job ${request.params.id} not found`, 'invalid_request_error');
    return batch;
  };

  router
    .on('POST', '/together/v1/batches', (request) => {
      const body = request.json();
      const inputFileId = requiredString(body, 'input_file_id');
      const endpoint = requiredString(body, 'endpoint');
      if (endpoint !== supportedEndpoint)
        throw badRequest(`The provider test double runs batches for '${supportedEndpoint}' only.`, 'endpoint');
      const inputFile = state.togetherFiles.get(inputFileId);
      if (!inputFile) throw badRequest(`File ${inputFileId} not found`, 'input_file_id');
      if (inputFile.purpose !== 'batch-api')
        throw badRequest(`File ${inputFileId} has purpose '${inputFile.purpose}', not 'batch-api'.`, 'input_file_id');
      return ok({ job: batchView(engine.create({ inputFile, endpoint, metadata: null })), warning: null });
    })
    .on('GET', '/together/v1/batches', () => ok(engine.list().map(batchView)))
    .on('GET', '/together/v1/batches/:id', (request) => ok(batchView(findBatch(request))))
    .on('POST', '/together/v1/batches/:id/cancel', (request) => {
      const batch = findBatch(request);
      if (!engine.cancel(batch)) throw badRequest(`Batch job ${batch.id} has already ended.`);
      return ok(batchView(batch));
    })
    .on('POST', '/_admin/together/batches/:id/advance', (request) => {
      const batch = findBatch(request);
      engine.advance(batch);
      return ok(batchView(batch));
    });
}
