// Together AI's Files and Fine-tuning REST APIs (and its chat endpoint) under /together/v1,
// mirroring the shapes of Together's own API: ISO timestamps, `ft-<uuid>` ids, `model_output_name`.
import type { DoubleState } from './double-state';
import { uuidShaped, type StoredFile } from './file-store';
import type { FineTuneJob, JobEvent } from './fine-tuning';
import {
  badRequest,
  HttpError,
  modelNotFound,
  numberField,
  ok,
  requiredString,
  type DoubleRequest,
  type Router,
} from './http';
import { chatCompletion } from './inference-routes';
import type { TogetherJobParams } from './provider-job-params';

type Job = FineTuneJob<TogetherJobParams>;

const iso = (ms: number) => new Date(ms).toISOString();

function fileView(file: StoredFile) {
  return {
    id: file.id,
    object: 'file',
    created_at: Math.floor(file.createdAt / 1000),
    filename: file.filename,
    bytes: file.bytes,
    purpose: file.purpose,
    FileType: 'jsonl',
    LineCount: file.content.split(/\r?\n/).filter((line) => line.trim() !== '').length,
    Processed: true,
  };
}

function eventView(event: JobEvent) {
  const levels = { info: 'info', warn: 'warning', error: 'error' } as const;
  return {
    object: 'fine-tune-event',
    created_at: iso(event.createdAt),
    level: levels[event.level],
    message: event.message,
    type: event.type,
    step: typeof event.data.step === 'number' ? event.data.step : null,
    total_steps: typeof event.data.total_steps === 'number' ? event.data.total_steps : null,
  };
}

/** The job as list, create and cancel return it; retrieve adds `events`. */
function viewOfJob(job: Job, renames: Record<string, string>) {
  return {
    id: job.id,
    job_id: job.id,
    status: renames[job.status] ?? job.status,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    model: job.baseModel,
    from_checkpoint: job.params.fromCheckpoint,
    model_output_name: job.resultModel,
    output_name: job.resultModel,
    suffix: job.params.suffix,
    training_file: job.trainingFile.id,
    validation_file: null,
    n_epochs: job.epochs,
    n_checkpoints: job.params.nCheckpoints,
    n_evals: 0,
    batch_size: job.batchSize,
    learning_rate: job.params.learningRate,
    warmup_ratio: job.params.warmupRatio,
    max_grad_norm: 1,
    weight_decay: 0,
    lr_scheduler: { lr_scheduler_type: 'linear', lr_scheduler_args: { min_lr_ratio: 0 } },
    training_type: job.params.trainingType,
    training_method: { method: 'sft', train_on_inputs: job.params.trainOnInputs },
    token_count: job.tokenCount,
    total_price: 0,
    epochs_completed: job.epochsCompleted,
    steps_completed: job.stepsCompleted,
    total_steps: job.totalSteps,
    evals_completed: 0,
    queue_depth: 0,
    user_id: 'provider-double',
    owner_address: '0x0000000000000000000000000000000000000000',
  };
}

/** `lora: false` or `training_type: {type: "Full"}` selects full fine-tuning; LoRA is the default. */
function trainingType(body: Record<string, unknown>): TogetherJobParams['trainingType'] {
  const requested = body.training_type as { type?: string; lora_r?: unknown; lora_alpha?: unknown } | undefined;
  const full = requested?.type === 'Full' || body.lora === false;
  if (full) return { type: 'Full' };
  const source = { ...body, ...(requested ?? {}) } as Record<string, unknown>;
  return {
    type: 'Lora',
    lora_r: numberField(source, 'lora_r', { min: 1, max: 512, integer: true }) ?? 8,
    lora_alpha: numberField(source, 'lora_alpha', { min: 1, max: 1024 }) ?? 16,
    lora_dropout: numberField(source, 'lora_dropout', { min: 0, max: 1 }) ?? 0,
    lora_trainable_modules:
      typeof source.lora_trainable_modules === 'string' ? source.lora_trainable_modules : 'all-linear',
  };
}

