// The provider's prompt cache, as OpenAI describes its own: once a prompt of at least `minTokens` tokens has been
// sent, its prefixes (the first `minTokens`, then every `increment` more) are cached for the model, and a later
// prompt that starts with one of them reports those tokens as `usage.prompt_tokens_details.cached_tokens`.
import { createHash } from 'node:crypto';
import type { PromptCacheConfig } from './config';
import type { PromptMessage } from './gold-index';
import { tokenize } from './tokenizer';

/** Prefixes remembered at most; the oldest are forgotten first, as a provider's cache evicts. */
const capacity = 200_000;

export class PromptCache {
  /** Hashes of cached prefixes (model and tokens), in the order they were cached. */
  private readonly prefixes = new Set<string>();

  /** The prompt's tokens read from the cache; the prompt's own prefixes are cached for the requests after it. */
  read(model: string, messages: PromptMessage[], config: PromptCacheConfig): number {
    const { minTokens, increment } = config;
    if (minTokens <= 0) return 0;
    // Roles count as tokens too, so the same text under another role is another prefix.
    const tokens = messages.flatMap((m) => [`<${m.role}>`, ...tokenize(m.content)]);
    let cached = 0;
    const hash = createHash('sha256').update(model);
    let hashed = 0;
    for (let boundary = minTokens; boundary <= tokens.length; boundary += increment) {
      hash.update(tokens.slice(hashed, boundary).join('\u0000'));
      hashed = boundary;
      const prefix = hash.copy().digest('hex');
      if (this.prefixes.has(prefix)) cached = boundary;
      else this.remember(prefix);
    }
    return cached;
  }

  private remember(prefix: string): void {
    if (this.prefixes.size >= capacity) this.prefixes.delete(this.prefixes.values().next().value!);
    this.prefixes.add(prefix);
  }
}
