import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { InvalidInput, typedError } from '../../core/errors';
import { classify, ProviderHttpError, retryAfterMs, toActivityFailure } from '../../activities/providers/errors';

describe('provider error classification', () => {
  it.each([408, 409, 429, 500, 502, 503])('HTTP %i is retryable', (status) => {
    expect(classify(new ProviderHttpError('x', status)).retryable).toBe(true);
  });

  it.each([400, 401, 403, 404, 422])('HTTP %i is not retryable', (status) => {
    expect(classify(new ProviderHttpError('x', status)).retryable).toBe(false);
  });

  it('says what to check on an auth error', () => {
    expect(classify(new ProviderHttpError('bad key', 401)).message).toMatch(/apiKeyEnv/);
  });

  it('honours Retry-After longer than a minute as the next retry delay', () => {
    const failure = toActivityFailure(new ProviderHttpError('slow down', 429, { 'retry-after': '120' }), 'chat');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(120000);
    expect(failure.message).toBe('chat: slow down');
  });

  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs({ 'retry-after-ms': '1500' })).toBe(1500);
    expect(retryAfterMs({ 'retry-after': '2' })).toBe(2000);
    expect(retryAfterMs({ 'retry-after': new Date(10_000 + 30_000).toUTCString() }, 10_000)).toBe(30000);
    expect(retryAfterMs({})).toBeUndefined();
  });

  it('classifies openai SDK errors by status and connection failures as retryable', () => {
    const rateLimited = APIError.generate(
      429,
      { error: { message: 'rate' } },
      'rate',
      new Headers({ 'retry-after': '3' }),
    );
    expect(classify(rateLimited)).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    expect(classify(APIError.generate(401, { error: { message: 'no' } }, 'no', new Headers())).retryable).toBe(false);
    expect(classify(new APIConnectionTimeoutError()).retryable).toBe(true);
    const reset = Object.assign(new Error('fetch failed'), {
      cause: Object.assign(new Error('socket'), { code: 'ECONNRESET' }),
    });
    expect(classify(reset).retryable).toBe(true);
  });

  it('treats a malformed response body as retryable', () => {
    expect(classify(new SyntaxError('Unexpected end of JSON input')).retryable).toBe(true);
  });

  it('treats an unknown programming error as not retryable', () => {
    expect(classify(new TypeError('x is not a function')).retryable).toBe(false);
  });
});

describe('classification by type, status and x-should-retry, never by message text', () => {
  const headers = (entries: Record<string, string> = {}) => new Headers(entries);

  it.each([408, 409, 429, 500, 502, 503])("the SDK's HTTP %i is retryable", (status) => {
    expect(classify(APIError.generate(status, { error: { message: 'x' } }, 'x', headers())).retryable).toBe(true);
  });

  it.each([400, 401, 403, 404, 422])("the SDK's HTTP %i is not retryable", (status) => {
    expect(classify(APIError.generate(status, { error: { message: 'x' } }, 'x', headers())).retryable).toBe(false);
  });

  it('obeys x-should-retry over the status, both ways', () => {
    const retryableBadRequest = APIError.generate(
      400,
      { error: { message: 'x' } },
      'x',
      headers({ 'x-should-retry': 'true' }),
    );
    expect(classify(retryableBadRequest)).toMatchObject({ retryable: true, type: 'ProviderHttp400' });
    const finalOutage = APIError.generate(
      503,
      { error: { message: 'x' } },
      'x',
      headers({ 'x-should-retry': 'false' }),
    );
    expect(classify(finalOutage)).toMatchObject({ retryable: false, type: 'ProviderHttp503' });
    expect(classify(new ProviderHttpError('x', 500, { 'x-should-retry': 'false' })).retryable).toBe(false);
    expect(toActivityFailure(finalOutage, 'chat').nonRetryable).toBe(true);
  });

  it('a 400 that mentions JSON stays a 400', () => {
    const badJson = APIError.generate(400, { error: { message: 'We could not parse the JSON body' } }, 'x', headers());
    expect(classify(badJson)).toMatchObject({ retryable: false, type: 'ProviderHttp400' });
  });

  it('connection errors of the SDK are retryable', () => {
    expect(classify(new APIConnectionError({ message: 'Connection error.' }))).toMatchObject({
      retryable: true,
      type: 'ProviderConnection',
    });
    expect(classify(new APIConnectionTimeoutError())).toMatchObject({ retryable: true, type: 'ProviderConnection' });
  });

  it('errors that merely mention JSON are not retryable', () => {
    expect(classify(new TypeError('Converting circular structure to JSON')).retryable).toBe(false);
    expect(classify(new Error('llama-cpp provider: the JSON schema grammar is invalid')).retryable).toBe(false);
    expect(classify(typedError(InvalidInput, 'line 3 of the artifact is not valid JSON'))).toMatchObject({
      retryable: false,
      type: InvalidInput,
    });
  });

  it("llama.cpp's failures to load or to fit a prompt are not retryable", () => {
    expect(classify(new Error('llama-cpp provider: model file not found at /m.gguf')).retryable).toBe(false);
    expect(classify(new Error('The context size is too small to generate a response')).retryable).toBe(false);
  });
});
