// SELF-GUIDE's prompts: input generation (stage 1), the task chat used for annotation, training and evaluation
// (stages 3-5), and Self-ICL's longer chat. Pure and seeded, so a replayed round builds the same prompts.
import { seededRandom, seededSample, seededShuffle } from './stats';
import type { ChatMessage, IoExample } from './types';

/** A SELF-GUIDE task as task.json defines it (lib/datasets.ts validates the file into this shape). */
export interface SelfGuideTaskDefinition {
  name: string;
  kind: 'classification' | 'generation';
  metric: 'exact_match' | 'rouge';
  instruction: string;
  /** The gold examples: at least one. */
  examples: IoExample[];
  /** Classification labels; empty for generation tasks. */
  labels: string[];
  noise_terms: string[];
}

/** The opening line the provider test double recognizes a generation prompt by. */
export const inputGenerationOpening = 'As an input generator, write one new [input] for the task below.';

export interface InputGenerationPromptParts {
  instruction: string;
  /** Gold example inputs, already shuffled: the format to follow strictly. */
  exampleInputs: readonly string[];
  /** Inputs accepted earlier in the run: lower-quality examples; none gives "N/A". */
  libraryInputs: readonly string[];
  /** Classification: the output the new input must have. */
  pseudoLabel: string | null;
}

const quoted = (inputs: readonly string[]) =>
  inputs.length ? inputs.map((input) => `[input]="${input}"`).join('\n\n') : 'N/A';

export function inputGenerationPrompt(parts: InputGenerationPromptParts): ChatMessage[] {
  const sections = [
    inputGenerationOpening,
    `[instruction]\n${parts.instruction}`,
    `High-quality example inputs. Follow their format very strictly:\n\n${quoted(parts.exampleInputs)}`,
    'Additional example inputs. Their format and content may be inaccurate; use them only for ideas:\n\n' +
      quoted(parts.libraryInputs),
  ];
  if (parts.pseudoLabel !== null) sections.push(`The expected output for the new [input] is: ${parts.pseudoLabel}`);
  sections.push(
    'Write a new [input] that differs from every example and follows the instruction. ' +
      'Reply with the new input only, without any other text.\n\n[input]=',
  );
  return [{ role: 'user', content: sections.join('\n\n') }];
}

/** Combines a seed with indices into a 32-bit seed, so every prompt of every round has its own stream. */
export function mixSeed(seed: number, ...parts: number[]): number {
  let h = seed >>> 0;
  for (const part of parts) h = Math.imul(h ^ (part >>> 0), 0x9e3779b1) ^ (h >>> 15);
  return h >>> 0;
}

export interface GenerationPrompt {
  messages: ChatMessage[];
  pseudoLabel: string | null;
}

export interface RoundPromptsSpec {
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples' | 'kind' | 'labels'>;
  library: readonly string[];
  round: number;
  prompts: number;
  seed: number;
}

/**
 * One round's prompts: each shuffles the gold inputs, shows k library inputs (k uniform in 1..min(library, 10)),
 * and for classification asks for an input of a pseudo-label drawn uniformly from the labels.
 */
export function roundPrompts(spec: RoundPromptsSpec): GenerationPrompt[] {
  const exampleInputs = spec.task.examples.map((e) => e.input);
  return Array.from({ length: spec.prompts }, (_, i) => {
    const seed = mixSeed(spec.seed, spec.round, i);
    const random = seededRandom(seed);
    const k = spec.library.length ? 1 + Math.floor(random() * Math.min(spec.library.length, 10)) : 0;
    const pseudoLabel =
      spec.task.kind === 'classification' ? spec.task.labels[Math.floor(random() * spec.task.labels.length)] : null;
    const messages = inputGenerationPrompt({
      instruction: spec.task.instruction,
      exampleInputs: seededShuffle(exampleInputs, mixSeed(seed, 1)),
      libraryInputs: seededSample(spec.library, k, mixSeed(seed, 2)),
      pseudoLabel,
    });
    return { messages, pseudoLabel };
  });
}

/**
 * The task as a chat: the instruction, each gold example as a user input and an assistant output, then the new
 * input.
 */
export function taskChat(
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples'>,
  input: string,
  demonstrations: readonly IoExample[] = [],
): ChatMessage[] {
  const turns = [...task.examples, ...demonstrations].flatMap((e): ChatMessage[] => [
    { role: 'user', content: e.input },
    { role: 'assistant', content: e.output },
  ]);
  return [{ role: 'system', content: task.instruction }, ...turns, { role: 'user', content: input }];
}

/** A fine-tuning example: the annotation prompt, then the answer. */
export function taskTrainingExample(
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples'>,
  pair: IoExample,
): { messages: ChatMessage[] } {
  return { messages: [...taskChat(task, pair.input), { role: 'assistant', content: pair.output }] };
}

/**
 * A deliberately high token estimate: one token per 3 UTF-8 bytes (English BPE averages about 4) plus 4 per message
 * for the chat template, so a prompt under budget by this count fits the real context.
 */
export function overestimateMessageTokens(messages: readonly ChatMessage[]): number {
  const encoder = new TextEncoder();
  return messages.reduce((sum, m) => sum + Math.ceil(encoder.encode(m.content).length / 3) + 4, 0);
}

/**
 * Self-ICL: the task chat with synthetic pairs added after the gold examples, in order, as many as keep the prompt
 * plus `answerTokens` within `contextTokens`.
 */
export function selfIclChat(
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples'>,
  input: string,
  synthetic: readonly IoExample[],
  contextTokens: number,
  answerTokens: number,
): ChatMessage[] {
  let budget = contextTokens - answerTokens - overestimateMessageTokens(taskChat(task, input));
  const demonstrations: IoExample[] = [];
  for (const pair of synthetic) {
    const cost = overestimateMessageTokens([
      { role: 'user', content: pair.input },
      { role: 'assistant', content: pair.output },
    ]);
    if (cost > budget) break;
    budget -= cost;
    demonstrations.push(pair);
  }
  return taskChat(task, input, demonstrations);
}
