// SELF-GUIDE's rule-based filters: what they remove from generated inputs (stage 2) and from sampled outputs
// (stage 3). Every filter sees the text trimmed, except the input noise check, which (as in the authors' code) sees
// the raw generation, so blank lines around an input are the noise term "\n\n". `filters: authors` applies the
// authors' code's rules instead (`applyAuthorsInputFilters`, `outputSampleFilter`).
import { mean, numpyStd, numpySum, populationStd } from './stats';

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

/** Whose filter rules apply: this project's, or the authors' code's exactly. */
export type FilterRules = 'ours' | 'authors';

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

/**
 * The authors' length rule, `int(mu - 2 sigma) <= len < int(mu + 2 sigma)`: numpy's mean and std of the code-point
 * lengths, each bound truncated toward zero (Python's `int`), the top exclusive; a negative lower bound stands.
 */
export function authorsLengthBounds(examples: readonly string[]): LengthBounds {
  const lengths = examples.map(codePointLength);
  const mu = numpySum(lengths) / lengths.length;
  const sigma = numpyStd(lengths);
  // `+ 0` turns Math.trunc's -0 into the 0 Python's int gives.
  return { min: Math.trunc(mu - 2 * sigma) + 0, max: Math.trunc(mu + 2 * sigma) + 0 };
}

export const withinAuthorsBounds = (text: string, bounds: LengthBounds) => {
  const length = codePointLength(text);
  return length >= bounds.min && length < bounds.max;
};

/** Case-sensitive containment of a task noise term or a chatbot phrase. */
export function isNoise(text: string, noiseTerms: readonly string[]): boolean {
  return [...noiseTerms, ...chatbotPhrases].some((term) => term !== '' && text.includes(term));
}

/** The authors' noise test: Python's `term in text`, so an empty term matches every text. */
const authorsNoise = (text: string, noiseTerms: readonly string[]) =>
  [...noiseTerms, ...chatbotPhrases].some((term) => text.includes(term));

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

/** A generated input and the round that produced it (1-based). */
export interface RoundInput {
  input: string;
  round: number;
}

/**
 * Stage 2 as the authors' code runs it, round by round on the raw generations: empty (`''` only), length (when on),
 * noise, then duplicate, the first failing rule naming the reason. A round's inputs are compared as generated with
 * the inputs kept in earlier rounds, which are kept stripped, and with the round's own kept ones as generated; gold
 * inputs are not compared, so a copy of one is kept.
 */
export function applyAuthorsInputFilters(generated: readonly RoundInput[], spec: InputFilterSpec): FilteredInput[] {
  const bounds = authorsLengthBounds(spec.exampleInputs);
  const keptStripped: string[] = [];
  let round: number | null = null;
  let seen = new Set<string>();
  return generated.map(({ input, round: inputRound }) => {
    if (inputRound !== round) {
      round = inputRound;
      seen = new Set(keptStripped);
    }
    let reason: InputDropReason | null = null;
    if (input === '') reason = 'empty';
    else if (spec.lengthFilter && !withinAuthorsBounds(input, bounds)) reason = 'length';
    else if (authorsNoise(input, spec.noiseTerms)) reason = 'noise';
    else if (seen.has(input)) reason = 'duplicate';
    else {
      seen.add(input);
      keptStripped.push(input.trim());
    }
    return { input, kept: reason === null, reason };
  });
}

/** Stage 2 under `rules`; ours ignore the rounds. */
export function filterInputsBy(
  rules: FilterRules,
  generated: readonly RoundInput[],
  spec: InputFilterSpec,
): FilteredInput[] {
  return rules === 'authors'
    ? applyAuthorsInputFilters(generated, spec)
    : applyInputFilters(
        generated.map((g) => g.input),
        spec,
      );
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

/**
 * The samples an input's vote counts. Ours: those `keepOutputSample` keeps, as drawn. The authors': every sample but
 * `''`, stripped, then their length rule (when on) and noise test on the stripped text; a blank sample thus stays,
 * as `''`, in the vote.
 */
export function outputSampleFilter(
  spec: OutputFilterSpec,
  rules: FilterRules,
): (samples: readonly string[]) => string[] {
  if (rules === 'ours') {
    const bounds = lengthBounds(spec.exampleOutputs);
    return (samples) => samples.filter((s) => keepOutputSample(s, spec, bounds));
  }
  const bounds = authorsLengthBounds(spec.exampleOutputs);
  return (samples) =>
    samples
      .filter((s) => s !== '')
      .map((s) => s.trim())
      .filter((s) => (!spec.lengthFilter || withinAuthorsBounds(s, bounds)) && !authorsNoise(s, spec.noiseTerms));
}
