// What a test can tune about the provider test double, its defaults, and how patches merge in.
/** `lost-reply`: the request takes effect, then the connection drops before the answer, as a create can be lost. */
export type FaultKind = '429' | '500' | 'timeout' | 'reset' | 'malformed' | 'lost-reply';
/** The faults drawn from by default: those that leave the provider's state as it was. */
const transientFaultKinds: readonly FaultKind[] = ['429', '500', 'timeout', 'reset', 'malformed'];
export const faultKinds: readonly FaultKind[] = [...transientFaultKinds, 'lost-reply'];

export interface FaultConfig {
  /** Probability (0..1) that a request whose path matches `paths` gets a fault. */
  rate: number;
  /** Faults to choose from, uniformly. */
  kinds: FaultKind[];
  /** Value of the Retry-After header on injected 429s. */
  retryAfterSeconds: number;
  /** How long a 'timeout' fault holds the socket open before destroying it. */
  timeoutMs: number;
  /** Seed of the fault sequence; the sequence restarts whenever `faults` is configured. */
  seed: number;
  /** Regular expression tested against the request path. */
  paths: string;
  /** Only requests with one of these methods draw faults (default empty: every method). */
  methods: string[];
  /** At most this many faults after `faults` is configured (default 0: no limit). */
  limit: number;
}

export interface SimulatedModelConfig {
  /** Share of gold questions this model "knows" (answers correctly when greedy). */
  accuracy: number;
}

export interface FineTuneConfig {
  /** Duration of each job step: validation, queueing, every epoch, every finishing status. */
  stepMs: number;
  /** How far training on all-correct (or all-wrong) labels moves accuracy up (or down). */
  gain: number;
  /**
   * How long the OpenAI create answers after the job exists (default 0): a create that outlasts the client's timeout
   * leaves a job the caller never heard of, as a slow provider can.
   */
  createReplyDelayMs: number;
}

export interface TogetherEndpointConfig {
  /** Endpoints stay STARTING until this is set back to false (default false): a test's gate on "starting". */
  holdStarting: boolean;
}

export interface FireworksDeploymentConfig {
  /** Deployments stay CREATING until this is set back to false (default false): a test's gate on "starting". */
  holdCreating: boolean;
}

export interface CheckpointDownloadConfig {
  /** The next N checkpoint downloads stop halfway and drop the connection, as a download can break (default 0). */
  cutMidway: number;
}

export interface BatchConfig {
  /** How long each batch status lasts; 0 (the default): a batch moves only when a test advances it. */
  stepMs: number;
  /** A batch in progress expires once it has answered this many of its lines (default -1: never). */
  expireAfterLines: number;
  /** Lines whose custom_id matches this regular expression are answered with a 500 (default '': none). */
  failLines: string;
  /** Lines whose custom_id matches this regular expression are written cut short, as invalid JSON (default ''). */
  malformedLines: string;
}

/**
 * An account's limits on chat and embeddings calls in any sliding 60 s window (0 disables one); every model call then
 * carries the x-ratelimit headers of the limits set (testdouble/rate-limit.ts).
 */
export interface RateLimitConfig {
  requestsPerMinute: number;
  /** Counted as OpenAI estimates a call before answering it: prompt characters / 4 plus max_tokens per choice. */
  tokensPerMinute: number;
}

/** The prompt cache (prompt-cache.ts); OpenAI's thresholds by default. */
export interface PromptCacheConfig {
  /** Prompts shorter than this many tokens are never cached; 0 turns the cache off. */
  minTokens: number;
  /** Beyond `minTokens`, prefixes are cached in steps of this many tokens. */
  increment: number;
}

