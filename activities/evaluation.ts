// Scoring a model's answers against the gold answers of the test split.
import type { Metric, Score } from '../core/contracts';
import { answerMatches } from '../core/metrics';
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
          if (answer.prediction === null && answer.responses[0]?.finishReason === 'length') cutOff++;
          verdicts.push({
            id: answer.id,
            prediction: answer.prediction,
            gold: expected,
            correct: expected !== null && answerMatches(answer.prediction, expected, input.metric),
          });
        }
      }
      const correct = verdicts.filter((v) => v.correct).length;
      const details = await store.writeJsonl(verdicts, `runs/${input.runId}/${input.stage}/verdicts`);
      return {
        correct,
        total: verdicts.length,
        unanswered: verdicts.filter((v) => v.prediction === null).length - cutOff,
        cutOff,
        accuracy: verdicts.length ? correct / verdicts.length : 0,
        details,
      };
    },
  };
}
