// The simulated tokenizer: words and single punctuation marks, each carrying its leading whitespace
// (like GPT tokens such as " word"), so the tokens of a text always concatenate back to it exactly.
const tokenPattern = /\s*(?:[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_])|\s+/gu;

export function tokenize(text: string): string[] {
  return text.match(tokenPattern) ?? [];
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}
