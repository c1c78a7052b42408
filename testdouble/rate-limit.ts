// A sliding 60-second window over model calls, like a provider's requests-per-minute limit.
const windowMs = 60_000;

export class RateLimiter {
  private admitted: number[] = [];

  /**
   * Records the call and returns 0 when within `requestsPerMinute` (0 = unlimited); otherwise the seconds until a slot
   * frees.
   */
  admit(requestsPerMinute: number, now = Date.now()): number {
    if (requestsPerMinute <= 0) return 0;
    const firstInWindow = this.admitted.findIndex((time) => time > now - windowMs);
    this.admitted = firstInWindow < 0 ? [] : this.admitted.slice(firstInWindow);
    if (this.admitted.length >= requestsPerMinute) {
      return Math.max(1, Math.ceil((this.admitted[this.admitted.length - requestsPerMinute] + windowMs - now) / 1000));
    }
    this.admitted.push(now);
    return 0;
  }
}
