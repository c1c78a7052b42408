// What a run's stages are expected to call, read, write and cost before anything is paid for. Pure: the CLI estimates
// a config from its data, and workflows rescale a stage's estimate to the counts they know when the stage starts.
import type { FineTuneBackendConfig, ProvidersConfig } from './config';
import type { ChatMessage, StageUsage } from './types';

export interface TokenPrices {
  inputPerMillionTokens: number;
  outputPerMillionTokens: number;
  trainingPerMillionTokens: number;
}

const free: TokenPrices = { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 };

/** A provider's price table; local models (llama.cpp) cost nothing per token. */
export function pricesOf(providers: ProvidersConfig, name: string): TokenPrices {
  const provider = providers[name];
  return provider?.kind === 'openai-compatible' ? provider.prices : free;
}

/** About four characters per token for English BPE tokenizers: an estimate, not a count. */
export const textTokens = (text: string) => Math.ceil(text.length / 4);

export const messageTokens = (messages: readonly ChatMessage[]) =>
  messages.reduce((sum, m) => sum + textTokens(m.content), 0);

export interface StageEstimate {
  stage: string;
  /** What the stage scales with (questions, inputs, training examples): a workflow rescales the estimate by it. */
  units: number;
  calls: number;
  promptTokens: number;
  /** An upper bound: every completion runs to its max tokens. */
  completionTokens: number;
  /** Tokens trained on, over all epochs. */
  trainingTokens: number;
  costUsd: number;
  /** The part of `costUsd` that pays for training. */
  trainingUsd: number;
  /** The stage trains weights (a remote job or a local trainer), which a budget can require approval for. */
  fineTune: boolean;
}

const emptyStage = (stage: string, units = 0): StageEstimate => ({
  stage,
  units,
  calls: 0,
  promptTokens: 0,
  completionTokens: 0,
  trainingTokens: 0,
  costUsd: 0,
  trainingUsd: 0,
  fineTune: false,
});

export interface ChatWork {
  calls: number;
  /** Summed over every call. */
  promptTokens: number;
  maxTokens: number;
  /** Choices per call (annotation samples several answers in one call). */
  choices?: number;
  prices: TokenPrices;
}

export function chatEstimate(stage: string, units: number, work: ChatWork): StageEstimate {
  const completionTokens = work.calls * work.maxTokens * (work.choices ?? 1);
  const costUsd =
    (work.promptTokens * work.prices.inputPerMillionTokens + completionTokens * work.prices.outputPerMillionTokens) /
    1e6;
  return { ...emptyStage(stage, units), calls: work.calls, promptTokens: work.promptTokens, completionTokens, costUsd };
}

export function embeddingEstimate(stage: string, units: number, tokens: number, prices: TokenPrices): StageEstimate {
  return { ...emptyStage(stage, units), promptTokens: tokens, costUsd: (tokens * prices.inputPerMillionTokens) / 1e6 };
}

/** Epochs a job runs when none are configured: OpenAI picks by data size ("auto"); 3 is its usual choice. */
const defaultEpochs = 3;

/**
 * One fine-tune job: its examples' tokens times the epochs, at the training price of the provider the backend bills
 * through. The in-context backend trains nothing (its cost shows up as longer prompts, see `demonstrationTokens`).
 */
export function fineTuneEstimate(
  stage: string,
  backend: FineTuneBackendConfig,
  providers: ProvidersConfig,
  job: { examples: number; exampleTokens: number; epochs?: number },
): StageEstimate {
  if (backend.kind === 'in-context') return emptyStage(stage, job.examples);
  const trainingTokens = job.exampleTokens * (job.epochs ?? defaultEpochs);
  // A local trainer is not billed per token; OpenAI and Together are, through the provider the backend names.
  const prices = backend.kind === 'command' ? free : pricesOf(providers, backend.provider);
  const costUsd = (trainingTokens * prices.trainingPerMillionTokens) / 1e6;
  return { ...emptyStage(stage, job.examples), trainingTokens, costUsd, trainingUsd: costUsd, fineTune: true };
}

/** Extra prompt tokens per call of a model adapted by the in-context backend: its k nearest training examples. */
export function demonstrationTokens(backend: FineTuneBackendConfig, meanExampleTokens: number): number {
  return backend.kind === 'in-context' ? backend.k * meanExampleTokens : 0;
}

/** Several estimates as one stage (e.g. the four evaluations of a run), scaling with the largest part's units. */
export function combine(stage: string, parts: readonly StageEstimate[]): StageEstimate {
  return parts.reduce(
    (sum, p) => ({
      stage,
      units: Math.max(sum.units, p.units),
      calls: sum.calls + p.calls,
      promptTokens: sum.promptTokens + p.promptTokens,
      completionTokens: sum.completionTokens + p.completionTokens,
      trainingTokens: sum.trainingTokens + p.trainingTokens,
      costUsd: sum.costUsd + p.costUsd,
      trainingUsd: sum.trainingUsd + p.trainingUsd,
      fineTune: sum.fineTune || p.fineTune,
    }),
    emptyStage(stage),
  );
}

/**
 * The estimate for `units` instead of the planned count (e.g. the pseudo-labels actually selected); linear in units.
 */
export function rescale(estimate: StageEstimate, units: number): StageEstimate {
  if (estimate.units === 0 || units === estimate.units) return { ...estimate, units };
  const f = units / estimate.units;
  return {
    ...estimate,
    units,
    calls: Math.ceil(estimate.calls * f),
    promptTokens: Math.ceil(estimate.promptTokens * f),
    completionTokens: Math.ceil(estimate.completionTokens * f),
    trainingTokens: Math.ceil(estimate.trainingTokens * f),
    costUsd: estimate.costUsd * f,
    trainingUsd: estimate.trainingUsd * f,
  };
}

export const estimateTokens = (e: Pick<StageEstimate, 'promptTokens' | 'completionTokens' | 'trainingTokens'>) =>
  e.promptTokens + e.completionTokens + e.trainingTokens;

/** Limits a run may not cross without an operator's approval. */
export interface BudgetLimits {
  usd?: number;
  tokens?: number;
}

/**
 * What a run has spent: measured calls, plus the estimated training of the fine-tunes it started (providers do not
 * report it).
 */
export interface Spent {
  usd: number;
  tokens: number;
}

export const spentOf = (usage: StageUsage, training: { usd: number; tokens: number }): Spent => ({
  usd: usage.costUsd + training.usd,
  tokens: usage.promptTokens + usage.completionTokens + training.tokens,
});

/** Which limit a stage would cross if it ran, or null when it fits; a stage that costs nothing never crosses. */
export function crossedLimit(limits: BudgetLimits, spent: Spent, next: StageEstimate): 'usd' | 'tokens' | null {
  if (limits.usd !== undefined && next.costUsd > 0 && spent.usd + next.costUsd > limits.usd) return 'usd';
  if (limits.tokens !== undefined && estimateTokens(next) > 0 && spent.tokens + estimateTokens(next) > limits.tokens)
    return 'tokens';
  return null;
}
