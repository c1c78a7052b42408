// What a run's stages are expected to call, read, write and cost before anything is paid for. Pure: the CLI estimates
// a config from its data, and workflows rescale a stage's estimate to the counts they know when the stage starts.
import { stageBatchMode, type BatchableStage, type BatchOptions } from './batch';
import { batchTokenPrices, providerBatchApi, type FineTuneBackendConfig, type ProvidersConfig } from './config';
import { downloadProvider } from './contracts';
import type { ChatMessage, StageUsage } from './types';

export interface TokenPrices {
  inputPerMillionTokens: number;
  outputPerMillionTokens: number;
  trainingPerMillionTokens: number;
  /** Time-billed serving (config's `prices`): a dedicated endpoint's minutes or your own GPU's hours. */
  endpointPerMinute?: number;
  gpuHour?: number;
  tokensPerSecond?: number;
  /** Per million tokens through the provider's Batch API; absent where it has none. */
  batch?: { inputPerMillionTokens: number; outputPerMillionTokens: number };
}

const free: TokenPrices = { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 };

/** A provider's price table; local models (llama.cpp) cost nothing per token, only their GPU's time if priced. */
export function pricesOf(providers: ProvidersConfig, name: string): TokenPrices {
  const provider = providers[name];
  if (provider?.kind === 'openai-compatible')
    return providerBatchApi(provider)
      ? { ...provider.prices, batch: batchTokenPrices(provider.prices) }
      : provider.prices;
  return provider?.prices ? { ...free, ...provider.prices } : free;
}

/**
 * The provider a fine-tuned model is called through: the local server a downloaded Together checkpoint is served
 * on, else the backend's own.
 */
export function tunedModelProvider(backend: Exclude<FineTuneBackendConfig, { kind: 'in-context' }>): string {
  return backend.kind === 'together' && backend.serve === 'download' && backend.download
    ? downloadProvider(backend.download)
    : backend.provider;
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
  /**
   * What trains and serves the stage's model beyond per-token calls, each already in `costUsd`; absent where there
   * is none, and in estimates recorded before these were priced.
   */
  charges?: ComputeCharge[];
  /** Where some of the stage's calls can go through a Batch API: the stage priced online and batched. */
  batch?: StageBatchPricing;
}

/**
 * A stage whose calls `execution.batch` can send through their provider's Batch API, priced both ways; each figure is
 * the whole stage's (training and calls that cannot batch included), so the saving is `onlineUsd - costUsd`.
 */
export interface StageBatchPricing {
  /** The calls whose provider has a Batch API. */
  calls: number;
  /** Every call online. */
  onlineUsd: number;
  /** Every call that can go through a Batch API at its batch price. */
  batchUsd: number;
  /** The run sends them there: its `costUsd` is at the batch price. */
  batched: boolean;
}

/**
 * Training (per million tokens at Together or Fireworks, per GPU-hour on your machine), serving on your own GPU (per
 * GPU-hour) or a dedicated endpoint (per minute). `amount` and `rate` are null where nothing prices it: a local
 * trainer whose backend sets no `gpuHour`.
 */
export interface ComputeCharge {
  kind: 'training' | 'serving' | 'endpoint';
  unit: 'million tokens' | 'GPU-hour' | 'minute';
  amount: number | null;
  /** USD per unit. */
  rate: number | null;
  usd: number;
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
  /** A stage `execution.batch` can send through the provider's Batch API, if it has one: priced both ways. */
  batchable?: boolean;
}

const charge = (
  kind: ComputeCharge['kind'],
  unit: ComputeCharge['unit'],
  amount: number,
  rate: number,
): ComputeCharge => ({ kind, unit, amount, rate, usd: amount * rate });

/** What serving `tokens` costs in time on a provider billed by the minute or the GPU-hour; none if it is not. */
function servingTime(tokens: number, prices: TokenPrices): ComputeCharge[] {
  if (!prices.tokensPerSecond) return [];
  const minutes = tokens / prices.tokensPerSecond / 60;
  if (prices.endpointPerMinute !== undefined) return [charge('endpoint', 'minute', minutes, prices.endpointPerMinute)];
  if (prices.gpuHour !== undefined) return [charge('serving', 'GPU-hour', minutes / 60, prices.gpuHour)];
  return [];
}

const chargedUsd = (charges: readonly ComputeCharge[]) => charges.reduce((sum, c) => sum + c.usd, 0);

/** `charges` only where there are some, so estimates of stages priced per call keep their shape. */
const chargesField = (charges: ComputeCharge[]): Pick<StageEstimate, 'charges'> => (charges.length ? { charges } : {});

