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
  /** How many draws were over `maxPromptTokens` before this one. */
  redraws: number;
}

export interface RoundPromptsSpec {
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples' | 'kind' | 'labels'>;
  library: readonly string[];
  round: number;
  prompts: number;
  seed: number;
  /** A prompt of this many estimated tokens or more is drawn again (the authors: 3,000). */
  maxPromptTokens: number;
}

/** Draws of one prompt before the shortest of them is taken, where none fits (the authors draw for ever). */
const maxDraws = 100;

/**
 * One round's prompts: each shuffles the gold inputs, shows k library inputs (k uniform in 1..min(library, 10)),
 * and for classification asks for an input of a pseudo-label drawn uniformly from the labels. A prompt over
 * `maxPromptTokens` draws its shuffle and library inputs again, keeping its pseudo-label, as the authors' do.
 */
export function roundPrompts(spec: RoundPromptsSpec): GenerationPrompt[] {
  const exampleInputs = spec.task.examples.map((e) => e.input);
  const libraryShown = Math.min(spec.library.length, 10);
  return Array.from({ length: spec.prompts }, (_, i) => {
    const seed = mixSeed(spec.seed, spec.round, i);
    const random = seededRandom(seed);
    const firstK = libraryShown ? 1 + Math.floor(random() * libraryShown) : 0;
    const pseudoLabel =
      spec.task.kind === 'classification' ? spec.task.labels[Math.floor(random() * spec.task.labels.length)] : null;
    const draw = (attempt: number) => {
      const drawSeed = attempt === 0 ? seed : mixSeed(seed, 3, attempt);
      const k = attempt === 0 || !libraryShown ? firstK : 1 + Math.floor(seededRandom(drawSeed)() * libraryShown);
      const messages = inputGenerationPrompt({
        instruction: spec.task.instruction,
        exampleInputs: seededShuffle(exampleInputs, mixSeed(drawSeed, 1)),
        libraryInputs: seededSample(spec.library, k, mixSeed(drawSeed, 2)),
        pseudoLabel,
      });
      return { messages, pseudoLabel, redraws: attempt, tokens: overestimateMessageTokens(messages) };
    };
    let shortest = draw(0);
    for (let attempt = 1; shortest.tokens >= spec.maxPromptTokens && attempt < maxDraws; attempt++) {
      const next = draw(attempt);
      if (next.tokens < spec.maxPromptTokens || next.tokens < shortest.tokens) shortest = next;
    }
    return { messages: shortest.messages, pseudoLabel, redraws: shortest.redraws };
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

/** A chat message of a training file; `weight: 0` keeps an assistant message out of the loss. */
export type TrainingMessage = ChatMessage & { weight?: 0 | 1 };

/**
 * A fine-tuning example: the annotation prompt, then the answer. Only the answer is learnt, as in the authors'
 * completion-only loss: the gold answers before it are context (weight 0, OpenAI's chat fine-tuning format).
 */
export function taskTrainingExample(
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples'>,
  pair: IoExample,
): { messages: TrainingMessage[] } {
  const context = taskChat(task, pair.input).map((m): TrainingMessage =>
    m.role === 'assistant' ? { ...m, weight: 0 } : m,
  );
  return { messages: [...context, { role: 'assistant', content: pair.output, weight: 1 }] };
}

/** Training examples of the pairs, leaving out those over `maxExampleTokens` estimated tokens (the authors: 2,000). */
export function trainingSet(
  task: Pick<SelfGuideTaskDefinition, 'instruction' | 'examples'>,
  pairs: readonly IoExample[],
  maxExampleTokens: number,
): { examples: { messages: TrainingMessage[] }[]; tooLong: number } {
  const all = pairs.map((pair) => taskTrainingExample(task, pair));
  const examples = all.filter((e) => overestimateMessageTokens(e.messages) <= maxExampleTokens);
  return { examples, tooLong: all.length - examples.length };
}

/** A deliberately high token estimate of a text: one token per 3 UTF-8 bytes (English BPE averages about 4). */
export const overestimateTokens = (text: string) => Math.ceil(new TextEncoder().encode(text).length / 3);

/**
 * `overestimateTokens` of each message plus 4 per message for the chat template, so a prompt under budget by this
 * count fits the real context.
 */
export function overestimateMessageTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + overestimateTokens(m.content) + 4, 0);
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
