// SemiEvol's activities: one shard of a stage each (retrieval, collaborators, self-justification), plus the small
// steps between stages (selection, training sets, the pseudo-label diagnostic). Decisions come from core/semievol.ts.
import type { ProvidersConfig } from '../core/config';
import type { ItemFailure, PseudoLabelAccuracy, ResponseSampling, Retrieval, SelectionResult } from '../core/contracts';
import { answerIsCorrect, withTrainingAnswer, type AnswerReading } from '../core/answer-reading';
import { summarizeAccuracy, type Metric } from '../core/metrics';
import {
  fewShotMessages,
  justificationMessages,
  trainingExample,
  type PromptLayout,
  type PromptStyle,
} from '../core/prompts';
import type { SelectionOptions } from '../core/semievol-config';
import {
  adaptiveSelection,
  collaboratorAnswers,
  countPseudoLabels,
  isInconsistent,
  pseudoLabel,
  selectedLine,
  type CollaborationRecord,
  type CollaboratorSetup,
  type EntropyOver,
  type PseudoLabel,
  type RecordedResponse,
  type SelectedLine,
} from '../core/semievol';
import {
  type ArtifactRef,
  type ChatMessage,
  type McqItem,
  type ModelRef,
  type Shard,
  type StageUsage,
} from '../core/types';
import type { ActivityDeps } from './context';
import { recordFailures } from './item-failure-records';
import { nearest, poolItems } from './retrieval';
import { ShardCalls } from './shard-calls';
import { finishedShardRecords, recordedUsage, recordUsage } from './shard-usage-records';

interface ShardInput {
  runId: string;
  shard: Shard;
  providers: ProvidersConfig;
  /** Set when the stage's calls went through its provider's Batch API: the shard reads their answers first. */
  viaBatch?: boolean;
}

export interface RetrieveNeighboursInput extends ShardInput {
  retrieval: Retrieval;
}

export interface CollaborateInput extends ShardInput {
  collaborators: CollaboratorSetup[];
  models: { base: ModelRef; warm: ModelRef | null };
  /** D_L, and each question's nearest labeled positions in it; null without in-context propagation. */
  labeled: ArtifactRef;
  neighbours: ArtifactRef | null;
  sampling: ResponseSampling;
}

export interface JustifyInput extends ShardInput {
  /** The collaborators' responses for this shard. */
  answers: ArtifactRef;
  justifier: ModelRef;
  sampling: ResponseSampling;
  /** Which tokens each pseudo-label's entropy covers; `response` when absent. */
  entropyOver?: EntropyOver;
  /** How answers are read and compared (`semievol.answers`); `ours` when absent (runs started before the option). */
  answerReading?: AnswerReading;
}

export interface ShardOutput {
  output: ArtifactRef;
  usage: StageUsage;
}

/** A shard's output without the questions the provider refused, which are listed instead. */
export interface ShardOutputWithFailures extends ShardOutput {
  failures?: ItemFailure[];
}

export interface JustifiedShard {
  /** Stage 3 and 4 of each question, in `flt semievol select`'s input format. */
  records: ArtifactRef;
  /** Each question's pseudo-label and entropy, or why it has none. */
  labels: ArtifactRef;
  /** Questions the justifier was asked about. */
  justified: number;
  usage: StageUsage;
  /** Questions the justifier's provider refused: left out of `records` and `labels`. */
  failures?: ItemFailure[];
}

interface NeighboursLine {
  id: string;
  neighbours: number[];
}

interface AnswersLine {
  id: string;
  collaborators: RecordedResponse[];
}

const shardName = (runId: string, stage: string, kind: string, index: number) =>
  `runs/${runId}/${stage}/${kind}-${String(index).padStart(5, '0')}`;

