// Small HTTP toolkit for the provider test double: OpenAI-shaped errors, a parsed request, and a router.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/** A failure answered with OpenAI's error shape `{error: {message, type, param, code}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): unknown {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null) =>
  new HttpError(400, message, 'invalid_request_error', null, param);

export const modelNotFound = (model: string) =>
  new HttpError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    'model_not_found',
    'model',
  );

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Send `body` as this content type verbatim instead of as JSON. */
  rawContentType?: string;
  /** Writes the body itself after the status and `headers` (a file served in parts); `body` is then unused. */
  stream?: (response: ServerResponse) => Promise<void>;
}

export const ok = (body: unknown): Reply => ({ status: 200, body });

export class DoubleRequest {
  private parsed?: { value: unknown };

  constructor(
    readonly method: string,
    readonly path: string,
    readonly query: URLSearchParams,
    readonly headers: IncomingHttpHeaders,
    readonly rawBody: Buffer,
    public params: Record<string, string> = {},
  ) {}

  /** The JSON body as an object; 400 when it is missing or invalid. */
  json(): Record<string, unknown> {
    if (!this.parsed) {
      try {
        this.parsed = { value: JSON.parse(this.rawBody.toString('utf8')) };
      } catch {
        this.parsed = { value: undefined };
      }
    }
    const value = this.parsed.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest('We could not parse the JSON body of your request. The body must be a JSON object.');
    }
    return value as Record<string, unknown>;
  }

  /** The body's `model` field, if the body is JSON with one; for the request log. */
  model(): string | null {
    try {
      const model = this.json().model;
      return typeof model === 'string' ? model : null;
    } catch {
      return null;
    }
  }

  /** The body's `messages` (a chat call's prompt), if the body is JSON with a list of them; for the request log. */
  messages(): unknown[] | null {
    try {
      const messages = this.json().messages;
      return Array.isArray(messages) ? messages : null;
    } catch {
      return null;
    }
  }

  /** Parses a multipart/form-data body with the platform's own parser. */
  async formData(): Promise<FormData> {
    const contentType = this.headers['content-type'] ?? '';
    if (!contentType.startsWith('multipart/form-data')) throw badRequest('Expected a multipart/form-data body.');
    try {
      return await new Request('http://provider-double.local/', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: this.rawBody,
      }).formData();
    } catch {
      throw badRequest('Could not parse the multipart/form-data body.');
    }
  }
}

export type Handler = (request: DoubleRequest) => Reply | Promise<Reply>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

/** Routes like `GET /v1/files/:id`; parameters are decoded into `request.params`. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, template: string, handler: Handler): this {
    const names: string[] = [];
    const source = template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** Undefined when no route matches. */
  async dispatch(request: DoubleRequest): Promise<Reply | undefined> {
    for (const route of this.routes) {
      const match = route.method === request.method ? route.pattern.exec(request.path) : null;
      if (!match) continue;
      request.params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
      return route.handler(request);
    }
    return undefined;
  }
}

/** Reads an optional number field; 400 when it is present but not a number in range. */
export function numberField(
  body: Record<string, unknown>,
  name: string,
  options: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  const { min = -Infinity, max = Infinity, integer = false } = options;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw badRequest(`'${name}' must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}.`, name);
  }
  return value;
}

/** Reads a required non-empty string field; 400 naming it when missing. */
export function requiredString(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw badRequest(`Missing required parameter: '${name}'.`, name);
  return value;
}

/** OpenAI's `metadata`: at most 16 string values, or absent (null). */
export function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  const valid =
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length <= 16 &&
    Object.values(value).every((v) => typeof v === 'string');
  if (!valid) throw badRequest("'metadata' must be an object of at most 16 string values.", 'metadata');
  return value as Record<string, string>;
}

/** Newest-first cursor pagination like OpenAI's: items after the one with id `after`, up to `limit`. */
export function paginate<T extends { id: string }>(
  items: T[],
  query: URLSearchParams,
  defaultLimit: number,
): { object: 'list'; data: T[]; has_more: boolean } {
  const limit = Number(query.get('limit') ?? defaultLimit);
  if (!Number.isInteger(limit) || limit < 1) throw badRequest("'limit' must be a positive integer.", 'limit');
  const after = query.get('after');
  const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < items.length };
}

export function sendReply(response: ServerResponse, reply: Reply): void {
  if (reply.stream) {
    response.writeHead(reply.status, reply.headers);
    reply.stream(response).catch(() => response.destroy());
    return;
  }
  const raw = reply.rawContentType !== undefined;
  const payload = raw ? String(reply.body) : JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'content-type': raw ? reply.rawContentType! : 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...reply.headers,
  });
  response.end(payload);
}
