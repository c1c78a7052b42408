// OpenAI's Files and Fine-tuning APIs under /v1.
import type { DoubleState } from './double-state';
import type { StoredFile } from './file-store';
import type { FineTuneJob } from './fine-tuning';
import {
  badRequest,
  HttpError,
  modelNotFound,
  numberField,
  ok,
  parseMetadata,
  paginate,
  requiredString,
  type DoubleRequest,
  type Router,
} from './http';
import type { OpenAIJobParams } from './provider-job-params';

type Job = FineTuneJob<OpenAIJobParams>;

const seconds = (ms: number) => Math.floor(ms / 1000);

function fileView(file: StoredFile) {
  return {
    id: file.id,
    object: 'file',
    bytes: file.bytes,
    created_at: seconds(file.createdAt),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
    expires_at: null,
  };
}

function jobView(job: Job) {
  const succeeded = job.status === 'succeeded';
  return {
    object: 'fine_tuning.job',
    id: job.id,
    model: job.baseModel,
    created_at: seconds(job.createdAt),
    finished_at: job.finishedAt === null ? null : seconds(job.finishedAt),
    fine_tuned_model: succeeded ? job.resultModel : null,
    organization_id: 'org-provider-double',
    result_files: [],
    status: job.status,
    validation_file: null,
    training_file: job.trainingFile.id,
    hyperparameters: {
      n_epochs: job.epochs,
      batch_size: job.batchSize,
      learning_rate_multiplier: job.params.learningRateMultiplier,
    },
    trained_tokens: job.trainedTokens,
    error: job.error,
    seed: job.params.seed,
    estimated_finish: null,
    integrations: [],
    metadata: job.params.metadata,
    method: job.params.method,
    suffix: job.params.suffix,
    user_provided_suffix: job.params.suffix,
  };
}

function eventViews(job: Job) {
  return [...job.events].reverse().map((event) => ({
    object: 'fine_tuning.job.event',
    id: event.id,
    created_at: seconds(event.createdAt),
    level: event.level,
    message: event.message,
    data: event.data,
    type: Object.keys(event.data).length > 0 ? 'metrics' : 'message',
  }));
}

function checkpointViews(job: Job) {
  if (job.status !== 'succeeded') return [];
  return [...job.checkpoints].reverse().map((checkpoint) => ({
    object: 'fine_tuning.job.checkpoint',
    id: checkpoint.id,
    created_at: seconds(checkpoint.createdAt),
    fine_tuned_model_checkpoint: checkpoint.model,
    fine_tuning_job_id: job.id,
    step_number: checkpoint.step,
    metrics: {
      step: checkpoint.step,
      train_loss: checkpoint.trainLoss,
      train_mean_token_accuracy: null,
      valid_loss: null,
      full_valid_loss: null,
    },
  }));
}

/** A hyperparameter that may be "auto" (or absent), which resolves to `auto`. */
function hyperparameter(
  hyper: Record<string, unknown>,
  name: string,
  auto: number,
  options: { min: number; max: number; integer?: boolean },
): number {
  if (hyper[name] === 'auto') return auto;
  return numberField(hyper, name, options) ?? auto;
}

/** `?metadata[key]=value` filters; `?metadata=null` selects jobs without metadata. */
function matchesMetadata(job: Job, query: URLSearchParams): boolean {
  if (query.get('metadata') === 'null') return job.params.metadata === null;
  for (const [key, value] of query) {
    const name = /^metadata\[(.+)\]$/.exec(key)?.[1];
    if (name !== undefined && job.params.metadata?.[name] !== value) return false;
  }
  return true;
}

