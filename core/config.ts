// Zod schemas for everything a user writes in a run config. Pure: workflows import the inferred types.
import { z } from 'zod';
import { batchableStages } from './batch';
import { identifierRule, isIdentifier } from './identifiers';

/** An endpoint the worker calls: http:// or https:// only (a file:// URL would have it read local files). */
const httpUrl = z
  .string()
  .url()
  .refine((url) => /^https?:\/\//i.test(url), { error: 'must be an http:// or https:// URL' });

/**
 * Tokens one answer may take. A million is past any model's output limit; a larger number is a typo, and it would
 * make every cost estimate and budget check meaningless.
 */
export const maxTokensSchema = z
  .number()
  .int()
  .positive()
  .max(1_000_000, { error: 'must be at most 1000000 (tokens in one answer)' });

/** A task's name: part of the run id. */
export const taskNameSchema = z
  .string()
  .refine((value) => isIdentifier(value, 60), { error: `${identifierRule(60)} (it becomes part of the run id)` });

const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." or "-"');

export const pricesSchema = z
  .object({
    inputPerMillionTokens: z.number().nonnegative().default(0),
    outputPerMillionTokens: z.number().nonnegative().default(0),
    trainingPerMillionTokens: z.number().nonnegative().default(0),
    /**
     * Prompt tokens the provider's prompt cache served (a repeated prefix: `prompt_tokens_details.cached_tokens`); the
     * full input price when absent (no discount assumed: OpenAI's is half or more; check your provider's table).
     */
    cachedInputPerMillionTokens: z.number().nonnegative().optional(),
    /** Through the provider's Batch API; half the online price when absent. */
    batchInputPerMillionTokens: z.number().nonnegative().optional(),
    batchOutputPerMillionTokens: z.number().nonnegative().optional(),
    /** USD per minute of a dedicated endpoint (Together, Fireworks), which bills the minutes it is up. */
    endpointPerMinute: z.number().nonnegative().optional(),
    /** USD per GPU-hour of your own machine serving this provider (vLLM, SGLang, llama.cpp server). */
    gpuHour: z.number().nonnegative().optional(),
    /** Prompt and completion tokens the server processes per second: turns a stage's tokens into minutes. */
    tokensPerSecond: z.number().positive().optional(),
  })
  .strict()
  .refine((p) => p.endpointPerMinute === undefined || p.gpuHour === undefined, {
    error: 'set endpointPerMinute (a hosted endpoint) or gpuHour (your own GPU), not both',
  })
  .refine((p) => (p.endpointPerMinute === undefined && p.gpuHour === undefined) || p.tokensPerSecond !== undefined, {
    error: 'tokensPerSecond is required with endpointPerMinute or gpuHour: it turns tokens into minutes billed',
    path: ['tokensPerSecond'],
  });

const limits = {
  /** The provider account's requests per minute; each worker keeps to its FLT_PROVIDER_SHARE of them. */
  requestsPerMinute: z.number().positive().optional(),
  /** The account's prompt + completion tokens per minute (estimated before a call); shared as requests are. */
  tokensPerMinute: z.number().positive().optional(),
  /** Calls in flight at once across the worker. */
  maxConcurrency: z.number().int().positive().default(8),
  /**
   * Set by `flt resume --from` on the stages it runs again: answers cached and fine-tune jobs created without this
   * salt (or with another) are not reused, so those stages pay for new calls and jobs. Leave unset otherwise.
   */
  cacheSalt: z.string().min(1).optional(),
};

export const openAiCompatibleProviderSchema = z
  .object({
    kind: z.literal('openai-compatible'),
    /** Omit for api.openai.com. */
    baseURL: httpUrl.optional(),
    /**
     * Name of the worker environment variable holding the API key; the key itself never appears in a config. A
     * variable named here must be set. Omitted: OPENAI_API_KEY, which a server of your own (baseURL) may go without.
     */
    apiKeyEnv: z.string().min(1).optional(),
    /** Marks the project's provider test double so every report says the numbers are simulated. */
    testDouble: z.boolean().default(false),
    /**
     * The provider's Batch API, which `execution.batch` sends stages through: OpenAI's (also vLLM's and others that
     * copy it) or Together's. Omitted: OpenAI's for api.openai.com (no baseURL), none elsewhere.
     */
    batchApi: z.enum(['openai', 'together']).optional(),
    requestTimeoutSeconds: z.number().positive().default(120),
    prices: pricesSchema.default({ inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 }),
    ...limits,
  })
  .strict();

export const llamaCppProviderSchema = z
  .object({
    kind: z.literal('llama-cpp'),
    /** Path to a GGUF file on the worker. */
    modelPath: z.string().min(1),
    contextSize: z.number().int().positive().default(2048),
    gpu: z.boolean().default(false),
    threads: z.number().int().positive().optional(),
    /** What the worker's own GPU costs while it runs the model, for `flt estimate`: USD per GPU-hour, at a speed. */
    prices: z.object({ gpuHour: z.number().nonnegative(), tokensPerSecond: z.number().positive() }).strict().optional(),
    ...limits,
    maxConcurrency: z.number().int().positive().default(1),
  })
  .strict();

export const providerSchema = z.discriminatedUnion('kind', [openAiCompatibleProviderSchema, llamaCppProviderSchema]);
export type ProviderConfig = z.infer<typeof providerSchema>;
export type OpenAiCompatibleProviderConfig = z.infer<typeof openAiCompatibleProviderSchema>;
export type LlamaCppProviderConfig = z.infer<typeof llamaCppProviderSchema>;

export const providersSchema = z.record(name, providerSchema);
export type ProvidersConfig = z.infer<typeof providersSchema>;

/** Where a model is called: a provider name from `providers` and the provider's model id. */
export const modelRefSchema = z
  .object({
    provider: name,
    model: z.string().min(1),
  })
  .strict();
export type ModelSpec = z.infer<typeof modelRefSchema>;

/**
 * A LoRA adapter trained elsewhere, named in an `evaluate` config: `path` (a PEFT directory or a GGUF file, relative
 * to the config) is served on the model's provider by `serve` under the model's name, by the same step that serves a
 * freshly trained adapter, and unloaded at the run's end.
 */
export const configuredLoraSchema = z
  .object({
    path: z.string().min(1),
    serve: z.enum(['vllm', 'sglang', 'llama-cpp', 'llama-cpp-server']),
  })
  .strict();
export type ConfiguredLora = z.infer<typeof configuredLoraSchema>;

export const evaluatedModelSchema = modelRefSchema.extend({ lora: configuredLoraSchema.optional() }).strict();
export type EvaluatedModelSpec = z.infer<typeof evaluatedModelSchema>;

/**
 * The model a SemiEvol or SELF-GUIDE run starts from, named as an `evaluate` config names a model. With `lora`, the
 * run serves that adapter under the model's name before any stage calls it; since a fine-tune trains weights, not a
 * served name, the adapter also says which model it adapts and whether fine-tunes continue it.
 */
export const baseModelSchema = modelRefSchema
  .extend({
    lora: configuredLoraSchema
      .extend({
        /** The model the adapter adapts, as the fine-tune backend names it (the trainer's FLT_BASE_MODEL). */
        baseModel: z.string().min(1).optional(),
        /** Fine-tunes continue this adapter (the `command` backend's FLT_INIT_ADAPTER) instead of starting anew. */
        continue: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict();
export type BaseModelSpec = z.infer<typeof baseModelSchema>;

export const retrieverSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('bm25') }).strict(),
  z.object({ kind: z.literal('embeddings'), provider: name, model: z.string().min(1) }).strict(),
]);
export type RetrieverConfig = z.infer<typeof retrieverSchema>;

const pollIntervalSeconds = z.number().positive().default(30);
/**
 * When a job ends failed or cancelled at the provider: how many new jobs to start before failing the run with its
 * message (default 0).
 */
const retryFailedJobs = z.number().int().nonnegative().optional();

export const fineTuneBackendSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('openai'),
      /**
       * An openai-compatible provider whose endpoint and key are used for files and jobs; the result is called
       * through it.
       */
      provider: name,
      pollIntervalSeconds,
      retryFailedJobs,
    })
    .strict(),
  z
    .object({
      kind: z.literal('together'),
      baseURL: httpUrl.default('https://api.together.xyz/v1'),
      apiKeyEnv: z.string().default('TOGETHER_API_KEY'),
      /** The openai-compatible provider (Together's chat endpoint) the fine-tuned model is called through. */
      provider: name,
      pollIntervalSeconds,
      retryFailedJobs,
      /**
       * How the trained model is called. `serverless` (also when absent): by its name, as Together serves it;
       * `endpoint`: through a dedicated endpoint this run starts (see `endpoint`) and stops when it ends; `download`:
       * the checkpoint is downloaded and served by a server of your own (see `download`).
       */
      serve: z.enum(['serverless', 'endpoint', 'download']).optional(),
      /**
       * The checkpoint `serve: download` fetches once the job completes, and what serves it: your running vLLM or
       * SGLang server loads an adapter; a merged checkpoint gets a server of its own, which the run starts and stops.
       */
      download: z
        .object({
          /** `adapter`: the LoRA adapter (PEFT files); `merged`: full weights with the adapter merged in. */
          checkpoint: z.enum(['adapter', 'merged']).default('adapter'),
          /** An intermediate checkpoint by its training step instead of the final one. */
          checkpointStep: z.number().int().positive().optional(),
          /** An adapter's: the engine that loads it at runtime. */
          engine: z.enum(['vllm', 'sglang']).optional(),
          /** An adapter's: the openai-compatible provider (baseURL: your vLLM or SGLang server) that serves it. */
          provider: name.optional(),
          /** A merged checkpoint's: the server the run starts on it, and the provider it answers through. */
          server: z
            .object({
              /** A shell command; {dir}, {model} and {port} are replaced by the checkpoint's folder, name and port. */
              command: z.string().min(1),
              /** The openai-compatible provider whose baseURL the started server answers on ({port} is its port). */
              provider: name,
              /**
               * One port per merged model the run serves, each its own server, in the order the run trains them
               * (SemiEvol: M_warm, M_evol; SELF-GUIDE: its own model, few-shot fine-tuning's); the provider's baseURL
               * with that port is where the model is called. Absent: the provider's port, for one model.
               */
              ports: z
                .array(z.number().int().min(1).max(65535))
                .min(1)
                .refine((ports) => new Set(ports).size === ports.length, { error: 'must not list a port twice' })
                .optional(),
              /** How long the server may take to list the model before the start fails. */
              startTimeoutSeconds: z.number().positive().default(1800),
              /** How long a stopped server gets between SIGTERM and SIGKILL. */
              stopGraceSeconds: z.number().positive().default(30),
            })
            .strict()
            .optional(),
        })
        .strict()
        .refine((d) => d.checkpoint !== 'merged' || d.server !== undefined, {
          error:
            'is required with checkpoint: merged: {command, provider}, the server the run starts on the full weights',
          path: ['server'],
        })
        .refine((d) => d.checkpoint === 'merged' || d.server === undefined, {
          error: 'is only for checkpoint: merged; an adapter is loaded by your running engine (engine, provider)',
          path: ['server'],
        })
        .refine((d) => d.checkpoint === 'merged' || (d.engine !== undefined && d.provider !== undefined), {
          error: 'needs engine and provider with checkpoint: adapter (the running vLLM or SGLang server that loads it)',
          path: ['checkpoint'],
        })
        .optional(),
      /** The dedicated endpoint of `serve: endpoint`; it bills by the minute while it runs. */
      endpoint: z
        .object({
          /** Together's hardware id, e.g. `1x_nvidia_h100_80gb_sxm`. */
          hardware: z.string().min(1),
          minReplicas: z.number().int().nonnegative().default(1),
          maxReplicas: z.number().int().positive().default(1),
        })
        .strict()
        .refine((e) => e.maxReplicas >= e.minReplicas, {
          error: 'maxReplicas must be at least minReplicas',
          path: ['maxReplicas'],
        })
        .optional(),
    })
    .strict()
    .refine((b) => b.serve !== 'endpoint' || b.endpoint !== undefined, {
      error: 'serve: endpoint needs endpoint: {hardware} (the hardware the endpoint runs on)',
      path: ['endpoint'],
    })
    .refine((b) => b.serve !== 'download' || b.download !== undefined, {
      error: 'serve: download needs download: {engine, provider} or {checkpoint: merged, server} (what serves it)',
      path: ['download'],
    }),
  z
    .object({
      kind: z.literal('fireworks'),
      baseURL: httpUrl.default('https://api.fireworks.ai/v1'),
      apiKeyEnv: z.string().default('FIREWORKS_API_KEY'),
      /** The Fireworks account id that owns the datasets, jobs and trained models (`accounts/{account}/...`). */
      account: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and "-"'),
      /**
       * The openai-compatible provider (Fireworks' inference endpoint, https://api.fireworks.ai/inference/v1) the
       * trained model is called through.
       */
      provider: name,
      pollIntervalSeconds,
      retryFailedJobs,
      /**
       * How the trained LoRA is called. `serverless` (also when absent): by its model name; `deployment`: loaded onto
       * a deployment of its base model with addons enabled (see `deployment`), which bills by the minute.
       */
      serve: z.enum(['serverless', 'deployment']).optional(),
      /** The deployment of `serve: deployment`; absent, the run creates one replica, default hardware. */
      deployment: z
        .object({
          /**
           * An existing deployment (created with addons enabled) to load the LoRA onto; the run unloads the LoRA at
           * its end but never deletes the deployment. Unset: the run creates one and deletes it at its end.
           */
          id: z
            .string()
            .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and "-"')
            .optional(),
          /** Fireworks' accelerator type, e.g. `NVIDIA_H100_80GB`. */
          acceleratorType: z.string().min(1).optional(),
          acceleratorCount: z.number().int().positive().optional(),
          minReplicas: z.number().int().nonnegative().default(1),
          maxReplicas: z.number().int().positive().default(1),
        })
        .strict()
        .refine((d) => d.maxReplicas >= d.minReplicas, {
          error: 'maxReplicas must be at least minReplicas',
          path: ['maxReplicas'],
        })
        .optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('command'),
      /**
       * Shell command run in its own process group. It sees FLT_TRAIN_FILE, FLT_OUTPUT_DIR, FLT_BASE_MODEL,
       * FLT_EPOCHS, FLT_LEARNING_RATE, FLT_BATCH_SIZE, FLT_LORA and FLT_JOB_NAME (FLT_INIT_ADAPTER too when it
       * continues from a served adapter: SemiEvol's M_evol from M_warm), and leaves its adapter in FLT_OUTPUT_DIR;
       * it may leave each epoch's adapter in FLT_CHECKPOINT_DIR/epoch-<N>, which SELF-GUIDE scores to choose one.
       */
      command: z.string().min(1),
      /** The openai-compatible provider that serves the adapter (vLLM, llama.cpp server). */
      provider: name,
      /** Model id to call on that provider; `{job}` is replaced by the job name, `{adapter}` by the adapter path. */
      servedModel: z.string().default('{job}'),
      pollIntervalSeconds: z.number().positive().default(5),
      /**
       * Seconds without a heartbeat (default 60) after which a worker that cannot see the trainer's processes (it
       * runs in another container or on another host sharing the job directory) takes the trainer for dead.
       */
      heartbeatGraceSeconds: z.number().positive().optional(),
      /**
       * The task queue trainer workers (`worker.ts --role trainer`) take new jobs from; they must poll the same one
       * (FLT_TRAINER_TASK_QUEUE). Default: the run's task queue with `-trainer` appended, as the worker's default.
       */
      trainerTaskQueue: z.string().min(1).max(200).optional(),
      /**
       * Seconds (default 600) the trainer host that started a job gets to take each later activity of it (a poll, a
       * cancel): past them the host is taken for gone and the job for failed (`retryFailedJobs` then starts a new
       * one on any trainer host); a trainer that no worker polls for this long stops itself.
       */
      trainerHostGraceSeconds: z.number().positive().optional(),
      retryFailedJobs,
      /**
       * How the adapter becomes callable after training. `vllm`/`sglang`: loaded at runtime into `provider`'s
       * server under the served model name; `llama-cpp-server`: selected per request among the adapters the server
       * was started with (`--lora`); `llama-cpp`: applied by the embedded backend; `none` (also when absent, as in
       * runs recorded before this option): serving is the trainer's or the operator's job.
       */
      serve: z.enum(['vllm', 'sglang', 'llama-cpp', 'llama-cpp-server', 'none']).optional(),
      /**
       * Which path a serving engine (vLLM, SGLang, llama.cpp's server) is asked to load, since it reads it on its own
       * machine. `trainer` (default): the path the trainer wrote, for an engine on the trainer's machine or one that
       * sees its job directory at the same path; `worker`: the copy of the stored adapter on the inference worker that
       * asks, for an engine with inference workers beside it. Embedded llama.cpp and continued training always read
       * their own machine's copy.
       */
      serveAdapterFrom: z.enum(['trainer', 'worker']).optional(),
      /** USD per GPU-hour of the training machine (all its GPUs); without it `flt estimate` says "not priced". */
      gpuHour: z.number().nonnegative().optional(),
      /** Training tokens (over all epochs) the machine trains per second: turns a job's tokens into GPU-hours. */
      trainingTokensPerSecond: z.number().positive().optional(),
    })
    .strict()
    .refine((b) => (b.gpuHour === undefined) === (b.trainingTokensPerSecond === undefined), {
      error: 'gpuHour and trainingTokensPerSecond go together: one turns the other into a price',
      path: ['gpuHour'],
    }),
  z
    .object({
      kind: z.literal('in-context'),
      /** Demonstrations retrieved from the training set for each call. */
      k: z.number().int().positive().default(3),
    })
    .strict(),
]);
export type FineTuneBackendConfig = z.infer<typeof fineTuneBackendSchema>;