export function chatEstimate(stage: string, units: number, work: ChatWork): StageEstimate {
  const completionTokens = work.calls * work.maxTokens * (work.choices ?? 1);
  const serving = servingTime(work.promptTokens + completionTokens, work.prices);
  // A Batch API discounts the tokens, not the time a server takes to answer them.
  const at = (prices: Pick<TokenPrices, 'inputPerMillionTokens' | 'outputPerMillionTokens'>) =>
    (work.promptTokens * prices.inputPerMillionTokens + completionTokens * prices.outputPerMillionTokens) / 1e6 +
    chargedUsd(serving);
  const costUsd = at(work.prices);
  const batch = work.batchable && work.prices.batch;
  return {
    ...emptyStage(stage, units),
    ...chargesField(serving),
    calls: work.calls,
    promptTokens: work.promptTokens,
    completionTokens,
    costUsd,
    ...(batch ? { batch: { calls: work.calls, onlineUsd: costUsd, batchUsd: at(batch), batched: false } } : {}),
  };
}

/**
 * The stage at the price the run will pay: the batch price where `execution.batch` sends it through a Batch API,
 * always or, under `auto`, when a batch of it would hold at least autoMinCalls calls. `callsPerBatch` is the stage's
 * calls unless it sends several batches that `auto` weighs one by one (SELF-GUIDE's generation rounds). For one
 * workflow stage's estimate, before it is combined with others: each may batch or not on its own.
 */
export function batchPriced(
  estimate: StageEstimate,
  options: BatchOptions | undefined,
  stage: BatchableStage,
  callsPerBatch = estimate.batch?.calls ?? 0,
): StageEstimate {
  if (!estimate.batch || !options) return estimate;
  const mode = stageBatchMode(options, stage);
  const batched = mode === true || (mode === 'auto' && callsPerBatch >= options.autoMinCalls);
  const { onlineUsd, batchUsd } = estimate.batch;
  return { ...estimate, costUsd: batched ? batchUsd : onlineUsd, batch: { ...estimate.batch, batched } };
}

export function embeddingEstimate(stage: string, units: number, tokens: number, prices: TokenPrices): StageEstimate {
  const serving = servingTime(tokens, prices);
  const costUsd = (tokens * prices.inputPerMillionTokens) / 1e6 + chargedUsd(serving);
  return { ...emptyStage(stage, units), ...chargesField(serving), promptTokens: tokens, costUsd };
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
  const trained = { ...emptyStage(stage, job.examples), trainingTokens, fineTune: true };
  // A local trainer costs its machine's GPU-hours, when the backend prices them; OpenAI, Together and Fireworks
  // bill per token, through the provider the backend names.
  if (backend.kind === 'command') {
    if (backend.gpuHour === undefined || !backend.trainingTokensPerSecond) {
      const unpriced: ComputeCharge = { kind: 'training', unit: 'GPU-hour', amount: null, rate: null, usd: 0 };
      return { ...trained, charges: [unpriced] };
    }
    const hours = trainingTokens / backend.trainingTokensPerSecond / 3600;
    return billed(trained, charge('training', 'GPU-hour', hours, backend.gpuHour));
  }
  const perMillion = pricesOf(providers, backend.provider).trainingPerMillionTokens;
  return billed(trained, charge('training', 'million tokens', trainingTokens / 1e6, perMillion));
}

const billed = (trained: StageEstimate, training: ComputeCharge): StageEstimate => ({
  ...trained,
  charges: [training],
  costUsd: training.usd,
  trainingUsd: training.usd,
});

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
      ...chargesField([...(sum.charges ?? []), ...(p.charges ?? [])]),
      ...batchField(sum, p),
    }),
    emptyStage(stage),
  );
}

/** Two parts' batch pricing as one: a part that cannot batch costs the same both ways. */
function batchField(a: StageEstimate, b: StageEstimate): Pick<StageEstimate, 'batch'> {
  if (!a.batch && !b.batch) return {};
  const pricing = (e: StageEstimate): StageBatchPricing =>
    e.batch ?? { calls: 0, onlineUsd: e.costUsd, batchUsd: e.costUsd, batched: false };
  const [x, y] = [pricing(a), pricing(b)];
  return {
    batch: {
      calls: x.calls + y.calls,
      onlineUsd: x.onlineUsd + y.onlineUsd,
      batchUsd: x.batchUsd + y.batchUsd,
      batched: x.batched || y.batched,
    },
  };
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
    ...chargesField(
      (estimate.charges ?? []).map((c) => ({ ...c, amount: c.amount === null ? null : c.amount * f, usd: c.usd * f })),
    ),
    ...(estimate.batch && {
      batch: {
        ...estimate.batch,
        calls: Math.ceil(estimate.batch.calls * f),
        onlineUsd: estimate.batch.onlineUsd * f,
        batchUsd: estimate.batch.batchUsd * f,
      },
    }),
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
