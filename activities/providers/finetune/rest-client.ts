// The plain-fetch JSON client the REST fine-tune backends (Together, Fireworks) share: bearer auth, the provider's
// own words on failure as a ProviderHttpError with its status and headers, so Temporal's retry policy can read them.
import { ProviderHttpError } from '../errors';

/** The provider's own words from an error body: `{error: {message}}`, `{error: "..."}`, `{message}`, or the text. */
function errorMessage(body: string): string {
  try {
    const json = JSON.parse(body);
    const message = json?.error?.message ?? json?.error ?? json?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the text itself is the message
  }
  return body.slice(0, 500);
}

export type RestMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export class RestClient {
  constructor(
    /** Names the provider in error messages. */
    private readonly providerName: string,
    private readonly baseURL: string,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * A GET whose body the caller streams (a file download, redirects followed): the response once its status is 2xx,
   * else the provider's words as a ProviderHttpError. `signal` ends it; no overall timeout, as a download may be long.
   */
  async open(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const response = await fetch(this.url(path), {
      headers: { Authorization: `Bearer ${this.apiKey}`, ...headers },
      signal,
    });
    if (!response.ok) throw this.failure('GET', path, response, await response.text());
    return response;
  }

  private url(path: string): string {
    return `${this.baseURL.replace(/\/+$/, '')}${path}`;
  }

  private failure(method: RestMethod, path: string, response: Response, text: string): ProviderHttpError {
    return new ProviderHttpError(
      `${this.providerName} ${method} ${path} failed with ${response.status}: ${errorMessage(text)}`,
      response.status,
      Object.fromEntries(response.headers.entries()),
    );
  }

  async request<T>(method: RestMethod, path: string, body?: FormData | object): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.apiKey}`, Accept: 'application/json' };
    let payload: FormData | string | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(this.url(path), {
      method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw this.failure(method, path, response, text);
    return JSON.parse(text) as T;
  }
}
