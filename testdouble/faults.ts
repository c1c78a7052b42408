// Fault injection: a seeded sequence decides which model calls fail and how, so a test can replay it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultConfig, FaultKind } from './config';
import { textSeededRandom } from './hashing';
import { HttpError, sendReply } from './http';

export class FaultInjector {
  private random!: () => number;
  private paths!: RegExp;
  private injected = 0;
  private readonly heldSockets = new Set<NodeJS.Timeout>();

  constructor(private readonly config: () => FaultConfig) {
    this.reset();
  }

  /** Restarts the sequence from the configured seed; call after `faults` changes. */
  reset(): void {
    const { seed, paths } = this.config();
    this.random = textSeededRandom(`faults|${seed}`);
    this.paths = new RegExp(paths);
    this.injected = 0;
  }

  /** The fault for this request, or null. Only requests on matching paths (and methods) draw from the sequence. */
  decide(method: string, path: string): FaultKind | null {
    const { rate, kinds, limit, methods } = this.config();
    if (rate <= 0 || kinds.length === 0 || !this.paths.test(path)) return null;
    if (methods.length > 0 && !methods.includes(method)) return null;
    if (limit > 0 && this.injected >= limit) return null;
    if (this.random() >= rate) return null;
    this.injected++;
    return kinds[Math.floor(this.random() * kinds.length)];
  }

  /**
   * Answers (or refuses to answer) with the fault; `done` gets the status sent, 0 when none was. A `lost-reply` is
   * the caller's to apply, after the request took effect.
   */
  apply(kind: FaultKind, request: IncomingMessage, response: ServerResponse, done: (status: number) => void): void {
    const { retryAfterSeconds, timeoutMs } = this.config();
    switch (kind) {
      case '429': {
        const error = new HttpError(
          429,
          'Rate limit reached (injected by the provider test double).',
          'requests',
          'rate_limit_exceeded',
          null,
          {
            'retry-after': String(retryAfterSeconds),
          },
        );
        sendReply(response, { status: 429, body: error.body(), headers: error.headers });
        return done(429);
      }
      case '500': {
        const error = new HttpError(
          500,
          'The server had an error while processing your request (injected by the provider test double).',
          'server_error',
        );
        sendReply(response, { status: 500, body: error.body() });
        return done(500);
      }
      case 'malformed':
        // A 200 whose JSON body stops mid-way, as when a proxy cuts a response short.
        sendReply(response, {
          status: 200,
          body: '{"id":"chatcmpl-truncated","object":"chat.completion","choices":[{"index":0,"message":{"role":"assi',
          rawContentType: 'application/json',
        });
        return done(200);
      case 'reset':
      case 'lost-reply':
        request.socket.destroy();
        return done(0);
      case 'timeout': {
        const timer = setTimeout(() => {
          this.heldSockets.delete(timer);
          request.socket.destroy();
        }, timeoutMs);
        this.heldSockets.add(timer);
        // Logged when the connection ends, whether the client gave up first or the double dropped it.
        request.socket.once('close', () => {
          clearTimeout(timer);
          this.heldSockets.delete(timer);
          done(0);
        });
        return;
      }
    }
  }

  /** Cancels pending timeout drops; for shutdown. */
  stop(): void {
    for (const timer of this.heldSockets) clearTimeout(timer);
    this.heldSockets.clear();
  }
}