export interface DoubleConfig {
  /** Chat models (any of them can also embed). */
  models: Record<string, SimulatedModelConfig>;
  /** Extra model names accepted by /v1/embeddings only. */
  embeddingModels: string[];
  fineTune: FineTuneConfig;
  /** Fixed latency added to every chat and embeddings call. */
  latencyMs: number;
  /** How the answer appears in responses and is read back from training files; `{choice}` marks the answer. */
  answerFormat: string;
  faults: FaultConfig;
  /**
   * Together job statuses reported under another name (e.g. `{pending: "provisioning"}`), as when Together adds a
   * status a client does not know yet (default none).
   */
  togetherStatusRenames: Record<string, string>;
  /** Together's dedicated endpoints: each state lasts `fineTune.stepMs`. */
  togetherEndpoints: TogetherEndpointConfig;
  checkpointDownloads: CheckpointDownloadConfig;
  /** Fireworks deployments: each state lasts `fineTune.stepMs`. */
  fireworksDeployments: FireworksDeploymentConfig;
  /** OpenAI's and Together's batches (batch-routes.ts, together-batch-routes.ts): their clock and faults. */
  batches: BatchConfig;
  /** The next N fine-tune jobs (OpenAI or Together) fail with "simulated training failure". */
  failNextJobs: number;
  /**
   * OpenAI refuses every new fine-tuning job with a 403 `fine_tuning_unavailable`, as it does for an organisation
   * its self-serve closure has reached (default false).
   */
  openaiFineTuningClosed: boolean;
  /** Files and jobs get ids derived from their creation request instead of random ones (default false). */
  deterministicIds: boolean;
  rateLimit: RateLimitConfig;
  /** Chat prompts longer than this many characters are refused with a 400 context_length_exceeded; 0: no limit. */
  maxPromptChars: number;
  /**
   * Which server the chat route answers a model it does not serve as: OpenAI (`{error: {...}}`, the default), vLLM (a
   * flat `{object: "error", ...}` 404) or SGLang (a flat 400 for a `base:adapter` whose adapter is not loaded).
   */
  servingEngine: ServingEngine;
  /** Chat requests matching every field of one of these rules are refused with a 400, as a provider refuses an item. */
  refuse: RefusalRule[];
  /**
   * Chat requests whose prompt matches one of these rules are answered (200) with the rule's text instead of an
   * answer, as a model that declines in words does ("I cannot tell from this."), to every sample and seed alike.
   */
  declines: DeclineRule[];
  /** Chat calls' messages are kept in the request log (default false, so a large run's log stays small). */
  logMessages: boolean;
  promptCache: PromptCacheConfig;
}

export interface DeclineRule {
  /** Regular expression tested against the request's message contents, joined by newlines. */
  prompt: string;
  /** The whole response. */
  text: string;
}

/** Which chat requests to refuse: the fields given must all match. */
export interface RefusalRule {
  /** Regular expression tested against the request's message contents, joined by newlines. */
  prompt?: string;
  /** The request's `seed`. */
  seed?: number;
}

export type ServingEngine = 'openai' | 'vllm' | 'sglang';
const servingEngines: readonly ServingEngine[] = ['openai', 'vllm', 'sglang'];

export type DeepPartial<T> = T extends unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export type DoubleConfigPatch = DeepPartial<DoubleConfig>;

/** Paths that latency, the rate limit and (by default) faults apply to: the model-calling endpoints. */
export const modelCallPaths = '^/v1/(chat|embeddings)|^/together/v1/chat|^/fireworks/inference/v1/chat';

