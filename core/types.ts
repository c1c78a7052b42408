// Shared shapes that cross the workflow/activity boundary. No I/O here: workflows import this file.

/** A reference to an immutable JSONL artifact in the artifact store. Only references travel through workflows. */
export interface ArtifactRef {
  /** `artifact:sha256/<hex>`: content address inside the configured store. */
  uri: string;
  sha256: string;
  /** Number of JSONL records. */
  count: number;
  bytes: number;
}

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  max_tokens?: number;
  /** Number of samples. */
  n?: number;
  seed?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  stop?: string[];
  /** Constrain the answer to one of these strings (embedded llama.cpp only; remote backends ignore it). */
  choices?: string[];
  /**
   * The LoRA adapter of the model called (`ModelRef.adapter`). Embedded llama.cpp applies it; OpenAI-compatible
   * backends leave it out of the body, since a server names its adapters by `model`. Part of the response-cache key.
   */
  adapter?: ModelRef['adapter'];
  /** llama.cpp server's per-request adapter selection; adapters not listed run at scale 0. */
  lora?: { id: number; scale: number }[];
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: { token: string; logprob: number }[];
}

export interface ChatChoice {
  text: string;
  /** Per-token log-probabilities of `text`, or null when the backend gave none. */
  logprobs: TokenLogprob[] | null;
  finish_reason: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Of `prompt_tokens`, those the provider read from its prompt cache (a repeated prefix), billed at a discount. */
  prompt_tokens_details?: { cached_tokens?: number };
}

export interface ChatResponse {
  model: string;
  choices: ChatChoice[];
  usage: Usage;
}

/** Tokens, calls and money spent by one stage (or shard), summed as stages finish. */
export interface StageUsage {
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  /** Of `promptTokens`, those the provider's prompt cache served; absent where none. */
  cachedPromptTokens?: number;
  /** Measured calls, plus `timeBilledUsd`. */
  costUsd: number;
  /**
   * Estimated serving billed by time (a dedicated endpoint's minutes, your own GPU's hours: core/serving-spend.ts),
   * part of `costUsd`; absent where none.
   */
  timeBilledUsd?: number;
}

export const emptyUsage = (): StageUsage => ({
  calls: 0,
  cachedCalls: 0,
  promptTokens: 0,
  completionTokens: 0,
  costUsd: 0,
});

export function addUsage(a: StageUsage, b: StageUsage): StageUsage {
  return {
    calls: a.calls + b.calls,
    cachedCalls: a.cachedCalls + b.cachedCalls,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    ...(a.cachedPromptTokens || b.cachedPromptTokens
      ? { cachedPromptTokens: (a.cachedPromptTokens ?? 0) + (b.cachedPromptTokens ?? 0) }
      : {}),
    costUsd: a.costUsd + b.costUsd,
    ...(a.timeBilledUsd || b.timeBilledUsd ? { timeBilledUsd: (a.timeBilledUsd ?? 0) + (b.timeBilledUsd ?? 0) } : {}),
  };
}

/** The share of a usage's prompt tokens that the provider's prompt cache served; null when it served none. */
export function promptCacheShare(u: Pick<StageUsage, 'promptTokens' | 'cachedPromptTokens'>): number | null {
  return u.cachedPromptTokens && u.promptTokens > 0 ? u.cachedPromptTokens / u.promptTokens : null;
}

/** One multiple-choice item, as every loader produces it. `answer` is the gold letter, or null where unknown. */
export interface McqItem {
  id: string;
  question: string;
  options: string[];
  answer: string | null;
}

/** One input/output pair (plain JSONL datasets, SELF-GUIDE tasks, training examples). */
export interface IoExample {
  input: string;
  output: string;
}

export type FineTuneStatus = 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const terminalFineTuneStatuses: FineTuneStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface FineTuneHyperparameters {
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  lora?: boolean;
  loraRank?: number;
  loraAlpha?: number;
  gradientAccumulation?: number;
  /** Tokens an example is cut to. */
  cutoffTokens?: number;
  /** The share of the training set held out for evaluation during training. */
  validationShare?: number;
}

/** A trained adapter's folder in the artifact store (lib/adapter-archive.ts), and where it was on its trainer. */
export interface AdapterArchive {
  ref: ArtifactRef;
  root: string;
}

