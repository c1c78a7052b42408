// The `semievol` run config: SemiEvol's options with the paper's defaults, and the authors' code variants as switches.
import { z } from 'zod';
import {
  baseModelSchema,
  datasetSchema,
  executionSchema,
  fineTuneBackendSchema,
  maxTokensSchema,
  retrieverSchema,
  runCommon,
  samplingSchema,
  type FineTuneBackendConfig,
  type RetrieverConfig,
} from './config';
import type { FineTuneHyperparameters } from './types';

/** Multiple-choice splits (option letters) or open-question splits (answers read from the "Answer:" line). */
const splitFormats = { multipleChoice: ['semievol-csv'], open: ['open-csv', 'open-jsonl'] } as const;
const splitSchema = datasetSchema.extend({
  format: z.enum([...splitFormats.multipleChoice, ...splitFormats.open]),
});
const isOpenFormat = (format: string) => (splitFormats.open as readonly string[]).includes(format);

export const hyperparametersSchema = z
  .object({
    epochs: z.number().int().positive().optional(),
    /** An absolute rate, except on OpenAI, which takes a multiplier of its own base rate. */
    learningRate: z.number().positive().optional(),
    batchSize: z.number().int().positive().optional(),
    lora: z.boolean().optional(),
    // The rest set what the authors' LLaMA-Factory config fixes; absent, each backend keeps its own default.
    loraRank: z.number().int().positive().optional(),
    loraAlpha: z.number().int().positive().optional(),
    gradientAccumulation: z.number().int().positive().optional(),
    cutoffTokens: z.number().int().positive().optional(),
    validationShare: z.number().gt(0).lt(1).optional(),
  })
  .strict();

type TrainerSetting = 'loraRank' | 'loraAlpha' | 'gradientAccumulation' | 'cutoffTokens' | 'validationShare';

/**
 * The trainer settings each backend passes on: all to a `command` trainer (FLT_* variables), the LoRA rank and alpha
 * to Together, the rank to Fireworks; OpenAI's API and the in-context backend take none.
 */
const trainerSettingsPassed: Record<FineTuneBackendConfig['kind'], readonly TrainerSetting[]> = {
  command: ['loraRank', 'loraAlpha', 'gradientAccumulation', 'cutoffTokens', 'validationShare'],
  together: ['loraRank', 'loraAlpha'],
  fireworks: ['loraRank'],
  openai: [],
  'in-context': [],
};
const trainerSettings = trainerSettingsPassed.command;

/** The paper's fine-tuning setup: LoRA, 2 epochs, lr 1e-4 for open models; 2 epochs for API models. */
export function paperHyperparameters(backend: FineTuneBackendConfig['kind']): FineTuneHyperparameters {
  if (backend === 'openai') return { epochs: 2 };
  if (backend === 'in-context') return {};
  return { epochs: 2, learningRate: 1e-4, lora: true };
}

/** The paper's Table 2 ablations, by the component each one removes. */
export const ablations = [
  'in-weight-propagation',
  'in-context-propagation',
  'collaborative-learning',
  'adaptive-selection',
] as const;
export type Ablation = (typeof ablations)[number];

/** BM25 unless an embedding model is configured, which the authors retrieve with. */
function defaultRetriever(embeddingModel: { provider: string; model: string } | undefined): RetrieverConfig {
  return embeddingModel ? { kind: 'embeddings', ...embeddingModel } : { kind: 'bm25' };
}

/** What each final fine-tune preset starts from, trains on, and its learning rate (undefined: the backend's). */
export const evolutionPresets = {
  paper: { from: 'base', data: 'labeled-and-selected', learningRate: undefined },
  authors: { from: 'warm', data: 'selected', learningRate: 1e-6 },
} as const;

/**
 * The backends that can continue M_warm's adapter: a local trainer that is handed the adapter's file (which it knows
 * once it serves it), Together (`from_checkpoint`) and Fireworks (`warmStartFrom`). OpenAI fine-tunes take no
 * absolute learning rate and the in-context backend trains nothing.
 */
export function continuesAdapters(backend: FineTuneBackendConfig): boolean {
  if (backend.kind === 'command') return backend.serve !== undefined && backend.serve !== 'none';
  return backend.kind === 'together' || backend.kind === 'fireworks';
}