export function openaiFineTuningRoutes(router: Router, state: DoubleState): void {
  const files = state.openaiFiles;
  const jobs = state.openaiJobs;

  const findFile = (request: DoubleRequest) => {
    const file = files.get(request.params.id);
    if (!file)
      throw new HttpError(404, `No such File object: ${request.params.id}`, 'invalid_request_error', null, 'id');
    return file;
  };
  const findJob = (request: DoubleRequest) => {
    const job = jobs.get(request.params.id);
    if (!job)
      throw new HttpError(
        404,
        `Could not find fine-tuning job: ${request.params.id}`,
        'invalid_request_error',
        'fine_tuning_job_not_found',
        'fine_tuning_job_id',
      );
    return job;
  };

  router
    .on('POST', '/v1/files', async (request) => {
      const form = await request.formData();
      const file = form.get('file');
      const purpose = form.get('purpose');
      if (file === null || typeof file === 'string') throw badRequest("Missing required parameter: 'file'.", 'file');
      if (typeof purpose !== 'string' || purpose === '')
        throw badRequest("Missing required parameter: 'purpose'.", 'purpose');
      return ok(fileView(files.create(file.name || 'upload', purpose, await file.text())));
    })
    .on('GET', '/v1/files', (request) => {
      const purpose = request.query.get('purpose');
      const listed = files.list().filter((file) => !purpose || file.purpose === purpose);
      if (request.query.get('order') === 'asc') listed.reverse();
      return ok(paginate(listed.map(fileView), request.query, 10_000));
    })
    .on('GET', '/v1/files/:id', (request) => ok(fileView(findFile(request))))
    .on('GET', '/v1/files/:id/content', (request) => ({
      status: 200,
      body: findFile(request).content,
      rawContentType: 'application/octet-stream',
    }))
    .on('DELETE', '/v1/files/:id', (request) => {
      files.delete(findFile(request).id);
      return ok({ id: request.params.id, object: 'file', deleted: true });
    })
    .on('POST', '/v1/fine_tuning/jobs', async (request) => {
      if (state.config.openaiFineTuningClosed)
        throw new HttpError(
          403,
          'This organization can no longer create fine-tuning jobs: self-serve fine-tuning has been closed to it.',
          'invalid_request_error',
          'fine_tuning_unavailable',
        );
      const body = request.json();
      const trainingFileId = requiredString(body, 'training_file');
      const modelName = requiredString(body, 'model');
      const base = state.models.resolve(modelName);
      if (!base) throw modelNotFound(modelName);
      const trainingFile = files.get(trainingFileId);
      if (!trainingFile)
        throw new HttpError(
          400,
          `invalid training_file: ${trainingFileId}`,
          'invalid_request_error',
          'invalid_training_file',
          'training_file',
        );
      const suffix = body.suffix ?? null;
      if (suffix !== null && (typeof suffix !== 'string' || suffix.length > 64))
        throw badRequest("'suffix' must be a string of at most 64 characters.", 'suffix');
      const method = body.method as { type?: string; [type: string]: unknown } | undefined;
      const methodHyper = method?.type
        ? (method[method.type] as { hyperparameters?: unknown } | undefined)?.hyperparameters
        : undefined;
      const hyper = (body.hyperparameters ?? methodHyper ?? {}) as Record<string, unknown>;
      const epochs = hyperparameter(hyper, 'n_epochs', 3, { min: 1, max: 50, integer: true });
      const batchSize = hyperparameter(hyper, 'batch_size', 1, { min: 1, max: 256, integer: true });
      const learningRateMultiplier = hyperparameter(hyper, 'learning_rate_multiplier', 1.8, { min: 0, max: 10 });
      const resolvedHyper = {
        n_epochs: epochs,
        batch_size: batchSize,
        learning_rate_multiplier: learningRateMultiplier,
      };
      const id = `ftjob-${state.ids.next(`openai-job:${JSON.stringify(body)}`)}`;
      const resultModel = `ft:${base.root}:${suffix ?? 'provider-double'}:${id.slice('ftjob-'.length)}`;
      const job = jobs.create({
        id,
        baseModel: modelName,
        trainingFile,
        resultModel,
        checkpointModel: (step) => `${resultModel}:ckpt-step-${step}`,
        epochs,
        batchSize,
        params: {
          suffix,
          seed: numberField(body, 'seed', { integer: true }) ?? Math.floor(Math.random() * 2 ** 31),
          metadata: parseMetadata(body.metadata),
          learningRateMultiplier,
          method: method?.type
            ? {
                ...method,
                [method.type]: { ...(method[method.type] as object | undefined), hyperparameters: resolvedHyper },
              }
            : { type: 'supervised', supervised: { hyperparameters: resolvedHyper } },
        },
      });
      const delayMs = state.config.fineTune.createReplyDelayMs;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return ok(jobView(job));
    })
    .on('GET', '/v1/fine_tuning/jobs', (request) =>
      ok(
        paginate(
          jobs
            .list()
            .filter((job) => matchesMetadata(job, request.query))
            .map(jobView),
          request.query,
          20,
        ),
      ),
    )
    .on('GET', '/v1/fine_tuning/jobs/:id', (request) => ok(jobView(findJob(request))))
    .on('POST', '/v1/fine_tuning/jobs/:id/cancel', (request) => {
      const job = findJob(request);
      if (!jobs.cancel(job)) throw badRequest(`Job has already completed with status ${job.status}.`);
      return ok(jobView(job));
    })
    .on('GET', '/v1/fine_tuning/jobs/:id/events', (request) =>
      ok(paginate(eventViews(findJob(request)), request.query, 20)),
    )
    .on('GET', '/v1/fine_tuning/jobs/:id/checkpoints', (request) =>
      ok(paginate(checkpointViews(findJob(request)), request.query, 10)),
    );
}
