// The chat interface every model backend implements.
import type { ChatRequest, ChatResponse } from '../../core/types';
import type { ProviderRateLimit } from './rate-limit-headers';

/** Hands the gateway's limiter what a response's rate-limit headers said (a failed response's included). */
export type RateLimitObserver = (limit: ProviderRateLimit) => void;

export interface ChatBackend {
  /** One chat completion with `request.n` samples (default 1). Throws provider errors unclassified; see errors.ts. */
  complete(request: ChatRequest, signal?: AbortSignal, observe?: RateLimitObserver): Promise<ChatResponse>;
  /** Releases sockets, models, native memory. */
  close?(): Promise<void>;
}
