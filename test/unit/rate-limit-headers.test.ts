// Reading a provider's OpenAI-style rate-limit headers: remaining requests and tokens, and when each resets.
import { providerRateLimit, resetMs } from '../../activities/providers/rate-limit-headers';

describe('resetMs', () => {
  it.each([
    ['1s', 1_000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1m30.5s', 90_500],
    ['1h2m', 3_720_000],
    ['0s', 0],
    ['2', 2_000],
    ['0.25', 250],
    ['0.29', 290],
    ['0.1s', 100],
    // Rounded up: a hold that ends early meets the limit again.
    ['1.2ms', 2],
    ['300us', 1],
  ])('reads %s as %d ms', (value, ms) => expect(resetMs(value)).toBe(ms));

  it.each(['', 'soon', '-1s', '1x', 's', '1m 2s', 'Infinity', '1e3'])('refuses %j', (value) =>
    expect(resetMs(value)).toBeUndefined(),
  );
});

describe('providerRateLimit', () => {
  it('reads the remaining requests and tokens and their resets', () => {
    const headers = new Headers({
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-requests': '6m0s',
      'x-ratelimit-reset-tokens': '20ms',
    });
    expect(providerRateLimit(headers)).toEqual({
      remainingRequests: 0,
      remainingTokens: 149_984,
      resetRequestsMs: 360_000,
      resetTokensMs: 20,
    });
  });

  it('leaves out what is missing or malformed', () => {
    const headers = new Headers({
      'x-ratelimit-remaining-requests': 'many',
      'x-ratelimit-remaining-tokens': '12',
      'x-ratelimit-reset-requests': '1s',
    });
    expect(providerRateLimit(headers)).toEqual({ remainingTokens: 12, resetRequestsMs: 1_000 });
    expect(providerRateLimit(new Headers())).toEqual({});
  });
});
