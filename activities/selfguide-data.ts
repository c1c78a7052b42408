// SELF-GUIDE stages 1-3 as activities: a round of input generation, the input filters, sampling annotations, and
// voting them into synthetic pairs and training files. Every result has a deterministic artifact name, looked up first.
import { selfGuideBatchStage } from '../core/batch';
import type { ProvidersConfig } from '../core/config';
import type { FilterStageResult, GenerateInputRoundResult, ItemFailure, SyntheticDataResult } from '../core/contracts';
import { synthesizePairs, type AnnotatedInput } from '../core/selfguide-annotation';
import { countReasons, filterInputsBy, type FilterRules } from '../core/selfguide-filters';
import { mixSeed, roundPrompts, taskChat, trainingSet, type SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import type { ArtifactRef, ModelRef, StageUsage } from '../core/types';
import type { ArtifactStore } from '../lib/artifacts';
import type { ActivityDeps } from './context';
import { recordFailures } from './item-failure-records';
import { ShardCalls } from './shard-calls';
import { finishedShardRecords, recordUsage } from './shard-usage-records';

export interface GeneratedInput {
  input: string;
  round: number;
  pseudoLabel: string | null;
  /** Draws of its prompt that were over the token limit (absent in runs recorded before the limit). */
  redraws?: number;
}

interface StageInput {
  runId: string;
  stage: string;
  /** Set when the stage's calls went through its provider's Batch API: it reads their answers first. */
  viaBatch?: boolean;
}

const batchOf = (input: StageInput, round?: number) =>
  input.viaBatch ? { runId: input.runId, stage: selfGuideBatchStage(input.stage, round), shard: 0 } : undefined;

export interface GenerateInputRoundInput extends StageInput {
  /** 1-based. */
  round: number;
  task: SelfGuideTaskDefinition;
  /** Everything generated in earlier rounds, in order; null before round 1. */
  generated: ArtifactRef | null;
  model: ModelRef;
  providers: ProvidersConfig;
  temperature: number;
  maxTokens: number;
  promptsPerRound: number;
  maxPromptTokens: number;
  /** Whose filters build the library; absent: ours. */
  filters?: FilterRules;
  seed: number;
}

export interface FilterStageInput extends StageInput {
  generated: ArtifactRef;
  task: SelfGuideTaskDefinition;
  lengthFilter: boolean;
  /** Absent: ours. */
  filters?: FilterRules;
}

export interface SampleAnnotationsInput extends StageInput {
  inputs: ArtifactRef;
  task: SelfGuideTaskDefinition;
  model: ModelRef;
  providers: ProvidersConfig;
  samples: number;
  temperature: number;
  maxTokens: number;
  /** Whose filters chose the inputs; absent: ours. */
  filters?: FilterRules;
  seed: number;
}

export interface BuildSyntheticDataInput extends StageInput {
  /** Samples of a superset of the kept inputs (the campaign samples its library once per temperature). */
  annotated: ArtifactRef;
  kept: ArtifactRef;
  task: SelfGuideTaskDefinition;
  outputLengthFilter: boolean;
  minShare: number;
  shareOf: 'kept' | 'all';
  /** Whose output-sample filters apply; absent: ours. */
  filters?: FilterRules;
  maxExampleTokens: number;
  seed: number;
}

const padded = (n: number) => String(n).padStart(5, '0');

/**
 * Where a stage's artifacts live: under the authors' filters apart from ours, so the two never share a library or
 * what is built from it; ours keep the names runs recorded before the option used.
 */
const stageFolder = (input: StageInput & { filters?: FilterRules }) =>
  `runs/${input.runId}/${input.stage}${input.filters === 'authors' ? '/authors-filters' : ''}`;

/**
 * The library a round shows: what the filters that do not depend on a setting (empty, noise, duplicate) accept, in
 * generation order, stripped. Without the switchable length rule, one generation serves both length settings.
 */
function libraryOf(
  task: SelfGuideTaskDefinition,
  generated: readonly GeneratedInput[],
  filters: FilterRules | undefined,
): string[] {
  const exampleInputs = task.examples.map((e) => e.input);
  return filterInputsBy(filters ?? 'ours', generated, {
    exampleInputs,
    noiseTerms: task.noise_terms,
    lengthFilter: false,
  })
    .filter((f) => f.kept)
    .map((f) => f.input.trim());
}

/** Generated inputs whose prompt had to be drawn again for length. */
const redrawnPrompts = (generated: readonly GeneratedInput[]) => generated.filter((g) => (g.redraws ?? 0) > 0).length;

async function readInputs(store: ArtifactStore, ref: ArtifactRef): Promise<string[]> {
  return (await store.readAll<{ input: string }>(ref)).map((r) => r.input);
}

export function selfGuideDataActivities(deps: ActivityDeps) {
  const { store } = deps;
  return {
    /**
     * Stage 1, one round: prompts built from the library so far, one new input asked of each. A prompt the provider
     * refuses is recorded and adds no input.
     */
    async generateInputRound(input: GenerateInputRoundInput): Promise<GenerateInputRoundResult> {
      const name = `${stageFolder(input)}/generated-${padded(input.round)}`;
      const finished = await store.lookup(name);
      if (finished) {
        const generated = await store.readAll<GeneratedInput>(finished);
        return {
          generated: finished,
          library: libraryOf(input.task, generated, input.filters).length,
          redrawnPrompts: redrawnPrompts(generated),
          ...(await finishedShardRecords(store, name)),
        };
      }
      const before = input.generated ? await store.readAll<GeneratedInput>(input.generated) : [];

      const prompts = roundPrompts({
        task: input.task,
        library: libraryOf(input.task, before, input.filters),
        round: input.round,
        prompts: input.promptsPerRound,
        seed: input.seed,
        maxPromptTokens: input.maxPromptTokens,
      });
      const calls = new ShardCalls(deps, input.providers, input.stage, prompts.length).withBatchAnswers(
        batchOf(input, input.round),
      );
      const promptName = (i: number) => `round ${input.round} prompt ${i + 1}`;
      const generated = await calls.forEachItem(
        prompts.map((prompt, i) => ({ prompt, i })),
        ({ i }) => promptName(i),
        async ({ prompt, i }): Promise<GeneratedInput> => {
          const request = {
            messages: prompt.messages,
            temperature: input.temperature,
            max_tokens: input.maxTokens,
            seed: mixSeed(input.seed, input.round, i),
          };
          const reply = await calls.chat(input.model, request, promptName(i));
          return {
            input: reply.choices[0]?.text ?? '',
            round: input.round,
            pseudoLabel: prompt.pseudoLabel,
            redraws: prompt.redraws,
          };
        },
      );
      const all = [...before, ...generated];
      const failures = await recordFailures(store, calls.itemFailures, name);
      const usage = await recordUsage(store, calls.usage, name);
      return {
        generated: await store.writeJsonl(all, name),
        library: libraryOf(input.task, all, input.filters).length,
        redrawnPrompts: redrawnPrompts(all),
        usage,
        ...failures,
      };
    },

    /** Stage 2 over every generated input, in generation order. */
    async filterGeneratedInputs(input: FilterStageInput): Promise<FilterStageResult> {
      const base = stageFolder(input);
      const generated = await store.readAll<GeneratedInput>(input.generated);
      const filtered = filterInputsBy(input.filters ?? 'ours', generated, {
        exampleInputs: input.task.examples.map((e) => e.input),
        noiseTerms: input.task.noise_terms,
        lengthFilter: input.lengthFilter,
      });
      const counts = countReasons(filtered);
      const report = (await store.lookup(`${base}/report`)) ?? (await store.writeJsonl(filtered, `${base}/report`));
      const kept =
        (await store.lookup(`${base}/kept`)) ??
        (await store.writeJsonl(
          filtered.filter((f) => f.kept).map((f) => ({ input: f.input.trim() })),
          `${base}/kept`,
        ));
      return { kept, report, counts };
    },

    /**
     * Stage 3's model calls: every input in the task chat, `samples` answers each in one call. An input the provider
     * refuses is recorded and left out.
     */
    async sampleAnnotations(
      input: SampleAnnotationsInput,
    ): Promise<{ annotated: ArtifactRef; usage: StageUsage; failures?: ItemFailure[] }> {
      const name = `${stageFolder(input)}/samples`;
      const finished = await store.lookup(name);
      if (finished)
        return {
          annotated: finished,
          ...(await finishedShardRecords(store, name)),
        };
      const inputs = await readInputs(store, input.inputs);
      const calls = new ShardCalls(deps, input.providers, input.stage, inputs.length).withBatchAnswers(batchOf(input));
      const annotated = await calls.forEachItem(
        inputs.map((text, i) => ({ text, i })),
        ({ i }) => `input ${i + 1}`,
        async ({ text, i }): Promise<AnnotatedInput> => {
          const request = {
            messages: taskChat(input.task, text),
            temperature: input.temperature,
            max_tokens: input.maxTokens,
            n: input.samples,
            seed: mixSeed(input.seed, i),
          };
          const response = await calls.chat(input.model, request, `annotating input ${i + 1}`);
          return { input: text, samples: response.choices.map((c) => c.text) };
        },
      );
      const failures = await recordFailures(store, calls.itemFailures, name);
      const usage = await recordUsage(store, calls.usage, name);
      return { annotated: await store.writeJsonl(annotated, name), usage, ...failures };
    },

    /** Stage 3's rules: per-sample filters, the majority vote, labels, class balance; then the training file. */
    async buildSyntheticData(input: BuildSyntheticDataInput): Promise<SyntheticDataResult> {
      const base = stageFolder(input);
      const kept = new Set(await readInputs(store, input.kept));
      const annotated = (await store.readAll<AnnotatedInput>(input.annotated)).filter((a) => kept.has(a.input));
      const { task } = input;
      const { pairs, dropped } = synthesizePairs(annotated, {
        kind: task.kind,
        labels: task.labels,
        exampleOutputs: task.examples.map((e) => e.output),
        noiseTerms: task.noise_terms,
        lengthFilter: input.outputLengthFilter && task.kind === 'generation',
        minShare: input.minShare,
        shareOf: input.shareOf,
        ...(input.filters ? { filters: input.filters } : {}),
        seed: input.seed,
      });
      const pairsRef = (await store.lookup(`${base}/pairs`)) ?? (await store.writeJsonl(pairs, `${base}/pairs`));
      const { examples, tooLong } = trainingSet(task, pairs, input.maxExampleTokens);
      const training =
        (await store.lookup(`${base}/training`)) ?? (await store.writeJsonl(examples, `${base}/training`));
      return { pairs: pairsRef, training, dropped, tooLongToTrain: tooLong };
    },

    /** Few-shot fine-tuning's training file: the gold examples alone, each asked in the task chat. */
    async goldTrainingSet(
      input: StageInput & { task: SelfGuideTaskDefinition; maxExampleTokens: number },
    ): Promise<ArtifactRef> {
      const name = `runs/${input.runId}/${input.stage}/training`;
      return (
        (await store.lookup(name)) ??
        store.writeJsonl(trainingSet(input.task, input.task.examples, input.maxExampleTokens).examples, name)
      );
    },
  };
}