export function togetherRoutes(router: Router, state: DoubleState): void {
  const files = state.togetherFiles;
  const jobs = state.togetherJobs;

  /**
   * The model a new job trains: its `model`, or the one `from_checkpoint` continues (a job id, an output model name, or
   * a job's `id:step` checkpoint), never both, as Together requires.
   */
  function startingPoint(body: Record<string, unknown>): { modelName: string; fromCheckpoint: string | null } {
    if (body.from_checkpoint === undefined || body.from_checkpoint === null)
      return { modelName: requiredString(body, 'model'), fromCheckpoint: null };
    const fromCheckpoint = requiredString(body, 'from_checkpoint');
    if (body.model !== undefined)
      throw badRequest("Give either 'model' or 'from_checkpoint', not both.", 'from_checkpoint');
    const modelName = jobs.get(fromCheckpoint)?.resultModel ?? fromCheckpoint;
    if (!state.models.resolve(modelName))
      throw badRequest(`No finished fine-tune or checkpoint ${fromCheckpoint} to continue from.`, 'from_checkpoint');
    return { modelName, fromCheckpoint };
  }
  const jobView = (job: Job) => viewOfJob(job, state.config.togetherStatusRenames);

  const findFile = (request: DoubleRequest) => {
    const file = files.get(request.params.id);
    if (!file)
      throw new HttpError(404, `File ${request.params.id} not found`, 'invalid_request_error', 'file_not_found', 'id');
    return file;
  };
  const findJob = (request: DoubleRequest) => {
    const job = jobs.get(request.params.id);
    if (!job)
      throw new HttpError(
        404,
        `Fine-tune job ${request.params.id} not found`,
        'invalid_request_error',
        'fine_tune_not_found',
        'id',
      );
    return job;
  };

  router
    .on(
      'POST',
      '/together/v1/chat/completions',
      chatCompletion(state, (name) => state.togetherEndpoints.resolveStarted(name) ?? state.models.resolve(name)),
    )
    .on('POST', '/together/v1/files/upload', async (request) => {
      const form = await request.formData();
      const file = form.get('file');
      if (file === null || typeof file === 'string') throw badRequest("Missing required parameter: 'file'.", 'file');
      const fileName = form.get('file_name');
      const purpose = form.get('purpose');
      const filename = typeof fileName === 'string' && fileName !== '' ? fileName : file.name || 'upload.jsonl';
      return ok(
        fileView(
          files.create(
            filename,
            typeof purpose === 'string' && purpose !== '' ? purpose : 'fine-tune',
            await file.text(),
          ),
        ),
      );
    })
    .on('GET', '/together/v1/files', () => ok({ object: 'list', data: files.list().map(fileView) }))
    .on('GET', '/together/v1/files/:id', (request) => ok(fileView(findFile(request))))
    .on('GET', '/together/v1/files/:id/content', (request) => ({
      status: 200,
      body: findFile(request).content,
      rawContentType: 'application/octet-stream',
    }))
    .on('DELETE', '/together/v1/files/:id', (request) => {
      files.delete(findFile(request).id);
      return ok({ id: request.params.id, deleted: true });
    })
    .on('POST', '/together/v1/fine-tunes', (request) => {
      const body = request.json();
      const trainingFileId = requiredString(body, 'training_file');
      const { modelName, fromCheckpoint } = startingPoint(body);
      const base = state.models.resolve(modelName);
      if (!base) throw modelNotFound(modelName);
      const trainingFile = files.get(trainingFileId);
      if (!trainingFile)
        throw new HttpError(
          400,
          `Training file ${trainingFileId} not found`,
          'invalid_request_error',
          'invalid_training_file',
          'training_file',
        );
      const suffix = body.suffix ?? null;
      if (suffix !== null && (typeof suffix !== 'string' || suffix.length > 40))
        throw badRequest("'suffix' must be a string of at most 40 characters.", 'suffix');
      const trainOnInputs = body.train_on_inputs ?? 'auto';
      if (trainOnInputs !== 'auto' && typeof trainOnInputs !== 'boolean')
        throw badRequest("'train_on_inputs' must be a boolean or 'auto'.", 'train_on_inputs');
      const id = `ft-${uuidShaped(state.ids.next(`together-job:${JSON.stringify(body)}`))}`;
      const modelStem = `provider-double/${base.root.split('/').pop()}${suffix ? `-${suffix}` : ''}`;
      const resultModel = `${modelStem}-${id.slice(3, 11)}`;
      const job = jobs.create({
        id,
        baseModel: modelName,
        trainingFile,
        resultModel,
        checkpointModel: (step) => `${id}:${step}`,
        epochs: numberField(body, 'n_epochs', { min: 1, max: 100, integer: true }) ?? 1,
        batchSize:
          typeof body.batch_size === 'number'
            ? numberField(body, 'batch_size', { min: 1, max: 1024, integer: true })!
            : 8,
        params: {
          suffix,
          learningRate: numberField(body, 'learning_rate', { min: 0, max: 1 }) ?? 0.00001,
          trainingType: trainingType(body),
          nCheckpoints: numberField(body, 'n_checkpoints', { min: 1, max: 100, integer: true }) ?? 1,
          warmupRatio: numberField(body, 'warmup_ratio', { min: 0, max: 1 }) ?? 0,
          trainOnInputs,
          fromCheckpoint,
        },
      });
      return ok(jobView(job));
    })
    .on('GET', '/together/v1/fine-tunes', () => ok({ data: jobs.list().map(jobView) }))
    .on('GET', '/together/v1/fine-tunes/:id', (request) => {
      const job = findJob(request);
      return ok({ ...jobView(job), events: job.events.map(eventView) });
    })
    .on('POST', '/together/v1/fine-tunes/:id/cancel', (request) => {
      const job = findJob(request);
      if (!jobs.cancel(job))
        throw badRequest(`Fine-tune job ${job.id} has already finished with status ${job.status}.`);
      return ok(jobView(job));
    })
    .on('GET', '/together/v1/fine-tunes/:id/events', (request) => ok({ data: findJob(request).events.map(eventView) }));
}
