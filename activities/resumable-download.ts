// A large download that survives its activity's retries: the bytes go to `<file>.part`, an attempt killed midway
// leaves them there, and the next attempt asks only for the rest (an HTTP range). The file itself appears, by a rename,
// only once every byte the server announced has arrived, so no reader ever sees half of it.
import { ApplicationFailure } from '@temporalio/common';
import * as fs from 'node:fs';

/** Opens the download from `fromByte` (0: the whole file); the server may ignore the range and send it all. */
export type OpenDownload = (fromByte: number, signal: AbortSignal) => Promise<Response>;

export interface DownloadOutcome {
  /** Bytes this call received; 0 when the file was already complete. */
  received: number;
  /** Where this call started: the bytes an earlier attempt had already written. */
  resumedFrom: number;
}

interface PartInfo {
  /** The file's full size as the server announced it, when it did. */
  total: number | null;
}

/** Retried: the next attempt continues from the bytes on disk. */
const incomplete = (message: string) => ApplicationFailure.retryable(message, 'DownloadIncomplete');

const sizeOf = (file: string): number => (fs.existsSync(file) ? fs.statSync(file).size : 0);

function readPartInfo(file: string): PartInfo {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PartInfo;
  } catch {
    return { total: null };
  }
}

/** `bytes START-END/TOTAL` of a 206: where the server's part starts and the full size (null when `*`). */
function contentRange(response: Response): { start: number; total: number | null } | null {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  return match ? { start: Number(match[1]), total: match[2] === '*' ? null : Number(match[2]) } : null;
}

/**
 * Downloads into `file` unless it is already there, continuing the `.part` an earlier attempt left. `progress` hears
 * the bytes on disk as they grow; `signal` stops the download (the part stays, for the next attempt). A download that
 * ends short of the size the server announced fails, to be retried from where it stopped.
 */
export async function downloadResumably(
  file: string,
  open: OpenDownload,
  options: { signal: AbortSignal; idleTimeoutMs: number; progress: (bytes: number, total: number | null) => void },
): Promise<DownloadOutcome> {
  if (fs.existsSync(file)) return { received: 0, resumedFrom: sizeOf(file) };
  const part = `${file}.part`;
  const infoFile = `${file}.part.json`;
  let have = sizeOf(part);
  const known = readPartInfo(infoFile).total;
  if (have > 0 && have === known) return finish(file, part, infoFile, 0, have);

  const idle = new AbortController();
  let idleTimer: NodeJS.Timeout | undefined;
  /** A download that stalls (no byte for the idle timeout) is aborted, to be retried. */
  const stillAlive = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => idle.abort(new Error('no byte arrived in time')), options.idleTimeoutMs);
  };
  stillAlive();
  const signal = AbortSignal.any([options.signal, idle.signal]);
  try {
    const response = await open(have, signal);
    const range = response.status === 206 ? contentRange(response) : null;
    if (range && range.start !== have)
      throw incomplete(`the server answered bytes from ${range.start} when asked for ${have} on`);
    // A server that ignores the range sends the whole file: start over.
    if (!range) have = 0;
    const length = Number(response.headers.get('content-length') ?? NaN);
    const total = range ? range.total : Number.isFinite(length) ? length : null;
    fs.writeFileSync(infoFile, JSON.stringify({ total } satisfies PartInfo));
    const resumedFrom = have;
    if (!response.body) throw incomplete('the server answered with no body');
    // Each chunk is on disk before the next is read, so bytes received before a break are kept for the next attempt.
    const out = await fs.promises.open(part, resumedFrom > 0 ? 'a' : 'w');
    try {
      let onDisk = resumedFrom;
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        await out.write(chunk);
        onDisk += chunk.length;
        stillAlive();
        options.progress(onDisk, total);
      }
    } finally {
      await out.close();
    }
    const size = sizeOf(part);
    if (total !== null && size !== total) throw incomplete(`the download ended at ${size} of ${total} bytes`);
    return finish(file, part, infoFile, size - resumedFrom, resumedFrom);
  } finally {
    clearTimeout(idleTimer);
  }
}

function finish(file: string, part: string, infoFile: string, received: number, resumedFrom: number): DownloadOutcome {
  fs.renameSync(part, file);
  fs.rmSync(infoFile, { force: true });
  return { received, resumedFrom };
}