/** How much a dataset's files may hold, set per dataset or task folder; the defaults are in lib/datasets.ts. */
export const readLimitFields = {
  /** Largest file accepted, in bytes (default 256 MiB; at most 512 MiB, about the most V8 can hold as a string). */
  maxBytes: z
    .number()
    .int()
    .positive()
    .max(512 * 1024 * 1024)
    .optional(),
  /** Longest question, option, input or output accepted, in characters (default 100,000). */
  maxItemChars: z.number().int().positive().optional(),
};

export const datasetSchema = z
  .object({
    format: z.enum(['semievol-csv', 'open-csv', 'open-jsonl', 'io-jsonl']),
    /** Relative paths are resolved against the config file's folder. */
    path: z.string().min(1),
    ...readLimitFields,
  })
  .strict();
export type DatasetConfig = z.infer<typeof datasetSchema>;

export const samplingSchema = z
  .object({
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: maxTokensSchema.default(256),
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();

const batchModeSchema = z.union([z.boolean(), z.literal('auto')]);

export const batchSchema = z
  .object({
    /** Each batchable stage (collaborate, justify, generate-inputs, annotate-outputs, evaluate) not in `stages`. */
    mode: batchModeSchema.default(false),
    stages: z.partialRecord(z.enum(batchableStages), batchModeSchema).default({}),
    /** `auto` batches a stage that has at least this many calls to pay. */
    autoMinCalls: z.number().int().positive().default(1000),
    /** Items a finished batch left unanswered (expired, cancelled, failed lines): into a new batch, or online. */
    missing: z.enum(['batch', 'online']).default('batch'),
    /** New batches a stage may send for its unanswered items; what is still unanswered then is called online. */
    resubmissions: z.number().int().min(0).default(1),
    pollIntervalSeconds: z.number().positive().default(60),
  })
  .strict();

export const executionSchema = z
  .object({
    /** Items per shard activity. */
    shardSize: z.number().int().positive().default(100),
    /** Shard activities of one stage in flight at once. */
    parallelShards: z.number().int().positive().default(4),
    /**
     * Share of a stage's items that may fail on their own (the provider refuses the one request: a 400 such as a
     * prompt over the context window) before the stage stops; each such item is recorded, counted and dropped.
     */
    maxItemFailureShare: z.number().min(0).max(1).default(0.05),
    /** Stages sent through the provider's Batch API (half price, answers within a day) instead of online calls. */
    batch: batchSchema.optional(),
  })
  .strict();

/**
 * Spending limits: before a paid stage whose estimate would cross one, the run waits for `flt approve` or a raised
 * budget instead of failing.
 */
export const budgetSchema = z
  .object({
    usd: z.number().positive().optional(),
    /** Prompt, completion and training tokens. */
    tokens: z.number().int().positive().optional(),
    /** Every fine-tune stage waits for approval, whatever it costs. */
    approveFineTunes: z.boolean().default(false),
  })
  .strict();
export type BudgetConfig = z.infer<typeof budgetSchema>;

export const runCommon = {
  /** A label for humans: used in the run id and the Temporal UI. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,60}$/, 'at most 60 letters, digits, "_", "." or "-"')
    .optional(),
  task: taskNameSchema,
  providers: providersSchema,
  execution: executionSchema.prefault({}),
  budget: budgetSchema.optional(),
};

export const evaluateRunSchema = z
  .object({
    method: z.literal('evaluate'),
    ...runCommon,
    models: z.array(evaluatedModelSchema).min(1),
    data: z.object({ test: datasetSchema }).strict(),
    sampling: samplingSchema.default({ temperature: 0, maxTokens: 256, seed: 0 }),
    metric: z.enum(['option-letter', 'number', 'text-match']).default('option-letter'),
  })
  .strict();
export type EvaluateRunConfig = z.infer<typeof evaluateRunSchema>;

/** Cross-field check zod's shapes can't express: every `provider` field anywhere names a configured provider. */
export function checkReferences(
  config: { providers: ProvidersConfig } & Record<string, unknown>,
): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const names = Object.keys(config.providers);
  const visit = (value: unknown, at: (string | number)[]) => {
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, [...at, i]));
    if (!value || typeof value !== 'object') return;
    for (const [key, v] of Object.entries(value)) {
      if (key === 'provider' && typeof v === 'string' && !config.providers[v]) {
        problems.push({
          path: [...at, key],
          message: `must name a provider under "providers" (${names.join(', ') || 'none configured'}), got "${v}"`,
        });
      }
      visit(v, [...at, key]);
    }
  };
  for (const [key, value] of Object.entries(config)) if (key !== 'providers') visit(value, [key]);
  return [...problems, ...batchProblems(config)];
}