/** What a fine-tune backend reports about a job. */
export interface FineTuneJobState {
  jobId: string;
  status: FineTuneStatus;
  /** Model id to call once succeeded (remote model name, served adapter name, or `in-context:` model). */
  resultModel: string | null;
  /** Local adapter directory, for the command backend. */
  adapterPath?: string | null;
  /** That directory as stored in the artifact store by the trainer's host, for machines that cannot see it. */
  adapterArchive?: AdapterArchive;
  error: string | null;
  /** The most recent events, newest last. */
  events: string[];
  /** Share of the training done, in percent, where the provider reports one (Fireworks' `jobProgress.percent`). */
  progress?: number | null;
  /** A `command` job's trainer host: the task queue every later activity of the job is scheduled on. */
  hostQueue?: string;
}

/**
 * A callable model as stages hand it on: a provider's model id, optionally with a LoRA adapter or adapted in context
 * with a demonstration pool.
 */
export interface ModelRef {
  provider: string;
  model: string;
  /** Set by the in-context fine-tune backend: the k training examples nearest to each prompt are prepended as turns. */
  demonstrations?: { pool: ArtifactRef; k: number };
  /**
   * A LoRA adapter the model is called through. Engines that load adapters at runtime (vLLM, SGLang) serve it under
   * `name`, which is then also `model`; the embedded llama.cpp backend applies the GGUF file at `path` itself.
   */
  adapter?: { name: string; path: string; scale?: number; archive?: AdapterArchive };
  /** Set when a serving engine holds the adapter: stages re-load it before calling (a restarted server forgot it). */
  serving?: AdapterServingRef;
  /** Set when the model is called through a dedicated endpoint this run started: the run stops it at its end. */
  endpoint?: DedicatedEndpointRef;
  /** Set when a server this run started on a merged checkpoint serves the model: the run stops it at its end. */
  server?: CheckpointServerRef;
}

/**
 * A model server started as a detached process group on the worker's host, recorded (pid, host, server.log) in the
 * jobs folder there under the run's id and the checkpoint's name.
 */
export interface CheckpointServerRef {
  /** The run that started it: runs sharing a fine-tune job (and its checkpoint) each start and stop their own. */
  runId: string;
  /** The checkpoint's name: the model the server lists, and its record's folder. */
  name: string;
  /** How long a stopped server gets between SIGTERM and SIGKILL. */
  stopGraceSeconds: number;
  /**
   * Where it answers: its provider's baseURL on the model's own port, which calls go to (and so cache keys name).
   * Absent in runs recorded before each merged model had its own port: the provider's baseURL.
   */
  baseURL?: string;
}

/**
 * Hardware billed by the minute that serves the model, and the API (base URL, key variable) that releases it: a
 * Together dedicated endpoint (stopped), or a Fireworks deployment (`fireworks` set: the LoRA is unloaded from it, and
 * the deployment deleted when the run created it).
 */
export interface DedicatedEndpointRef {
  /** Together: the endpoint id; Fireworks: the deployment's name, `accounts/{account}/deployments/{id}`. */
  id: string;
  baseURL: string;
  apiKeyEnv: string;
  /** The fine-tuned model the endpoint serves, by Together's name for it (what a later job continues from). */
  trainedModel?: string;
  fireworks?: {
    /** The LoRA loaded onto the deployment: `accounts/{account}/models/{id}`. */
    model: string;
    /** Whether this run created the deployment, and so deletes it. */
    ownsDeployment: boolean;
  };
  /** When the run created it (or found it created), epoch milliseconds: its billed minutes count from here. */
  startedAt?: number;
}

/** Which engine serves an adapter, so a later stage can make sure it is still loaded. */
export interface AdapterServingRef {
  engine: 'vllm' | 'sglang' | 'llama-cpp' | 'llama-cpp-server';
  /** The provider (from `providers`) whose server holds the adapter. */
  provider: string;
  /** llama.cpp server: the id under which it preloaded the adapter, selected per request. */
  loraId?: number;
  /** Set when the engine loads the asking worker's copy of the stored adapter, not the trainer's path. */
  adapterFrom?: 'worker';
}

/** A contiguous slice of a dataset, stored as its own artifact so a shard activity reads only its items. */
export interface Shard {
  index: number;
  of: number;
  items: ArtifactRef;
}

/** A stage's shards listed in an artifact, one `Shard` a line, so that no workflow payload grows with their number. */
export interface ShardList {
  shards: ArtifactRef;
  /** The items of all shards together. */
  items: number;
}

/** A shard of a page of a ShardList, with its outputs of earlier stages that its work reads. */
export interface ShardPageEntry {
  shard: Shard;
  alongside: ArtifactRef[];
}

/**
 * The per-shard results of a sharded stage, one a line in shard order, each with the `output` artifact of its shard:
 * what a later stage or the stage's final step reads instead of a list of references in a payload.
 */
export interface ShardResults {
  shardResults: ArtifactRef;
}
