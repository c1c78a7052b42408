// SELF-GUIDE's rule-based filters: what they remove from generated inputs (stage 2) and from sampled outputs
// (stage 3). Every filter sees the text trimmed, except the input noise check, which (as in the authors' code) sees
// the raw generation, so blank lines around an input are the noise term "\n\n".
import { mean, populationStd } from './stats';

/** Chatbot boilerplate that marks a response as talk to the user rather than task data (the authors' list). */
export const chatbotPhrases: readonly string[] = [
  "Sure, I'd be happy to help!",
  'Of course!',
  'Let me check on that.',
  "I'm here to help.",
  'Great question!',
  'Let me see.',
  "That's a good question.",
  'Thanks for asking.',
  'Let me help you with that.',
  "No problem, here's the answer.",
  "I'm glad you asked.",
  'Alright, let me explain.',
  'Absolutely!',
  'I understand your question.',
];

export type InputDropReason = 'empty' | 'noise' | 'length' | 'duplicate';

export interface FilteredInput {
  input: string;
  kept: boolean;
  reason: InputDropReason | null;
}

export const codePointLength = (text: string) => [...text].length;

/** mu ± 2 sigma of the code-point lengths (population std), inclusive on both ends. */
export interface LengthBounds {
  min: number;
  max: number;
}

export function lengthBounds(examples: readonly string[]): LengthBounds {
  const lengths = examples.map(codePointLength);
  const mu = mean(lengths);
  const sigma = populationStd(lengths);
  return { min: mu - 2 * sigma, max: mu + 2 * sigma };
}

export const withinBounds = (text: string, bounds: LengthBounds) => {
  const length = codePointLength(text);
  return length >= bounds.min && length <= bounds.max;
};

/** Case-sensitive containment of a task noise term or a chatbot phrase. */
export function isNoise(text: string, noiseTerms: readonly string[]): boolean {
  return [...noiseTerms, ...chatbotPhrases].some((term) => term !== '' && text.includes(term));
}

export interface InputFilterSpec {
  /** The task's gold example inputs: the length reference and the first "already kept" inputs. */
  exampleInputs: readonly string[];
  noiseTerms: readonly string[];
  lengthFilter: boolean;
}

/**
 * Stage 2: empty, noise (untrimmed), length (when on), duplicate, in that order; the first failing filter names the
 * reason.
 */
export function applyInputFilters(inputs: readonly string[], spec: InputFilterSpec): FilteredInput[] {
  const bounds = lengthBounds(spec.exampleInputs);
  const seen = new Set(spec.exampleInputs.map((e) => e.trim()));
  return inputs.map((input) => {
    const text = input.trim();
    let reason: InputDropReason | null = null;
    if (text === '') reason = 'empty';
    else if (isNoise(input, spec.noiseTerms)) reason = 'noise';
    else if (spec.lengthFilter && !withinBounds(text, bounds)) reason = 'length';
    else if (seen.has(text)) reason = 'duplicate';
    else seen.add(text);
    return { input, kept: reason === null, reason };
  });
}

export type FilterCounts = Record<InputDropReason | 'kept', number>;

export function countReasons(filtered: readonly FilteredInput[]): FilterCounts {
  const counts: FilterCounts = { kept: 0, empty: 0, noise: 0, length: 0, duplicate: 0 };
  for (const f of filtered) counts[f.reason ?? 'kept']++;
  return counts;
}

export interface OutputFilterSpec {
  exampleOutputs: readonly string[];
  noiseTerms: readonly string[];
  lengthFilter: boolean;
}

/**
 * Stage 3's per-sample filter: not empty, not noise, and the gold outputs' length rule when the output length
 * filter is on.
 */
export function keepOutputSample(
  sample: string,
  spec: OutputFilterSpec,
  bounds = lengthBounds(spec.exampleOutputs),
): boolean {
  const text = sample.trim();
  return text !== '' && !isNoise(text, spec.noiseTerms) && (!spec.lengthFilter || withinBounds(text, bounds));
}
