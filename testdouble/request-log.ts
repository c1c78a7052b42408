// Every provider request the double answered (or deliberately didn't), for tests to inspect.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';

/** The `requestHash` of a request: equal requests hash equal, whether sent online or inside a batch. */
export function requestHash(method: string, path: string, body: Buffer): string {
  return createHash('sha256').update(method).update(path).update(body).digest('hex');
}
/**
 * One request, answered or not: a call the rate limit rejected is logged too (`fault: 'rate_limit'`), so the requests
 * and tokens a client sent in any window can be counted by `time`.
 */
export interface RequestLogEntry {
  seq: number;
  /** Arrival, in milliseconds since the epoch. */
  time: number;
  method: string;
  path: string;
  /** The JSON body's `model`, when it has one. */
  model: string | null;
  /** sha256 hex of method + path + body. */
  requestHash: string;
  /** HTTP status sent; 0 when the connection was dropped without a response (reset, timeout). */
  status: number;
  /**
   * The injected fault ('429' | '500' | 'timeout' | 'reset' | 'malformed'), 'rate_limit' for a rate-limit rejection,
   * else null.
   */
  fault: string | null;
  durationMs: number;
  /** Model calls in flight at the double when this one arrived, itself included (0 for other requests). */
  concurrent: number;
  /** The tokens a model call counts against `rateLimit.tokensPerMinute` (rate-limit.ts), sent or rejected. */
  limitTokens?: number;
  /**
   * The tokens an answered model call reported, as a provider bills them (`cached_tokens`: of the prompt's, those its
   * prompt cache served, where any); null for anything else.
   */
  usage: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number } | null;
  /** Set for a line of a batch, answered as this chat call (`path` is the batch's endpoint): billed at batch price. */
  batchId?: string;
  /** A chat call's messages, kept only while the config's `logMessages` is on. */
  messages?: unknown[];
}

export class RequestLog {
  private lastSeq = 0;
  private entries: RequestLogEntry[] = [];
  /** A file each entry is also appended to as one JSON line: it outlives a double that a run started and stopped. */
  private mirror: string | null = null;

  mirrorTo(file: string): void {
    this.mirror = file;
  }

  nextSeq(): number {
    return ++this.lastSeq;
  }

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    if (this.mirror) appendFileSync(this.mirror, `${JSON.stringify(entry)}\n`);
  }

  /** In arrival order (entries are added as requests finish, which can be out of order). */
  list(): RequestLogEntry[] {
    return [...this.entries].sort((a, b) => a.seq - b.seq);
  }

  clear(): number {
    const cleared = this.entries.length;
    this.entries = [];
    return cleared;
  }
}

interface ReportedUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

/** The tokens a successful model call's reply reports: what a provider bills for it. */
export function billedUsage(answer: { status: number; body: unknown }): RequestLogEntry['usage'] {
  const usage = (answer.body as { usage?: ReportedUsage } | null)?.usage;
  if (answer.status !== 200 || typeof usage?.prompt_tokens !== 'number') return null;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens ?? 0,
    ...(cached ? { cached_tokens: cached } : {}),
  };
}
