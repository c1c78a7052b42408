// Answering multiple-choice questions shard by shard: prompts from core/, calls through the gateway.
import type { ProvidersConfig } from '../core/config';
import type { ItemFailure, Retrieval, SamplingParams } from '../core/contracts';
import { readAnswer } from '../core/answer-reading';
import { fewShotMessages, zeroShotMessages } from '../core/prompts';
import {
  addUsage,
  emptyUsage,
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
import { finishedShardRecords, recordUsage } from './shard-usage-records';

export interface AnswerQuestionsInput {
  runId: string;
  stage: string;
  shard: Shard;
  model: ModelRef;
  providers: ProvidersConfig;
  sampling: SamplingParams;
  /** Few-shot prompts with each question's nearest pool examples (the RAG baseline); zero-shot prompts without. */
  retrieval?: Retrieval;
  /** Set when the evaluation's calls went through its provider's Batch API: the shard reads their answers first. */
  viaBatch?: boolean;
}

export interface AnsweredQuestion {
  id: string;
  responses: { text: string; logprobs: number[] | null; finishReason: string }[];
  /** The option letter (or, for an open question, the answer line's answer) of the first response, or null. */
  prediction: string | null;
}

export interface ShardResult {
  output: ArtifactRef;
  usage: StageUsage;
  /** Items the provider refused, left out of `output`. */
  failures?: ItemFailure[];
}

/** Each item's prompt before any in-context fine-tune demonstrations, and what retrieving examples cost. */
export async function promptsFor(
  deps: ActivityDeps,
  input: AnswerQuestionsInput,
  items: McqItem[],
  signal: AbortSignal,
  payer?: string,
): Promise<{ prompts: ChatMessage[][]; usage: StageUsage }> {
  const prompt = [input.sampling.style ?? 'reasoning', input.sampling.layout ?? 'ours'] as const;
  if (!input.retrieval) return { prompts: items.map((item) => zeroShotMessages(item, ...prompt)), usage: emptyUsage() };
  const pool = await poolItems(deps, input.retrieval.pool);
  const { positions, usage } = await nearest(
    deps,
    input.providers,
    input.retrieval,
    items.map((item) => item.question),
    signal,
    payer,
  );
  return {
    prompts: items.map((item, i) =>
      fewShotMessages(
        item,
        positions[i].map((p) => pool[p]),
        ...prompt,
      ),
    ),
    usage,
  };
}

export function inferenceActivities(deps: ActivityDeps) {
  const { store } = deps;
  return {
    async answerQuestions(input: AnswerQuestionsInput): Promise<ShardResult> {
      const name = `runs/${input.runId}/${input.stage}/answers-${String(input.shard.index).padStart(5, '0')}`;
      const finished = await store.lookup(name);
      if (finished)
        return {
          output: finished,
          ...(await finishedShardRecords(store, name)),
        };

      const items = await store.readAll<McqItem>(input.shard.items);
      const calls = new ShardCalls(deps, input.providers, input.stage, items.length).withBatchAnswers(
        input.viaBatch ? { runId: input.runId, stage: input.stage, shard: input.shard.index } : undefined,
      );
      // Under the shard's keep-alive too: embeddings for retrieval can wait behind a busy provider like any call.
      const [{ prompts, usage: retrievalUsage }] = await calls.all([
        promptsFor(deps, input, items, calls.signal, calls.payer),
      ]);
      const answerOne = async (item: McqItem, index: number): Promise<AnsweredQuestion> => {
        const request = {
          messages: prompts[index],
          temperature: input.sampling.temperature,
          max_tokens: input.sampling.maxTokens,
          n: input.sampling.n,
          seed: input.sampling.seed,
          logprobs: input.sampling.logprobs,
        };
        const response = await calls.chat(input.model, request, `question ${item.id}`);
        const responses = response.choices.map((c) => ({
          text: c.text,
          logprobs: c.logprobs ? c.logprobs.map((t) => t.logprob) : null,
          finishReason: c.finish_reason,
        }));
        return {
          id: item.id,
          responses,
          prediction: readAnswer(responses[0]?.text ?? '', item.options, input.sampling.answerReading ?? 'ours'),
        };
      };
      const answers = await calls.forEachItem(items, (item) => item.id, answerOne);
      const usage = await recordUsage(store, addUsage(retrievalUsage, calls.usage), name);
      const failures = await recordFailures(store, calls.itemFailures, name);
      return { output: await store.writeJsonl(answers, name), usage, ...failures };
    },
  };
}