export function defaultConfig(): DoubleConfig {
  return {
    models: { 'sim-model': { accuracy: 0.6 }, 'sim-model-2': { accuracy: 0.5 } },
    embeddingModels: ['sim-embedding'],
    fineTune: { stepMs: 300, gain: 0.25, createReplyDelayMs: 0 },
    latencyMs: 0,
    answerFormat: 'Answer: {choice}',
    faults: {
      rate: 0,
      kinds: [...transientFaultKinds],
      retryAfterSeconds: 1,
      timeoutMs: 10_000,
      seed: 1,
      paths: modelCallPaths,
      methods: [],
      limit: 0,
    },
    togetherStatusRenames: {},
    togetherEndpoints: { holdStarting: false },
    checkpointDownloads: { cutMidway: 0 },
    fireworksDeployments: { holdCreating: false },
    batches: { stepMs: 0, expireAfterLines: -1, failLines: '', malformedLines: '' },
    failNextJobs: 0,
    openaiFineTuningClosed: false,
    deterministicIds: false,
    rateLimit: { requestsPerMinute: 0, tokensPerMinute: 0 },
    maxPromptChars: 0,
    servingEngine: 'openai',
    refuse: [],
    declines: [],
    logMessages: false,
    promptCache: { minTokens: 1024, increment: 128 },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge<T>(base: T, patch: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(patch)) return (patch === undefined ? base : patch) as T;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) merged[key] = deepMerge(merged[key], value);
  }
  return merged as T;
}

/** Returns a description of what is wrong with the merged config, or null when it is usable. */
export function configProblem(config: DoubleConfig): string | null {
  const { faults, models, fineTune } = config;
  if (!(faults.rate >= 0 && faults.rate <= 1)) return 'faults.rate must be between 0 and 1';
  if (!Array.isArray(faults.kinds) || faults.kinds.some((kind) => !faultKinds.includes(kind))) {
    return `faults.kinds must be a list of ${faultKinds.join(', ')}`;
  }
  if (!Array.isArray(faults.methods)) return 'faults.methods must be a list of HTTP methods';
  if (!(faults.limit >= 0)) return 'faults.limit must be a non-negative number';
  try {
    new RegExp(faults.paths);
  } catch {
    return `faults.paths is not a valid regular expression: ${faults.paths}`;
  }
  for (const [name, model] of Object.entries(models)) {
    if (!(model?.accuracy >= 0 && model.accuracy <= 1)) return `models.${name}.accuracy must be between 0 and 1`;
  }
  for (const [i, rule] of (config.refuse ?? []).entries()) {
    if (typeof rule !== 'object' || rule === null) return `refuse[${i}] must be an object`;
    try {
      new RegExp(rule.prompt ?? '');
    } catch {
      return `refuse[${i}].prompt is not a valid regular expression: ${rule.prompt}`;
    }
  }
  for (const [i, rule] of (config.declines ?? []).entries()) {
    if (typeof rule?.text !== 'string') return `declines[${i}].text must be a string`;
    try {
      new RegExp(rule.prompt);
    } catch {
      return `declines[${i}].prompt is not a valid regular expression: ${rule.prompt}`;
    }
  }
  for (const field of ['failLines', 'malformedLines'] as const) {
    try {
      new RegExp(config.batches[field]);
    } catch {
      return `batches.${field} is not a valid regular expression: ${config.batches[field]}`;
    }
  }
  if (!(config.batches.stepMs >= 0)) return 'batches.stepMs must be a non-negative number';
  if (!Number.isInteger(config.batches.expireAfterLines)) return 'batches.expireAfterLines must be an integer';
  const { minTokens, increment } = config.promptCache;
  if (!(Number.isInteger(minTokens) && minTokens >= 0)) return 'promptCache.minTokens must be a non-negative integer';
  if (!(Number.isInteger(increment) && increment > 0)) return 'promptCache.increment must be a positive integer';
  if (!(fineTune.stepMs >= 0)) return 'fineTune.stepMs must be a non-negative number';
  for (const limit of ['requestsPerMinute', 'tokensPerMinute'] as const)
    if (!(config.rateLimit[limit] >= 0)) return `rateLimit.${limit} must be a non-negative number`;
  if (!(config.checkpointDownloads.cutMidway >= 0))
    return 'checkpointDownloads.cutMidway must be a non-negative number';
  if (typeof config.answerFormat !== 'string' || !config.answerFormat.includes('{choice}')) {
    return 'answerFormat must contain {choice}';
  }
  if (!servingEngines.includes(config.servingEngine))
    return `servingEngine must be one of ${servingEngines.join(', ')}`;
  return null;
}
