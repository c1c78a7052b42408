// Run configs of SELF-GUIDE (one task) and of its "one parameter fits all" campaign. Defaults follow the paper and
// the authors' scripts (vLLM sampling: 10 prompts a round, 500 tokens; annotation: 10 samples at 0.2, 30% majority).
import { z } from 'zod';
import {
  baseModelSchema,
  fineTuneBackendSchema,
  maxTokensSchema,
  modelRefSchema,
  readLimitFields,
  runCommon,
} from './config';

export const selfGuideTaskDataSchema = z
  .object({
    format: z.literal('selfguide-task'),
    /**
     * A task folder: task.json and test.jsonl (validation.jsonl for a campaign's validation tasks). Relative to the
     * config file.
     */
    path: z.string().min(1),
    ...readLimitFields,
  })
  .strict();
export type SelfGuideTaskData = z.infer<typeof selfGuideTaskDataSchema>;

/** The four knobs the campaign searches over. */
export const selfGuideSettingsSchema = z
  .object({
    inputTemperature: z.number().min(0).max(2).default(0.7),
    inputLengthFilter: z.boolean().default(false),
    /** Always off for classification tasks, whose outputs are labels. */
    outputLengthFilter: z.boolean().default(true),
    epochs: z.number().int().positive().default(3),
  })
  .strict();
export type SelfGuideSettings = z.infer<typeof selfGuideSettingsSchema>;

export const selfGuideGenerationSchema = z
  .object({
    /** Rounds of input generation; default 40 for classification tasks, 20 for generation tasks. */
    rounds: z.number().int().positive().optional(),
    promptsPerRound: z.number().int().positive().default(10),
    maxTokens: maxTokensSchema.default(500),
    /** A prompt of this many estimated tokens or more draws its examples again (the authors' context cutoff). */
    maxPromptTokens: z.number().int().positive().default(3000),
    /**
     * Whose filters clean generated inputs and annotation samples: this project's, or the authors' code's exactly
     * (`core/selfguide-filters.ts`). Absent means `ours`, as it did for runs recorded before the option, so their
     * inputs still match when an id is reused.
     */
    filters: z.enum(['ours', 'authors']).optional(),
  })
  .strict();

export const selfGuideAnnotationSchema = z
  .object({
    samples: z.number().int().positive().default(10),
    temperature: z.number().min(0).max(2).default(0.2),
    /** Share of the samples the most frequent answer needs to be kept. */
    minShare: z.number().min(0).max(1).default(0.3),
    /** The share counts the samples left after the filters (`kept`, the authors' code) or all samples drawn. */
    shareOf: z.enum(['kept', 'all']).default('kept'),
    maxTokens: maxTokensSchema.default(500),
    /**
     * The operator accepts or rejects each synthetic pair (`flt review`) before the model is fine-tuned on them.
     * Absent means no review, as in runs recorded before the option, so their inputs still match.
     */
    review: z.boolean().optional(),
  })
  .strict();

export const selfGuideEvaluationSchema = z
  .object({
    maxTokens: maxTokensSchema.default(500),
    /** Context window in tokens that Self-ICL fills with synthetic demonstrations (tokens estimated high). */
    contextTokens: z.number().int().positive().default(4096),
    /** Score only the first N lines of each test split. */
    testLimit: z.number().int().positive().optional(),
    /** Generation tasks: Super-NaturalInstructions' word-level ROUGE-L, or the authors' character-level one. */
    rouge: z.enum(['words', 'chars']).default('words'),
    /**
     * Classification tasks: our exact match (the task's labels, Super-NaturalInstructions' normalization), or the
     * authors' code's (labels from the split's gold outputs, articles kept). Absent means `ours`, as it did for runs
     * recorded before the option, so their inputs still match when an id is reused.
     */
    exactMatch: z.enum(['ours', 'authors']).optional(),
    /**
     * Evaluation items whose prompt is over 3,000 or whose gold output is over 500 estimated tokens: scored, or
     * dropped as the authors' code drops them (counting Vicuna tokens). Absent means `score`, as it did for runs
     * recorded before the option, so their inputs still match when an id is reused.
     */
    longItems: z.enum(['score', 'drop']).optional(),
    /**
     * Word-level ROUGE-L's stemmer: Porter's original algorithm, or NLTK's `PorterStemmer()`, which rouge_score uses.
     * Absent means `porter`, as it did for runs recorded before the option, so their inputs still match when an id
     * is reused.
     */
    stemmer: z.enum(['porter', 'nltk']).optional(),
  })
  .strict();

