// Fireworks AI's datasets and supervised fine-tuning jobs under /fireworks/v1, in the shapes of its gateway API:
// client-chosen resource ids, `accounts/{account}/...` names, `JOB_STATE_*` states, `{code, message}` errors and
// custom methods written `{id}:upload`, `{id}:resume`, `{id}:cancel`.
import type { DoubleState } from './double-state';
import type { FineTuneJob } from './fine-tuning';
import { HttpError, modelNotFound, numberField, ok, requiredString, type DoubleRequest, type Router } from './http';
import type { FireworksDataset, FireworksJobParams } from './provider-job-params';

type Job = FineTuneJob<FireworksJobParams>;

/** gRPC status codes, which Fireworks returns in its error bodies next to the HTTP status. */
export const grpc = { invalidArgument: 3, notFound: 5, alreadyExists: 6, failedPrecondition: 9 } as const;

/** Fireworks answers errors as `{code, message, details}` rather than OpenAI's `{error: {...}}`. */
export class FireworksError extends HttpError {
  constructor(
    status: number,
    message: string,
    private readonly grpcCode: number,
  ) {
    super(status, message);
  }

  override body(): unknown {
    return { code: this.grpcCode, message: this.message, details: [] };
  }
}

export const invalid = (message: string) => new FireworksError(400, message, grpc.invalidArgument);
export const notFound = (what: string) => new FireworksError(404, `${what} not found`, grpc.notFound);