const temperature = z.number().min(0).max(2).default(1);
const maxTokens = z.number().int().positive().default(1024);

export const semievolOptionsSchema = z
  .object({
    /**
     * How answers are read from responses, compared for consistency and scored: this project's way, or the authors'
     * code's exactly (`core/authors-answers.ts`). Absent means `ours`, as it did for runs recorded before the option
     * existed, so their inputs still match when an id is reused.
     */
    answers: z.enum(['ours', 'authors']).optional(),
    /** The prompts' layout: this project's (absent), or the authors' (instruction in the user turn, `Example i:`). */
    promptLayout: z.enum(['ours', 'authors']).optional(),
    /**
     * In-context propagation: the k labeled questions nearest to each unlabeled one; a collaborator is shown 0..k of
     * them.
     */
    propagation: z
      .object({
        k: z.number().int().min(0).max(20).default(3),
        /** The embedding model the authors retrieve with; when set, the default retriever. */
        embeddingModel: z
          .object({ provider: z.string().min(1), model: z.string().min(1) })
          .strict()
          .optional(),
        /** Default: embeddings of `embeddingModel` when it is set, else this project's BM25. */
        retriever: retrieverSchema.optional(),
      })
      .strict()
      .transform(({ retriever, ...propagation }) => ({
        ...propagation,
        retriever: retriever ?? defaultRetriever(propagation.embeddingModel),
      }))
      .prefault({}),
    /**
     * Collaborative inference: n collaborators, each with a model drawn from `models` and 0..k examples, sampled with
     * logprobs.
     */
    collaboration: z
      .object({
        n: z.number().int().positive().max(32).default(4),
        models: z
          .array(z.enum(['warm', 'base']))
          .min(1)
          .default(['warm', 'base']),
        temperature,
        maxTokens,
        /**
         * What collaborators, the justifier and evaluation are asked for: the answer line alone (the authors', and the
         * fine-tuning format) or brief reasoning before it.
         */
        style: z.enum(['answer', 'reasoning']).default('answer'),
      })
      .strict()
      .prefault({}),
    /** Self-justification of inconsistent questions by M_warm. */
    justification: z.object({ temperature, maxTokens }).strict().prefault({}),
    /**
     * Adaptive selection: keep pseudo-labels whose entropy is at most the theta-th percentile. The authors' code
     * instead keeps every consistent question and thresholds only the self-justified ones, strictly below.
     */
    selection: z
      .object({
        theta: z.number().min(0).max(100).default(50),
        among: z.enum(['all', 'self-justified']).default('all'),
        strict: z.boolean().default(false),
        /** H over the deciding response's tokens, or over its last "Answer:" line only. */
        entropyOver: z.enum(['response', 'answer-span']).default('response'),
        /**
         * The operator accepts or rejects each selected pseudo-label (`flt review`) before M_evol trains on them.
         * Absent means no review, as in runs recorded before the option, so their inputs still match.
         */
        review: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
    /**
     * The final fine-tune: from M_base on D_L + selected (`preset: paper`); the authors' later code continues M_warm's
     * adapter on the selected only, at learning rate 1e-6 (`preset: authors`). `from` and `data` given beside a preset
     * replace its choice.
     */
    evolution: z
      .object({
        preset: z.enum(['paper', 'authors']).default('paper'),
        from: z.enum(['base', 'warm']).optional(),
        data: z.enum(['labeled-and-selected', 'selected']).optional(),
      })
      .strict()
      .transform(({ preset, from, data }) => ({
        preset,
        from: from ?? evolutionPresets[preset].from,
        data: data ?? evolutionPresets[preset].data,
      }))
      .prefault({}),
    /** The RAG baseline: M_base with its k nearest labeled examples in a few-shot prompt. */
    rag: z
      .object({ k: z.number().int().positive().max(20).default(1) })
      .strict()
      .prefault({}),
    /** Components to remove, as in the paper's Table 2. */
    without: z.array(z.enum(ablations)).default([]),
  })
  .strict();
export type SemievolOptions = z.infer<typeof semievolOptionsSchema>;
export type SelectionOptions = SemievolOptions['selection'];

/** SemiEvol's default shard size (other methods: 100). */
export const semievolShardSize = 250;

export const semievolRunSchema = z
  .object({
    method: z.literal('semievol'),
    ...runCommon,
    /**
     * D_U can be large: shards of 250 keep a stage's history near 25 events per 1,000 questions and every workflow
     * payload under 256 KB at 100,000 questions (shards of 100: 60 events, and 370 KB inputs; see BENCHMARKS.md).
     */
    execution: executionSchema
      .extend({ shardSize: z.number().int().positive().default(semievolShardSize) })
      .prefault({}),
    /** M_base: the model every stage starts from; with `lora`, an adapter served under its name. */
    model: baseModelSchema,
    /** D_L, D_U (its answers, if any, are read only for the pseudo-label accuracy diagnostic) and the test split. */
    data: z.object({ labeled: splitSchema, unlabeled: splitSchema, test: splitSchema }).strict(),
    fineTune: z
      .object({
        backend: fineTuneBackendSchema,
        /** Both fine-tunes; the paper's setup for the backend when omitted. */
        hyperparameters: hyperparametersSchema.optional(),
        /**
         * The final fine-tune only (the authors use lr 1e-6 when continuing from M_warm); `hyperparameters` when
         * omitted.
         */
        finalHyperparameters: hyperparametersSchema.optional(),
      })
      .strict(),
    semievol: semievolOptionsSchema.prefault({}),
    /**
     * Evaluation sampling; `seed` is the run's seed: collaborator draws and every request's seed derive from it.
     * `maxTokens` defaults by `collaboration.style` (`evaluationMaxTokens`).
     */
    sampling: samplingSchema.extend({ maxTokens: maxTokensSchema.optional() }).prefault({}),
    /**
     * How evaluations and the pseudo-label diagnostic score answers. Default from the data: `option-letter` for
     * multiple-choice splits; for open ones `number` when every gold answer reads as a number, else `text-match`.
     */
    metric: z.enum(['option-letter', 'number', 'text-match']).optional(),
  })
  .strict()
  .superRefine((config, context) => {
    const { data, metric } = config;
    const open = isOpenFormat(data.labeled.format);
    for (const split of ['unlabeled', 'test'] as const) {
      if (isOpenFormat(data[split].format) !== open)
        context.addIssue({
          code: 'custom',
          path: ['data', split, 'format'],
          message:
            `must be ${open ? 'an open-question format (open-csv or open-jsonl)' : 'semievol-csv'} like ` +
            'data.labeled, since a run pseudo-labels one kind of question',
        });
    }
    if (metric && (metric === 'option-letter') === open)
      context.addIssue({
        code: 'custom',
        path: ['metric'],
        message: open
          ? 'must be "number" or "text-match" for open questions'
          : 'must be "option-letter" for multiple-choice questions',
      });
    const { backend } = config.fineTune;
    for (const which of ['hyperparameters', 'finalHyperparameters'] as const) {
      const passed = trainerSettingsPassed[backend.kind];
      for (const setting of trainerSettings) {
        if (config.fineTune[which]?.[setting] === undefined || passed.includes(setting)) continue;
        context.addIssue({
          code: 'custom',
          path: ['fineTune', which, setting],
          message:
            `is not passed on by the ${backend.kind} fine-tune backend, which passes ` +
            `${passed.length ? passed.join(' and ') : 'none'} of ${trainerSettings.join(', ')} ` +
            '(a command trainer gets them all)',
        });
      }
    }
    if (config.semievol.evolution.preset === 'authors' && !continuesAdapters(backend))
      context.addIssue({
        code: 'custom',
        path: ['semievol', 'evolution', 'preset'],
        message:
          `is authors, which continues M_warm's adapter, and fineTune.backend ${backend.kind}` +
          `${backend.kind === 'command' ? ' without serve' : ''} cannot; command (with serve), together and ` +
          'fireworks can',
      });
  });
export type SemievolRunConfig = z.infer<typeof semievolRunSchema>;

/** Evaluation max tokens by prompt style: reasoning needs room to reach its answer line. */
export const evaluationMaxTokens = { answer: 256, reasoning: 1024 } as const;

/** The run's evaluation sampling with its max tokens resolved. */
export function semievolSampling(config: SemievolRunConfig) {
  const maxTokens = config.sampling.maxTokens ?? evaluationMaxTokens[config.semievol.collaboration.style];
  return { ...config.sampling, maxTokens };
}
