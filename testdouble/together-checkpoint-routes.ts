// Together's checkpoint download: `GET /together/v1/finetune/download?ft_id=&checkpoint=adapter|merged` (or
// `checkpoint_step=N`, which wins over `checkpoint`) redirects, as Together does, to the archive in storage, which is
// served with byte ranges. Two switches act on the storage route: `checkpointDownloads.cutMidway` (the next N
// responses stop halfway and drop the connection) and a gate (`/_admin/downloads/hold`) that holds each response at
// its halfway point until released.
import type { ServerResponse } from 'node:http';
import type { CheckpointArchive, ServedRange } from './checkpoint-archives';
import type { DoubleState } from './double-state';
import { badRequest, HttpError, type Reply, type Router } from './http';

const storagePrefix = '/together-storage';

const notFound = (message: string) => new HttpError(404, message, 'invalid_request_error', 'not_found');

/** Writes `chunk` and resolves once it is handed to the socket: true, or false when the connection is gone. */
const write = (response: ServerResponse, chunk: Buffer) =>
  new Promise<boolean>((resolve) => response.write(chunk, (error) => resolve(!error)));

/** The first byte a `Range: bytes=N-` header asks for (0 without one); 416 for a range the archive does not hold. */
function firstByte(range: string | string[] | undefined, size: number): number {
  if (typeof range !== 'string') return 0;
  const match = /^bytes=(\d+)-$/.exec(range.trim());
  if (!match) throw badRequest(`Unsupported Range header: ${range}`);
  const from = Number(match[1]);
  if (from >= size) throw new HttpError(416, `Range starts at ${from}, past the ${size}-byte archive.`);
  return from;
}

export function togetherCheckpointRoutes(router: Router, state: DoubleState): void {
  router
    .on('GET', '/together/v1/finetune/download', (request) => {
      const jobId = request.query.get('ft_id');
      if (!jobId) throw badRequest("Missing required parameter: 'ft_id'.", 'ft_id');
      const job = state.togetherJobs.get(jobId);
      if (!job) throw notFound(`Fine-tune job ${jobId} not found`);
      if (job.status !== 'completed')
        throw badRequest(`Fine-tune job ${jobId} has status ${job.status}; only a completed job can be downloaded.`);
      const step = request.query.get('checkpoint_step');
      const checkpoint = request.query.get('checkpoint');
      let key: string;
      if (step !== null) {
        if (!job.checkpoints.some((c) => String(c.step) === step))
          throw notFound(`Fine-tune job ${jobId} has no checkpoint at step ${step}`);
        key = `step-${step}`;
      } else if (checkpoint === 'adapter' || checkpoint === 'merged') {
        if (checkpoint === 'adapter' && job.params.trainingType.type === 'Full')
          throw badRequest(`Fine-tune job ${jobId} trained full weights and has no adapter checkpoint.`, 'checkpoint');
        key = checkpoint;
      } else {
        throw badRequest("'checkpoint' must be adapter or merged when 'checkpoint_step' is not set.", 'checkpoint');
      }
      state.checkpointArchives.get(jobId, key, job.baseModel, key === 'merged');
      const location = `${storagePrefix}/${encodeURIComponent(jobId)}/${key}.tar.zst`;
      return { status: 302, body: '', rawContentType: 'text/plain', headers: { location } };
    })
    .on('GET', `${storagePrefix}/:jobId/:file`, (request) => {
      const key = request.params.file.replace(/\.tar\.zst$/, '');
      const archive = state.checkpointArchives.find(request.params.jobId, key);
      if (!archive) throw notFound(`No such object: ${request.path}`);
      const size = archive.bytes.length;
      const from = firstByte(request.headers.range, size);
      const cut = state.config.checkpointDownloads.cutMidway > 0;
      if (cut) state.configure({ checkpointDownloads: { cutMidway: state.config.checkpointDownloads.cutMidway - 1 } });
      const held = state.downloadGate.holds(request.method, request.path, () => null);
      const headers: Record<string, string> = {
        'content-type': 'application/zstd',
        'content-length': String(size - from),
        'accept-ranges': 'bytes',
        ...(from > 0 ? { 'content-range': `bytes ${from}-${size - 1}/${size}` } : {}),
      };
      const reply: Reply = {
        status: from > 0 ? 206 : 200,
        body: null,
        headers,
        stream: (response) =>
          serve(archive, from, response, { cut, held: held ? () => state.downloadGate.pass() : null }),
      };
      return reply;
    });
}

/** Sends the archive from `from`, first up to its halfway point, where it may break (`cut`) or wait (`held`). */
async function serve(
  archive: CheckpointArchive,
  from: number,
  response: ServerResponse,
  midway: { cut: boolean; held: (() => Promise<void>) | null },
): Promise<void> {
  const record: ServedRange = { from, bytes: 0, complete: false };
  archive.served.push(record);
  const half = Math.max(from, Math.floor(archive.bytes.length / 2));
  const first = archive.bytes.subarray(from, half);
  if (first.length > 0 && (await write(response, first))) record.bytes += first.length;
  if (midway.cut) {
    // Closed cleanly after the bytes sent so far, so the client holds exactly those: short of the announced length.
    response.socket?.end();
    return;
  }
  if (midway.held) await midway.held();
  const rest = archive.bytes.subarray(half);
  if (!(await write(response, rest))) return;
  record.bytes += rest.length;
  record.complete = true;
  response.end();
}