/** Fireworks resource ids: lowercase letters, digits and hyphens, at most 63 characters. */
export const resourceId = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A job trains `baseModel` or warm-starts from a fine-tuned model (`warmStartFrom`); Fireworks refuses both. */
function startingPoint(body: Record<string, unknown>): { baseModel: string; warmStartFrom: string | null } {
  if (body.warmStartFrom === undefined) return { baseModel: requiredString(body, 'baseModel'), warmStartFrom: null };
  const warmStartFrom = requiredString(body, 'warmStartFrom');
  if (body.baseModel !== undefined) throw invalid('Only one of baseModel and warmStartFrom may be set.');
  return { baseModel: warmStartFrom, warmStartFrom };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function jobView(job: Job) {
  const { account } = job.params;
  const completed = job.status === 'JOB_STATE_COMPLETED';
  const percent = completed ? 100 : job.totalSteps ? Math.floor((100 * job.stepsCompleted) / job.totalSteps) : 0;
  return {
    name: `accounts/${account}/supervisedFineTuningJobs/${job.id}`,
    displayName: job.params.displayName ?? job.id,
    createTime: iso(job.createdAt),
    updateTime: iso(job.updatedAt),
    completedTime: iso(job.finishedAt),
    state: job.status,
    status: job.error ? { code: 'INTERNAL', message: job.error.message } : { code: 'OK', message: '' },
    createdBy: 'provider-double@example.com',
    dataset: job.params.dataset,
    baseModel: job.params.warmStartFrom ? undefined : job.baseModel,
    warmStartFrom: job.params.warmStartFrom ?? undefined,
    outputModel: job.resultModel,
    epochs: job.epochs,
    learningRate: job.params.learningRate,
    loraRank: job.params.loraRank,
    batchSize: job.batchSize,
    jobProgress: { percent, epoch: job.epochsCompleted },
  };
}

function datasetView(dataset: FireworksDataset) {
  return {
    name: dataset.name,
    createTime: iso(dataset.createdAt),
    state: dataset.file ? 'READY' : 'UPLOADING',
    exampleCount: dataset.file ? String(dataset.file.content.split('\n').filter((l) => l.trim()).length) : '0',
    userUploaded: {},
  };
}

/** Splits a custom method's last path part, `{id}:{verb}`. */
function customMethod(part: string): { id: string; verb: string } {
  const colon = part.lastIndexOf(':');
  return colon < 0 ? { id: part, verb: '' } : { id: part.slice(0, colon), verb: part.slice(colon + 1) };
}

export function fireworksRoutes(router: Router, state: DoubleState): void {
  const jobs = state.fireworksJobs;
  const datasets = state.fireworksDatasets;
  const base = '/fireworks/v1/accounts/:account';

  const findDataset = (request: DoubleRequest, id = request.params.id) => {
    const dataset = datasets.get(`accounts/${request.params.account}/datasets/${id}`);
    if (!dataset) throw notFound(`Dataset ${id}`);
    return dataset;
  };
  const findJob = (request: DoubleRequest, id = request.params.id) => {
    const job = jobs.get(id);
    if (!job || job.params.account !== request.params.account) throw notFound(`Supervised fine-tuning job ${id}`);
    return job;
  };

  router
    .on('POST', `${base}/datasets`, (request) => {
      const body = request.json();
      const id = requiredString(body, 'datasetId');
      if (!resourceId.test(id)) throw invalid(`datasetId "${id}" must be lowercase letters, digits and "-".`);
      const name = `accounts/${request.params.account}/datasets/${id}`;
      if (datasets.has(name)) throw new FireworksError(409, `Dataset ${name} already exists`, grpc.alreadyExists);
      const dataset: FireworksDataset = { name, createdAt: Date.now(), file: null };
      datasets.set(name, dataset);
      return ok(datasetView(dataset));
    })
    .on('GET', `${base}/datasets/:id`, (request) => ok(datasetView(findDataset(request))))
    .on('POST', `${base}/datasets/:idVerb`, async (request) => {
      const { id, verb } = customMethod(request.params.idVerb);
      if (verb !== 'upload') throw notFound(`Method ${verb}`);
      const dataset = findDataset(request, id);
      const form = await request.formData();
      const file = form.get('file');
      if (file === null || typeof file === 'string') throw invalid('Missing the multipart field "file".');
      const content = await file.text();
      dataset.file = {
        id: dataset.name,
        filename: file.name || `${id}.jsonl`,
        purpose: 'fine-tune',
        bytes: Buffer.byteLength(content),
        createdAt: Date.now(),
        content,
      };
      return ok({ filenameToSignedUrls: {} });
    })
    .on('POST', `${base}/supervisedFineTuningJobs`, (request) => {
      const body = request.json();
      const { account } = request.params;
      const id = request.query.get('supervisedFineTuningJobId') ?? `sftj-${state.ids.next(JSON.stringify(body))}`;
      if (!resourceId.test(id))
        throw invalid(`supervisedFineTuningJobId "${id}" must be lowercase letters, digits, "-".`);
      if (jobs.get(id)) {
        const name = `accounts/${account}/supervisedFineTuningJobs/${id}`;
        throw new FireworksError(409, `Supervised fine-tuning job ${name} already exists`, grpc.alreadyExists);
      }
      const { baseModel, warmStartFrom } = startingPoint(body);
      if (!state.models.resolve(baseModel)) throw modelNotFound(baseModel);
      const datasetName = requiredString(body, 'dataset');
      const dataset = datasets.get(datasetName);
      if (!dataset?.file) throw new FireworksError(400, `Dataset ${datasetName} is not ready`, grpc.failedPrecondition);
      const outputModel = typeof body.outputModel === 'string' ? body.outputModel : `accounts/${account}/models/${id}`;
      const job = jobs.create({
        id,
        baseModel,
        trainingFile: dataset.file,
        resultModel: outputModel,
        checkpointModel: (step) => `${outputModel}-step-${step}`,
        epochs: numberField(body, 'epochs', { min: 1, max: 100, integer: true }) ?? 1,
        batchSize: numberField(body, 'batchSize', { min: 1, max: 1024, integer: true }) ?? 8,
        params: {
          account,
          dataset: datasetName,
          learningRate: numberField(body, 'learningRate', { min: 0, max: 1 }) ?? 0.0001,
          loraRank: numberField(body, 'loraRank', { min: 0, max: 64, integer: true }) ?? 8,
          displayName: typeof body.displayName === 'string' ? body.displayName : null,
          warmStartFrom,
        },
      });
      return ok(jobView(job));
    })
    .on('GET', `${base}/supervisedFineTuningJobs/:id`, (request) => ok(jobView(findJob(request))))
    .on('POST', `${base}/supervisedFineTuningJobs/:idVerb`, (request) => {
      const { id, verb } = customMethod(request.params.idVerb);
      const job = findJob(request, id);
      if (verb === 'resume') {
        if (!jobs.resume(job))
          throw new FireworksError(400, `Job ${id} is ${job.status} and cannot be resumed`, grpc.failedPrecondition);
      } else if (verb === 'cancel') {
        if (!jobs.cancel(job))
          throw new FireworksError(400, `Job ${id} has already ended as ${job.status}`, grpc.failedPrecondition);
      } else {
        throw notFound(`Method ${verb}`);
      }
      return ok(jobView(job));
    });
}