/** Stages that `execution.batch` always batches, while the model's provider has no Batch API to send them to. */
function batchProblems(config: { providers: ProvidersConfig } & Record<string, unknown>) {
  const batch = (config.execution as { batch?: z.infer<typeof batchSchema> } | undefined)?.batch;
  const name = (config.model as { provider?: unknown } | undefined)?.provider;
  const provider = typeof name === 'string' ? config.providers[name] : undefined;
  if (!batch || !provider || providerBatchApi(provider) !== null) return [];
  return batchableStages
    .filter((stage) => (batch.stages[stage] ?? batch.mode) === true)
    .map((stage) => ({
      path: ['execution', 'batch', ...(batch.stages[stage] === true ? ['stages', stage] : ['mode'])],
      message:
        `sends ${stage} through a Batch API, but provider "${name}" has none: set providers.${name}.batchApi ` +
        '(openai or together), or use "auto", which calls online where no Batch API is',
    }));
}

/** What a provider charges per million tokens through its Batch API: its batch prices, else half its online ones. */
export function batchTokenPrices(
  prices: Pick<
    z.infer<typeof pricesSchema>,
    'inputPerMillionTokens' | 'outputPerMillionTokens' | 'batchInputPerMillionTokens' | 'batchOutputPerMillionTokens'
  >,
): { inputPerMillionTokens: number; outputPerMillionTokens: number } {
  return {
    inputPerMillionTokens: prices.batchInputPerMillionTokens ?? prices.inputPerMillionTokens / 2,
    outputPerMillionTokens: prices.batchOutputPerMillionTokens ?? prices.outputPerMillionTokens / 2,
  };
}

/** The share of the input price a prompt-cache hit costs: 1 (no discount) unless `cachedInputPerMillionTokens` says. */
export function cachedInputShare(
  prices: Pick<z.infer<typeof pricesSchema>, 'inputPerMillionTokens' | 'cachedInputPerMillionTokens'>,
): number {
  const { inputPerMillionTokens: input, cachedInputPerMillionTokens: cached } = prices;
  return cached === undefined || input === 0 ? 1 : Math.min(1, cached / input);
}

/** The Batch API a provider offers, or null when it has none. */
export function providerBatchApi(config: ProviderConfig): 'openai' | 'together' | null {
  if (config.kind !== 'openai-compatible') return null;
  return config.batchApi ?? (config.baseURL === undefined ? 'openai' : null);
}
