// Reading a chat-format training file: validating it line by line, and grading its labels against gold.
import { extractAnswer, sameAnswer } from './answer-format';
import type { GoldIndex, PromptMessage } from './gold-index';
import { countTokens } from './tokenizer';

export interface TrainingExample {
  messages: PromptMessage[];
}

export type TrainingFileCheck =
  { ok: true; examples: TrainingExample[]; tokens: number } | { ok: false; message: string };

const roles = new Set(['system', 'user', 'assistant', 'tool']);

function lineProblem(value: unknown): string | null {
  const messages = (value as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'expected an object with a non-empty "messages" array';
  for (const [i, message] of messages.entries()) {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !roles.has(role))
      return `messages[${i}].role must be one of ${[...roles].join(', ')}`;
    if (typeof content !== 'string') return `messages[${i}].content must be a string`;
  }
  if (!messages.some((m: PromptMessage) => m.role === 'assistant')) return 'no assistant message to learn from';
  return null;
}

/** Every non-blank line must be JSON `{messages: [{role, content}, ...]}` with an assistant message. */
export function checkTrainingFile(content: string): TrainingFileCheck {
  const examples: TrainingExample[] = [];
  let tokens = 0;
  const lines = content.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return { ok: false, message: `Invalid training file: line ${index + 1} is not valid JSON` };
    }
    const problem = lineProblem(value);
    if (problem) return { ok: false, message: `Invalid training file: line ${index + 1}: ${problem}` };
    const example = value as TrainingExample;
    examples.push(example);
    tokens += example.messages.reduce((sum, m) => sum + countTokens(m.content), 0);
  }
  if (examples.length === 0) return { ok: false, message: 'Invalid training file: it contains no examples' };
  return { ok: true, examples, tokens };
}

/** How many examples about a gold question teach its gold answer; examples about unknown questions are not graded. */
export function labelAgreement(
  examples: TrainingExample[],
  gold: GoldIndex,
  answerFormat: string,
): { matched: number; graded: number } {
  let matched = 0;
  let graded = 0;
  for (const { messages } of examples) {
    const last = messages.map((m) => m.role).lastIndexOf('assistant');
    const match = gold.find(messages.slice(0, last));
    if (!match) continue;
    graded++;
    if (sameAnswer(extractAnswer(answerFormat, messages[last].content), match.item.answer)) matched++;
  }
  return { matched, graded };
}
