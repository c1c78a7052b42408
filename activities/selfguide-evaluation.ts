// SELF-GUIDE stage 5 as activities: a model answers a shard of the test split greedily in the task chat (few-shot,
// or Self-ICL with synthetic demonstrations), and the answers are scored by exact match or ROUGE-L.
import type { ProvidersConfig } from '../core/config';
import { nltkPorterStem } from '../core/nltk-porter-stemmer';
import type { ItemFailure, Prompting, TestScore } from '../core/contracts';
import { selfIclChat, taskChat, type SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import { authorsExactMatches, labelExactMatch, rougeLChars, rougeLWords } from '../core/text-metrics';
import {
  type ArtifactRef,
  type IoExample,
  type ModelRef,
  type Shard,
  type ShardResults,
  type StageUsage,
} from '../core/types';
import type { ActivityDeps } from './context';
import { recordFailures } from './item-failure-records';
import { shardOutputs } from './shard-lists';
import { ShardCalls } from './shard-calls';
import { finishedShardRecords, recordUsage } from './shard-usage-records';
import { porterStemmer } from './stemmer';

export interface AnswerTestShardInput {
  runId: string;
  stage: string;
  shard: Shard;
  task: SelfGuideTaskDefinition;
  model: ModelRef;
  providers: ProvidersConfig;
  prompting: Prompting;
  maxTokens: number;
  seed: number;
  /** Set when the evaluation's calls went through its provider's Batch API: the shard reads their answers first. */
  viaBatch?: boolean;
}

export interface TestAnswer extends IoExample {
  response: string;
}

export interface ScoreTestAnswersInput {
  runId: string;
  stage: string;
  /** Each shard's answers: a list (runs started before shard lists) or the stage's ShardResults artifact. */
  answers: ArtifactRef[] | ShardResults;
  task: SelfGuideTaskDefinition;
  rouge: 'words' | 'chars';
  /** Whose exact match scores classification answers; absent: ours. */
  exactMatch?: 'ours' | 'authors';
  /** Word-level ROUGE-L's stemmer; absent: porter. */
  stemmer?: 'porter' | 'nltk';
}

export function selfGuideEvaluationActivities(deps: ActivityDeps) {
  const { store } = deps;
  return {
    async answerTestShard(
      input: AnswerTestShardInput,
    ): Promise<{ output: ArtifactRef; usage: StageUsage; failures?: ItemFailure[] }> {
      const name = `runs/${input.runId}/${input.stage}/answers-${String(input.shard.index).padStart(5, '0')}`;
      const finished = await store.lookup(name);
      if (finished)
        return {
          output: finished,
          ...(await finishedShardRecords(store, name)),
        };
      const items = await store.readAll<IoExample>(input.shard.items);
      const { prompting, task } = input;
      const synthetic = prompting.kind === 'self-icl' ? await store.readAll<IoExample>(prompting.synthetic) : [];
      const calls = new ShardCalls(deps, input.providers, input.stage, items.length).withBatchAnswers(
        input.viaBatch ? { runId: input.runId, stage: input.stage, shard: input.shard.index } : undefined,
      );
      const idOf = (i: number) => `shard ${input.shard.index + 1} item ${i + 1}`;
      const answers = await calls.forEachItem(
        items.map((item, i) => ({ item, i })),
        ({ i }) => idOf(i),
        async ({ item, i }): Promise<TestAnswer> => {
          const messages =
            prompting.kind === 'self-icl'
              ? selfIclChat(task, item.input, synthetic, prompting.contextTokens, input.maxTokens)
              : taskChat(task, item.input);
          const reply = await calls.chat(
            input.model,
            { messages, temperature: 0, max_tokens: input.maxTokens, seed: input.seed },
            `test item ${i + 1}`,
          );
          return { ...item, response: reply.choices[0]?.text ?? '' };
        },
      );
      const failures = await recordFailures(store, calls.itemFailures, name);
      const usage = await recordUsage(store, calls.usage, name);
      return { output: await store.writeJsonl(answers, name), usage, ...failures };
    },

    async scoreTestAnswers(input: ScoreTestAnswersInput): Promise<TestScore> {
      const { task } = input;
      const stem = input.stemmer === 'nltk' ? nltkPorterStem : await porterStemmer();
      const scoreOf = (answer: TestAnswer): number => {
        if (task.metric === 'exact_match') return Number(labelExactMatch(answer.response, answer.output, task.labels));
        return input.rouge === 'words'
          ? rougeLWords(answer.response, answer.output, stem)
          : rougeLChars(answer.response.trim(), answer.output);
      };
      const answers: TestAnswer[] = [];
      for await (const ref of shardOutputs(store, input.answers))
        answers.push(...(await store.readAll<TestAnswer>(ref)));
      // The authors' labels come from the whole split's gold outputs, so their scores need every answer first.
      const scores =
        task.metric === 'exact_match' && input.exactMatch === 'authors'
          ? authorsExactMatches(answers)
          : answers.map(scoreOf);
      const details = answers.map((answer, i) => ({ ...answer, score: scores[i] }));
      const metric =
        task.metric === 'exact_match' ? 'exact-match' : input.rouge === 'words' ? 'rouge-l' : 'rouge-l-chars';
      return {
        score: details.length ? details.reduce((sum, d) => sum + d.score, 0) / details.length : 0,
        metric,
        total: details.length,
        details: await store.writeJsonl(details, `runs/${input.runId}/${input.stage}/scores`),
      };
    },
  };
}
