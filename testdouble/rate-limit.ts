// A sliding 60-second window over model calls, like a provider account's requests- and tokens-per-minute limits,
// and the OpenAI-style x-ratelimit headers saying what is left of them.
import type { RateLimitConfig } from './config';

const windowMs = 60_000;

export type Admission = { admitted: true } | { admitted: false; limitedBy: 'requests' | 'tokens'; retryAfter: number };

/**
 * The tokens a call counts against the limit, as OpenAI estimates them before answering: about 4 characters a token
 * of the prompt (chat messages' text, embeddings' input) plus `max_tokens` (256 when absent) for each of `n` choices.
 * The gateway estimates a call the same way, so a worker's own count never falls below the double's.
 */
export function rateLimitTokens(body: Record<string, unknown>): number {
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : Array.isArray(value) ? value.map(text).join('') : '';
  if (Array.isArray(body.messages)) {
    const chars = body.messages.reduce((sum: number, m) => sum + text((m as { content?: unknown })?.content).length, 0);
    const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : 256;
    return Math.ceil(chars / 4) + maxTokens * (typeof body.n === 'number' ? body.n : 1);
  }
  return Math.ceil(text(body.input).length / 4);
}

/** `ms` as OpenAI writes a reset: `20ms`, `1.5s`, `6m0s`. */
export function formatReset(ms: number): string {
  const whole = Math.ceil(ms);
  if (whole < 1000) return `${whole}ms`;
  const minutes = Math.floor(whole / 60_000);
  const seconds = (whole % 60_000) / 1000;
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

export class RateLimiter {
  /** Admitted calls in the window, oldest first. */
  private admitted: { time: number; tokens: number }[] = [];

  /** Records the call when every limit (0 = none) has room for it in the window; otherwise says which has not. */
  admit(limits: RateLimitConfig, tokens: number, now = Date.now()): Admission {
    if (limits.requestsPerMinute <= 0 && limits.tokensPerMinute <= 0) return { admitted: true };
    const requestsWait = this.wait(limits.requestsPerMinute, () => 1, 1, now);
    const tokensWait = this.wait(limits.tokensPerMinute, (call) => call.tokens, tokens, now);
    if (requestsWait > 0 || tokensWait > 0)
      return {
        admitted: false,
        limitedBy: requestsWait > 0 ? 'requests' : 'tokens',
        retryAfter: Math.max(1, Math.ceil(Math.max(requestsWait, tokensWait) / 1000)),
      };
    this.admitted.push({ time: now, tokens });
    return { admitted: true };
  }

  /**
   * The x-ratelimit headers of each configured limit: what is left in the window, and when it frees: for requests
   * when the oldest call leaves it, for tokens when room for another call of `tokens` frees (when the oldest leaves,
   * if there is room now).
   */
  headers(limits: RateLimitConfig, tokens: number, now = Date.now()): Record<string, string> {
    this.expire(now);
    const headers: Record<string, string> = {};
    const oldestLeaves = this.admitted.length > 0 ? this.admitted[0].time + windowMs - now : 0;
    if (limits.requestsPerMinute > 0) {
      headers['x-ratelimit-limit-requests'] = String(limits.requestsPerMinute);
      headers['x-ratelimit-remaining-requests'] = String(Math.max(0, limits.requestsPerMinute - this.admitted.length));
      headers['x-ratelimit-reset-requests'] = formatReset(oldestLeaves);
    }
    if (limits.tokensPerMinute > 0) {
      const used = this.admitted.reduce((sum, call) => sum + call.tokens, 0);
      const roomIn = this.wait(limits.tokensPerMinute, (call) => call.tokens, tokens, now);
      headers['x-ratelimit-limit-tokens'] = String(limits.tokensPerMinute);
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, limits.tokensPerMinute - used));
      headers['x-ratelimit-reset-tokens'] = formatReset(roomIn > 0 ? roomIn : oldestLeaves);
    }
    return headers;
  }

  /** Milliseconds until `needed` more fits under `limit` (0 = none) as the oldest calls leave the window. */
  private wait(limit: number, weight: (call: { tokens: number }) => number, needed: number, now: number): number {
    if (limit <= 0) return 0;
    this.expire(now);
    let used = this.admitted.reduce((sum, call) => sum + weight(call), 0);
    if (used + needed <= limit) return 0;
    for (const call of this.admitted) {
      used -= weight(call);
      if (used + needed <= limit) return call.time + windowMs - now;
    }
    // More than the whole limit: no call fits; it is refused until the window is empty.
    return this.admitted.length > 0 ? this.admitted[this.admitted.length - 1].time + windowMs - now : windowMs;
  }

  /** Forgets every call: a changed limit starts from an empty window. */
  reset(): void {
    this.admitted = [];
  }

  private expire(now: number): void {
    const firstInWindow = this.admitted.findIndex((call) => call.time > now - windowMs);
    this.admitted = firstInWindow < 0 ? [] : this.admitted.slice(firstInWindow);
  }
}
