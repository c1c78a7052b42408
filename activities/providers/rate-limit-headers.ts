// A provider's own account of its rate limits, read from OpenAI-style response headers (OpenAI, Azure OpenAI and
// Together send them): the gateway paces new starts by them when this worker's share of the configured limits is not
// all the account's traffic (shares that over-commit, another client on the same key).

/** What one response said; a field is absent when its header was missing or malformed. */
export interface ProviderRateLimit {
  remainingRequests?: number;
  remainingTokens?: number;
  /** Milliseconds from the response until the requests limit frees again. */
  resetRequestsMs?: number;
  resetTokensMs?: number;
}

const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
const durationPattern = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/;
const plainSeconds = /^\d+(?:\.\d+)?$/;

/**
 * A reset header's value in milliseconds, rounded up (a hold that ends early meets the limit again): a Go duration as
 * OpenAI writes it (`1s`, `6m0s`, `20ms`, `1m30.5s`) or plain seconds (`2`, `0.5`); undefined for anything else.
 */
export function resetMs(value: string): number | undefined {
  let ms = 0;
  if (plainSeconds.test(value)) ms = Number(value) * 1000;
  else if (durationPattern.test(value))
    for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g))
      ms += Number(amount) * unitMs[unit];
  else return undefined;
  // To whole nanoseconds first: 0.1 s is 100.00000000000001 ms in floating point, not 101 ms.
  return Math.ceil(Math.round(ms * 1e6) / 1e6);
}

function count(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function providerRateLimit(headers: Pick<Headers, 'get'>): ProviderRateLimit {
  const reset = (name: string) => {
    const value = headers.get(name);
    return value === null ? undefined : resetMs(value);
  };
  const limit: ProviderRateLimit = {
    remainingRequests: count(headers.get('x-ratelimit-remaining-requests')),
    remainingTokens: count(headers.get('x-ratelimit-remaining-tokens')),
    resetRequestsMs: reset('x-ratelimit-reset-requests'),
    resetTokensMs: reset('x-ratelimit-reset-tokens'),
  };
  return Object.fromEntries(Object.entries(limit).filter(([, v]) => v !== undefined));
}
