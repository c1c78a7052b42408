// The chat interface every model backend implements.
import type { ChatRequest, ChatResponse } from '../../core/types';

export interface ChatBackend {
  /** One chat completion with `request.n` samples (default 1). Throws provider errors unclassified; see errors.ts. */
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
  /** Releases sockets, models, native memory. */
  close?(): Promise<void>;
}