export const selfGuideFineTuneSchema = z
  .object({
    backend: fineTuneBackendSchema,
    learningRate: z.number().positive().optional(),
    batchSize: z.number().int().positive().optional(),
    lora: z.boolean().default(false),
    /** Training examples over this many estimated tokens are left out (the authors' max_seq_length). */
    maxExampleTokens: z.number().int().positive().default(2000),
    /**
     * Which epoch's model is SELF-GUIDE's: the best on the task's validation split, as the authors choose, where the
     * backend keeps a callable checkpoint per epoch and the task folder has a validation split; or the last. Absent:
     * `best-on-validation`.
     */
    epochChoice: z.enum(['best-on-validation', 'last']).optional(),
  })
  .strict();

const methodCommon = {
  ...runCommon,
  fineTune: selfGuideFineTuneSchema,
  generation: selfGuideGenerationSchema.default({ promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 }),
  annotation: selfGuideAnnotationSchema.default({
    samples: 10,
    temperature: 0.2,
    minShare: 0.3,
    shareOf: 'kept',
    maxTokens: 500,
  }),
  evaluation: selfGuideEvaluationSchema.default({ maxTokens: 500, contextTokens: 4096, rouge: 'words' }),
  seed: z.number().int().nonnegative().default(0),
};

export const selfguideRunSchema = z
  .object({
    method: z.literal('selfguide'),
    ...methodCommon,
    /** The model that generates, annotates, is evaluated and is fine-tuned; with `lora`, a served adapter. */
    model: baseModelSchema,
    data: z.object({ task: selfGuideTaskDataSchema }).strict(),
    settings: selfGuideSettingsSchema.default({
      inputTemperature: 0.7,
      inputLengthFilter: false,
      outputLengthFilter: true,
      epochs: 3,
    }),
  })
  .strict();
export type SelfGuideRunConfig = z.infer<typeof selfguideRunSchema>;

const nonEmptyUnique = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .min(1)
    .refine((values) => new Set(values.map((v) => JSON.stringify(v))).size === values.length, {
      error: 'must not repeat a value',
    });

export const selfGuideGridSchema = z
  .object({
    inputTemperature: nonEmptyUnique(z.number().min(0).max(2)).default([0.6, 0.7, 0.8, 0.9, 1.0]),
    /** The authors' grid keeps both length filters on; list `[true, false]` to search them too. */
    inputLengthFilter: nonEmptyUnique(z.boolean()).default([true]),
    outputLengthFilter: nonEmptyUnique(z.boolean()).default([true]),
    epochs: nonEmptyUnique(z.number().int().positive()).default([1, 2, 3]),
  })
  .strict();
export type SelfGuideGrid = z.infer<typeof selfGuideGridSchema>;

export const selfguideCampaignSchema = z
  .object({
    method: z.literal('selfguide-campaign'),
    ...methodCommon,
    /** The model that generates, annotates, is evaluated and is fine-tuned. */
    model: modelRefSchema,
    data: z
      .object({
        /** Tasks the setting is chosen on. */
        validation: z.array(selfGuideTaskDataSchema).min(1),
        /** Tasks the chosen setting is then applied to. */
        test: z.array(selfGuideTaskDataSchema).min(1),
      })
      .strict(),
    grid: selfGuideGridSchema.default({
      inputTemperature: [0.6, 0.7, 0.8, 0.9, 1.0],
      inputLengthFilter: [true],
      outputLengthFilter: [true],
      epochs: [1, 2, 3],
    }),
    campaign: z
      .object({
        /** One setting per task kind (the authors' code) or one across all tasks. */
        choose: z.enum(['per-kind', 'across-kinds']).default('per-kind'),
      })
      .strict()
      .default({ choose: 'per-kind' }),
    concurrency: z
      .object({
        /** (task, temperature) branches in flight at once. */
        branches: z.number().int().positive().default(2),
        /** Cells (filter settings and their fine-tunes and evaluations) in flight at once within a branch. */
        cells: z.number().int().positive().default(2),
      })
      .strict()
      .default({ branches: 2, cells: 2 }),
  })
  .strict()
  .refine((config) => !config.annotation.review, {
    path: ['annotation', 'review'],
    error: 'is for a single selfguide run: a campaign has many runs, and none should wait for a person',
  });
export type SelfGuideCampaignConfig = z.infer<typeof selfguideCampaignSchema>;

/** The paper's rounds of input generation when the config names none: 40 for classification, 20 for generation. */
export function roundsFor(rounds: number | undefined, kind: 'classification' | 'generation'): number {
  return rounds ?? (kind === 'classification' ? 40 : 20);
}