/** One sampled response with its token log-probabilities, as the stages record it. */
async function respond(
  calls: ShardCalls,
  model: ModelRef,
  prompt: ChatMessage[],
  sampling: ResponseSampling,
  what: string,
): Promise<RecordedResponse> {
  const response = await calls.chat(
    model,
    {
      messages: prompt,
      temperature: sampling.temperature,
      max_tokens: sampling.maxTokens,
      seed: sampling.seed,
      logprobs: true,
    },
    what,
  );
  const choice = response.choices[0];
  return {
    response: choice?.text ?? '',
    logprobs: choice?.logprobs ? choice.logprobs.map((t) => t.logprob) : null,
    tokens: choice?.logprobs?.map((t) => t.token),
    finishReason: choice?.finish_reason,
  };
}

async function* concatenated<T>(store: ActivityDeps['store'], parts: ArtifactRef[]): AsyncIterable<T> {
  for (const part of parts) yield* store.readJsonl<T>(part);
}

/** Where a shard finds its stage's batch answers, when the stage went through a Batch API. */
const batchOf = (input: ShardInput, stage: string) =>
  input.viaBatch ? { runId: input.runId, stage, shard: input.shard.index } : undefined;

export function semievolActivities(deps: ActivityDeps) {
  const { store } = deps;

  return {
    /** In-context propagation for one shard: each unlabeled question's k nearest labeled questions. */
    async retrieveNeighbours(input: RetrieveNeighboursInput): Promise<ShardOutput> {
      const name = shardName(input.runId, 'propagate', 'neighbours', input.shard.index);
      const finished = await store.lookup(name);
      if (finished) return { output: finished, usage: await recordedUsage(store, name) };
      const items = await store.readAll<McqItem>(input.shard.items);
      // Heartbeats while embedding requests wait behind a busy provider, like the other stages' calls.
      const calls = new ShardCalls(deps, input.providers, 'propagate', items.length);
      const [{ positions, usage }] = await calls.all([
        nearest(
          deps,
          input.providers,
          input.retrieval,
          items.map((item) => item.question),
          calls.signal,
          calls.payer,
        ),
      ]);
      const lines: NeighboursLine[] = items.map((item, i) => ({ id: item.id, neighbours: positions[i] }));
      await recordUsage(store, usage, name);
      return { output: await store.writeJsonl(lines, name), usage };
    },

    /**
     * Collaborative inference for one shard: every collaborator answers every question with log-probabilities. A
     * question the provider refuses for any collaborator is recorded and left out.
     */
    async collaborateOnShard(input: CollaborateInput): Promise<ShardOutputWithFailures> {
      const name = shardName(input.runId, 'collaborate', 'answers', input.shard.index);
      const finished = await store.lookup(name);
      if (finished)
        return {
          output: finished,
          ...(await finishedShardRecords(store, name)),
        };
      const items = await store.readAll<McqItem>(input.shard.items);
      const labeled = await poolItems(deps, input.labeled);
      const neighbours = input.neighbours ? await store.readAll<NeighboursLine>(input.neighbours) : null;
      const calls = new ShardCalls(
        deps,
        input.providers,
        'collaborate',
        items.length * input.collaborators.length,
      ).withBatchAnswers(batchOf(input, 'collaborate'));

      const answer = async (item: McqItem, index: number): Promise<AnswersLine> => {
        // Settled, not raced: a refused collaborator lets its question's other calls finish into the response cache.
        const settled = await Promise.allSettled(
          input.collaborators.map((setup, j) => {
            const examples = (neighbours?.[index].neighbours ?? []).slice(0, setup.examples).map((p) => labeled[p]);
            const model = setup.model === 'warm' && input.models.warm ? input.models.warm : input.models.base;
            // Each collaborator samples with its own seed, so two with the same setup are still independent.
            const sampling = { ...input.sampling, seed: input.sampling.seed + j };
            return respond(
              calls,
              model,
              fewShotMessages(item, examples, input.sampling.style ?? 'reasoning', input.sampling.layout ?? 'ours'),
              sampling,
              `collaborator ${j + 1}, question ${item.id}`,
            );
          }),
        );
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        return {
          id: item.id,
          collaborators: settled.map((r) => (r as PromiseFulfilledResult<RecordedResponse>).value),
        };
      };
      const lines = await calls.forEachItem(items, (item) => item.id, answer);
      const failures = await recordFailures(store, calls.itemFailures, name);
      const usage = await recordUsage(store, calls.usage, name);
      return { output: await store.writeJsonl(lines, name), usage, ...failures };
    },

    /**
     * Self-justification for one shard: the justifier settles each inconsistent question; every question gets its
     * pseudo-label. Questions are matched to their collaborators' answers by id: collaborate left out those the
     * provider refused, and those the justifier's provider refuses are recorded and left out here.
     */
    async justifyShard(input: JustifyInput): Promise<JustifiedShard> {
      const recordsName = shardName(input.runId, 'justify', 'records', input.shard.index);
      const labelsName = shardName(input.runId, 'justify', 'labels', input.shard.index);
      const [finishedRecords, finishedLabels] = await Promise.all([
        store.lookup(recordsName),
        store.lookup(labelsName),
      ]);
      if (finishedRecords && finishedLabels) {
        const records = await store.readAll<CollaborationRecord>(finishedRecords);
        return {
          records: finishedRecords,
          labels: finishedLabels,
          justified: records.filter((r) => r.reflection).length,
          ...(await finishedShardRecords(store, recordsName)),
        };
      }
      const items = await store.readAll<McqItem>(input.shard.items);
      const answers = new Map((await store.readAll<AnswersLine>(input.answers)).map((a) => [a.id, a.collaborators]));
      const unjustified: CollaborationRecord[] = items.flatMap((item) => {
        const collaborators = answers.get(item.id);
        return collaborators
          ? [{ id: item.id, question: item.question, options: item.options, collaborators, reflection: null }]
          : [];
      });
      const reading = { answers: input.answerReading ?? 'ours', entropyOver: input.entropyOver ?? 'response' } as const;
      const inconsistent = (record: CollaborationRecord) => isInconsistent(record, reading.answers);
      const calls = new ShardCalls(
        deps,
        input.providers,
        'justify',
        unjustified.filter(inconsistent).length,
      ).withBatchAnswers(batchOf(input, 'justify'));

      const justify = async (record: CollaborationRecord): Promise<CollaborationRecord> => {
        if (!inconsistent(record)) return record;
        const given = collaboratorAnswers(record, reading.answers);
        const prompt = justificationMessages(
          record,
          // The authors' reading gives '' for no answer, which the prompt shows as none.
          record.collaborators.map((c, j) => ({ answer: given[j] || null, response: c.response })),
          input.sampling.style ?? 'reasoning',
          input.sampling.layout ?? 'ours',
        );
        return {
          ...record,
          reflection: await respond(calls, input.justifier, prompt, input.sampling, `question ${record.id}`),
        };
      };
      const records = await calls.forEachItem(unjustified, (record) => record.id, justify);
      const labels: PseudoLabel[] = records.map((record) => pseudoLabel(record, reading));
      const failures = await recordFailures(store, calls.itemFailures, recordsName);
      const usage = await recordUsage(store, calls.usage, recordsName);
      return {
        records: await store.writeJsonl(records, recordsName),
        labels: await store.writeJsonl(labels, labelsName),
        justified: records.filter((r) => r.reflection).length,
        usage,
        ...failures,
      };
    },

    /** The run's stage 3 and 4 outputs as one artifact, the input `flt semievol select --run` reads. */
    async collectRecords(input: { runId: string; parts: ArtifactRef[] }): Promise<ArtifactRef> {
      return store.writeJsonl(concatenated(store, input.parts), `runs/${input.runId}/justify/records`);
    },

    /** The justify stage's ShardResults summed up: every shard's records, then pseudo-labels, in one artifact each. */
    async summarizeJustification(input: {
      runId: string;
      results: ArtifactRef;
    }): Promise<{ records: ArtifactRef; labels: ArtifactRef; justified: number }> {
      const shards = await store.readAll<JustifiedShard>(input.results);
      return {
        records: await store.writeJsonl(
          concatenated(
            store,
            shards.map((shard) => shard.records),
          ),
          `runs/${input.runId}/justify/records`,
        ),
        labels: await store.writeJsonl(
          concatenated(
            store,
            shards.map((shard) => shard.labels),
          ),
        ),
        justified: shards.reduce((sum, shard) => sum + shard.justified, 0),
      };
    },

    /** Adaptive selection over every shard's pseudo-labels: one threshold for the whole of D_U. */
    async selectPseudoLabels(input: {
      runId: string;
      labels: ArtifactRef[];
      selection: SelectionOptions;
    }): Promise<SelectionResult> {
      const labels: PseudoLabel[] = [];
      for await (const label of concatenated<PseudoLabel>(store, input.labels)) labels.push(label);
      const selection = adaptiveSelection(labels, input.selection);
      const lines: SelectedLine[] = selection.selected.map(selectedLine);
      return {
        selected: await store.writeJsonl(lines, `runs/${input.runId}/select/selected`),
        threshold: selection.threshold,
        counts: countPseudoLabels(labels, selection),
      };
    },

    /**
     * Chat-format training examples: D_L's gold answers and/or the selected pseudo-labels, the question as in the
     * zero-shot prompt.
     */
    async buildTrainingSet(input: {
      runId: string;
      stage: string;
      labeled: ArtifactRef | null;
      pseudoLabeled: { selected: ArtifactRef; questions: ArtifactRef } | null;
      /** The prompt the examples are taught under; `reasoning` when absent (runs started before the option). */
      style?: PromptStyle;
      /** The prompt's layout; `ours` when absent (runs started before the option). */
      layout?: PromptLayout;
      /** `authors` packs every answer as their `pack_answer`; `ours` when absent (runs started before the option). */
      answerReading?: AnswerReading;
    }): Promise<ArtifactRef> {
      const { labeled, pseudoLabeled } = input;
      const prompt = [input.style ?? 'reasoning', input.layout ?? 'ours'] as const;
      const example = (item: McqItem) =>
        trainingExample(withTrainingAnswer(item, input.answerReading ?? 'ours'), ...prompt);
      async function* examples() {
        if (labeled) for await (const item of store.readJsonl<McqItem>(labeled)) yield example(item);
        if (!pseudoLabeled) return;
        const labels = new Map<string, string>();
        for await (const line of store.readJsonl<SelectedLine>(pseudoLabeled.selected))
          labels.set(line.id, line.pseudo_label);
        for await (const item of store.readJsonl<McqItem>(pseudoLabeled.questions)) {
          const label = labels.get(item.id);
          // '' is a pseudo-label under the authors' reading, as in their code.
          if (label !== undefined) yield example({ ...item, answer: label });
        }
      }
      return store.writeJsonl(examples(), `runs/${input.runId}/${input.stage}/training`);
    },

    /**
     * Diagnostic only, and the only reader of D_U's gold answers: how many pseudo-labels, all and selected, match
     * gold. Nothing downstream depends on it.
     */
    async scorePseudoLabels(input: {
      gold: ArtifactRef;
      labels: ArtifactRef[];
      selected: ArtifactRef;
      /** How a pseudo-label is compared with gold; `option-letter` when absent (runs started before open questions). */
      metric?: Metric;
      /** `semievol.answers`; `ours` when absent (runs started before the option). */
      answerReading?: AnswerReading;
    }): Promise<PseudoLabelAccuracy> {
      const gold = new Map<string, string | null>();
      for await (const item of store.readJsonl<{ id: string; answer: string | null }>(input.gold))
        gold.set(item.id, item.answer);
      const verdicts = async (lines: AsyncIterable<{ id: string; label: string | null }>) => {
        const correct: boolean[] = [];
        for await (const { id, label } of lines) {
          const answer = gold.get(id);
          if (label !== null && answer)
            correct.push(
              answerIsCorrect(label, answer, input.metric ?? 'option-letter', input.answerReading ?? 'ours'),
            );
        }
        return summarizeAccuracy(correct);
      };
      async function* selected() {
        for await (const line of store.readJsonl<SelectedLine>(input.selected))
          yield { id: line.id, label: line.pseudo_label };
      }
      return {
        all: await verdicts(concatenated<PseudoLabel>(store, input.labels)),
        selected: await verdicts(selected()),
      };
    },
  };
}
