// The one place where provider failures become Temporal failures: retryable or not, and when to try again.
import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError } from 'openai';
import { nonRetryableErrorTypes } from '../../core/errors';

/** An HTTP-level failure from a provider, in the shape every backend throws. */
export class ProviderHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ProviderHttpError';
  }
}

/**
 * The server's own message in a failed reply's parsed JSON body: OpenAI's nested `error.message`, vLLM's and
 * SGLang's flat `{object: "error", message}`, SGLang's admin `error_message`, FastAPI's `detail`.
 */
export function serverMessageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const nested = record.error as Record<string, unknown> | undefined;
  for (const candidate of [record.message, record.error_message, nested?.message, record.detail])
    if (typeof candidate === 'string' && candidate !== '') return candidate;
  return undefined;
}

/** The server's own message from a failed reply's text, which may not be JSON at all. */
export function serverMessage(text: string): string {
  try {
    const message = serverMessageOf(JSON.parse(text));
    if (message !== undefined) return message;
  } catch {
    // not JSON: the text itself is the message
  }
  return text.trim() || '(empty reply)';
}

const retryableStatuses = new Set([408, 409, 429]);
const connectionCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export interface Classification {
  retryable: boolean;
  /** Wait the provider asked for (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  type: string;
  message: string;
}

function headerValue(headers: unknown, key: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(key) ?? undefined;
  const record = headers as Record<string, string | undefined>;
  return record[key] ?? record[key.toLowerCase()];
}

/** Parses `retry-after-ms`, or `retry-after` as seconds or an HTTP date. */
export function retryAfterMs(headers: unknown, now = Date.now()): number | undefined {
  const ms = Number(headerValue(headers, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && headerValue(headers, 'retry-after-ms') !== undefined) return ms;
  const raw = headerValue(headers, 'retry-after');
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What classification reads of a thrown value, whatever threw it. */
interface ErrorLike {
  message?: unknown;
  name?: unknown;
  status?: unknown;
  headers?: unknown;
  code?: unknown;
  cause?: unknown;
}

function causeCode(err: unknown): string | undefined {
  for (let e = err as ErrorLike | undefined, depth = 0; e && depth < 5; e = e.cause as ErrorLike, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

/** Retryable as openai-node's own retry logic decides: x-should-retry when present, else 408, 409, 429 and 5xx. */
function retryableHttp(status: number, headers: unknown): boolean {
  const shouldRetry = headerValue(headers, 'x-should-retry');
  if (shouldRetry === 'true') return true;
  if (shouldRetry === 'false') return false;
  return retryableStatuses.has(status) || status >= 500;
}

/**
 * Retryable or not by what the failure is, never by the words of its message: the types of core/errors.ts are
 * final; an HTTP failure (the openai SDK's APIError, ProviderHttpError) by its status and x-should-retry header; a
 * connection failure (APIConnectionError and its timeout, a reset socket, an abort) is retried; a SyntaxError, which
 * is what parsing a provider's cut-short JSON body throws (the SDK throws it as is), is retried as a malformed
 * response; anything else (llama.cpp failing to load or fit a prompt, a programming error) is not.
 */
export function classify(err: unknown): Classification {
  const e = err as ErrorLike | undefined;
  const message = e?.message ? String(e.message) : String(err);
  const name: string = typeof e?.name === 'string' ? e.name : '';
  if (nonRetryableErrorTypes.includes(name)) return { retryable: false, type: name, message };
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (status !== undefined) {
    const type = `ProviderHttp${status}`;
    if (retryableHttp(status, e?.headers))
      return { retryable: true, retryAfterMs: retryAfterMs(e?.headers), type, message };
    const hint =
      status === 401 || status === 403
        ? " Check the API key in the worker environment variable named by the provider's apiKeyEnv."
        : status === 404
          ? ' Check the model id and the provider baseURL.'
          : '';
    return { retryable: false, type, message: `${message}${hint}` };
  }
  const code = causeCode(err);
  if (
    err instanceof APIConnectionError || // includes the SDK's timeout and abort errors
    name === 'AbortError' ||
    name === 'TimeoutError' ||
    (code !== undefined && connectionCodes.has(code)) ||
    // undici's own messages when fetch fails or a body is cut off without a coded cause
    (name === 'TypeError' && (message === 'fetch failed' || message === 'terminated'))
  ) {
    return { retryable: true, type: 'ProviderConnection', message };
  }
  if (name === 'SyntaxError') return { retryable: true, type: 'ProviderMalformedResponse', message };
  return { retryable: false, type: name || 'Error', message };
}

/** Statuses that refuse one request for what it holds (too long, malformed for this item), not the run's setup. */
const itemStatuses = new Set([400, 413, 422]);

/**
 * The reason when a call failed because the provider refused this one request (400, 413, 422, final): the item can
 * be dropped and the stage go on. Null for anything else (auth, a missing model, outages), which fails the shard.
 */
export function itemRefusal(err: unknown): string | null {
  if (!(err instanceof ApplicationFailure) || !err.nonRetryable) return null;
  const status = /^ProviderHttp(\d+)$/.exec(err.type ?? '')?.[1];
  if (!status || !itemStatuses.has(Number(status))) return null;
  return classify(err.cause ?? err).message;
}

/** Converts any provider failure into an ApplicationFailure that Temporal's retry policy understands. */
export function toActivityFailure(err: unknown, context: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const c = classify(err);
  return ApplicationFailure.create({
    message: `${context}: ${c.message}`,
    type: c.type,
    nonRetryable: !c.retryable,
    // Honoured even when longer than the retry policy's maximum interval.
    nextRetryDelay: c.retryAfterMs !== undefined ? Math.max(1, Math.ceil(c.retryAfterMs)) : undefined,
    cause: err instanceof Error ? err : undefined,
  });
}

/** `toActivityFailure`, with an ApplicationFailure's own message also prefixed by `context` (type and retry kept). */
export function toActivityFailureIn(err: unknown, context: string): ApplicationFailure {
  if (!(err instanceof ApplicationFailure)) return toActivityFailure(err, context);
  return ApplicationFailure.create({
    message: `${context}: ${err.message}`,
    type: err.type ?? undefined,
    nonRetryable: err.nonRetryable ?? undefined,
    cause: err,
  });
}

export interface InlineRetryOptions {
  /** Tries per call inside one activity attempt before the failure goes to Temporal's retry policy. */
  attempts?: number;
  /** Longer waits (a long Retry-After) are left to Temporal: a durable timer instead of a sleeping activity. */
  maxInlineWaitMs?: number;
  signal?: AbortSignal;
}

/**
 * Retries one transient call failure a few times inside the activity, so a shard of many calls is not failed and
 * replayed for every 429 or reset; anything else, or too many tries, goes to Temporal as an ApplicationFailure.
 */
export async function retryTransient<T>(
  call: () => Promise<T>,
  context: string,
  options: InlineRetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  const maxInlineWaitMs = options.maxInlineWaitMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const c = classify(err);
      const waitMs = c.retryAfterMs ?? Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (!c.retryable || attempt >= attempts || waitMs > maxInlineWaitMs || options.signal?.aborted)
        throw toActivityFailure(err, context);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        options.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}
