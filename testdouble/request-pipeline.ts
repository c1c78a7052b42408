// What happens to each request before and after its route: auth, fault injection, rate limiting,
// latency, error replies and the request log.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { modelCallPaths } from './config';
import type { DoubleState } from './double-state';
import { DoubleRequest, HttpError, sendReply, type Reply, type Router } from './http';
import { rateLimitTokens } from './rate-limit';
import { billedUsage, requestHash, type RequestLogEntry } from './request-log';

const modelCallPattern = new RegExp(modelCallPaths);

const errorReply = (error: HttpError): Reply => ({ status: error.status, body: error.body(), headers: error.headers });

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** A model call's tokens for the rate limit; 0 for a body that is not JSON (the route refuses it). */
function callTokens(request: DoubleRequest): number {
  try {
    return rateLimitTokens(request.json());
  } catch {
    return 0;
  }
}

function authError(state: DoubleState, request: IncomingMessage): HttpError | null {
  if (state.apiKey === undefined) return null;
  const header = request.headers.authorization;
  if (header === `Bearer ${state.apiKey}`) return null;
  const message = header
    ? 'Incorrect API key provided.'
    : "You didn't provide an API key. Provide it in an Authorization header (Bearer auth).";
  return new HttpError(401, message, 'invalid_request_error', 'invalid_api_key');
}

async function route(router: Router, request: DoubleRequest): Promise<Reply> {
  try {
    const reply = await router.dispatch(request);
    return (
      reply ??
      errorReply(
        new HttpError(
          404,
          `Unknown request URL: ${request.method} ${request.path}.`,
          'invalid_request_error',
          'unknown_url',
        ),
      )
    );
  } catch (error) {
    if (error instanceof HttpError) return errorReply(error);
    console.error('provider test double: unexpected error', error);
    return errorReply(
      new HttpError(500, `Provider test double internal error: ${(error as Error).message}`, 'server_error'),
    );
  }
}

async function handle(
  state: DoubleState,
  router: Router,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const started = Date.now();
  const rawBody = await readBody(incoming);
  const url = new URL(incoming.url ?? '/', 'http://provider-double.local');
  const request = new DoubleRequest(
    incoming.method ?? 'GET',
    url.pathname,
    url.searchParams,
    incoming.headers,
    rawBody,
  );
  if (request.path.startsWith('/_admin/')) return sendReply(response, await route(router, request));

  const seq = state.log.nextSeq();
  const isModelCall = modelCallPattern.test(request.path);
  // Counted from arrival until just before the reply is written, so this count never exceeds the client's own.
  const concurrent = isModelCall ? ++state.modelCallsInFlight : 0;
  const limitTokens = isModelCall ? callTokens(request) : undefined;
  let fault: string | null = null;
  let logged = false;
  const finish = (status: number, usage: RequestLogEntry['usage'] = null) => {
    if (logged) return;
    logged = true;
    if (isModelCall) state.modelCallsInFlight--;
    const messages = state.config.logMessages ? request.messages() : null;
    state.log.add({
      seq,
      time: started,
      method: request.method,
      path: request.path,
      model: request.model(),
      requestHash: requestHash(request.method, request.path, rawBody),
      status,
      fault,
      durationMs: Date.now() - started,
      concurrent,
      ...(limitTokens !== undefined ? { limitTokens } : {}),
      usage,
      ...(messages ? { messages } : {}),
    });
  };
  const reply = (answer: Reply) => {
    finish(answer.status, isModelCall ? billedUsage(answer) : null);
    sendReply(response, answer);
  };

  const unauthorized = authError(state, incoming);
  if (unauthorized) return reply(errorReply(unauthorized));
  const injected = state.faults.decide(request.method, request.path);
  if (injected) {
    fault = injected;
    // A lost reply is lost after the provider acted on the request.
    if (injected === 'lost-reply') await route(router, request);
    return state.faults.apply(injected, incoming, response, finish);
  }
  const limits = state.config.rateLimit;
  // What is left of the account's limits, as the provider says it with every model call's answer.
  const limitHeaders = () => (isModelCall ? state.rateLimiter.headers(limits, limitTokens ?? 0) : {});
  if (isModelCall) {
    const admission = state.rateLimiter.admit(limits, limitTokens ?? 0);
    if (!admission.admitted) {
      fault = 'rate_limit';
      const perMinute = admission.limitedBy === 'requests' ? limits.requestsPerMinute : limits.tokensPerMinute;
      const limited = new HttpError(
        429,
        `Rate limit reached: ${perMinute} ${admission.limitedBy} per minute.`,
        admission.limitedBy,
        'rate_limit_exceeded',
        null,
        { 'retry-after': String(admission.retryAfter), ...limitHeaders() },
      );
      return reply(errorReply(limited));
    }
  }
  if (state.modelCallGate.holds(request.method, request.path, () => request.model())) await state.modelCallGate.pass();
  if (isModelCall && state.config.latencyMs > 0) await sleep(state.config.latencyMs);
  const answer = await route(router, request);
  reply({ ...answer, headers: { ...answer.headers, ...limitHeaders() } });
}

export function requestListener(state: DoubleState, router: Router): RequestListener {
  return (incoming, response) => {
    handle(state, router, incoming, response).catch((error) => {
      console.error('provider test double: request failed', error);
      if (!response.headersSent)
        sendReply(response, errorReply(new HttpError(500, 'Provider test double internal error.', 'server_error')));
    });
  };
}
