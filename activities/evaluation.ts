// Scoring a model's answers against the gold answers of the test split.
import { answerIsCorrect, type AnswerReading } from '../core/answer-reading';
import type { Metric, Score } from '../core/contracts';
import type { ArtifactRef, McqItem, ShardResults } from '../core/types';
import type { ActivityDeps } from './context';
import { shardOutputs } from './shard-lists';
import type { AnsweredQuestion } from './inference';

export interface ScoreAnswersInput {
  runId: string;
  stage: string;
  /** Each shard's answers: a list (runs started before shard lists) or the stage's ShardResults artifact. */
  answers: ArtifactRef[] | ShardResults;
  gold: ArtifactRef;
  metric: Metric;
  /** How predictions are scored (`semievol.answers`); `ours` when absent. */
  answerReading?: AnswerReading;
}

export function evaluationActivities({ store }: ActivityDeps) {
  return {
    async scoreAnswers(input: ScoreAnswersInput): Promise<Score> {
      const gold = new Map<string, string | null>();
      let cutOff = 0;
      for await (const item of store.readJsonl<McqItem>(input.gold)) gold.set(item.id, item.answer);
      const verdicts: { id: string; prediction: string | null; gold: string | null; correct: boolean }[] = [];
      for await (const ref of shardOutputs(store, input.answers)) {
        for await (const answer of store.readJsonl<AnsweredQuestion>(ref)) {
          const expected = gold.get(answer.id) ?? null;
          // '' is the authors' reading of a response without an answer.
          const unanswered = !answer.prediction;
          if (unanswered && answer.responses[0]?.finishReason === 'length') cutOff++;
          verdicts.push({
            id: answer.id,
            prediction: answer.prediction,
            gold: expected,
            correct:
              expected !== null &&
              answerIsCorrect(answer.prediction, expected, input.metric, input.answerReading ?? 'ours'),
          });
        }
      }
      const correct = verdicts.filter((v) => v.correct).length;
      const details = await store.writeJsonl(verdicts, `runs/${input.runId}/${input.stage}/verdicts`);
      return {
        correct,
        total: verdicts.length,
        unanswered: verdicts.filter((v) => !v.prediction).length - cutOff,
        cutOff,
        accuracy: verdicts.length ? correct / verdicts.length : 0,
        details,
      };
    },
  };
}
