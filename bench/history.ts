// Benchmark 3, history cost: events and bytes per 1,000 questions per stage of a whole SemiEvol run, and the largest
// single payload in any of its histories (fetched through the client, each payload measured as encoded).
import { fmt, semievolHistories, type BenchEnv, type HistoryCost, type SemievolRun, type Verdict } from './harness';

export interface HistoryResult {
  unlabeled: number;
  test: number;
  shardSize: number;
  stages: { stage: string; cost: HistoryCost; per: 'unlabeled' | 'test' | null }[];
}

/** Which questions a stage's history grows with: D_U's for the sharded stages, the test split's for evaluations. */
const growsWith = (stage: string): 'unlabeled' | 'test' | null =>
  ['propagate', 'collaborate', 'justify'].includes(stage) ? 'unlabeled' : stage.startsWith('evaluate') ? 'test' : null;

export async function historyOf(env: BenchEnv, run: SemievolRun): Promise<HistoryResult> {
  const stages = (await semievolHistories(env, run)).map((s) => ({ ...s, per: growsWith(s.stage) }));
  return {
    unlabeled: run.input.data.unlabeled.count,
    test: run.input.data.test.count,
    shardSize: run.input.execution.shardSize,
    stages,
  };
}

export const perThousand = (events: number, questions: number) => (events * 1000) / questions;

export function historyReport(r: HistoryResult): string[] {
  const largest = Math.max(...r.stages.map((s) => s.cost.largestPayloadBytes));
  const worst = Math.max(
    ...r.stages
      .filter((s) => s.per)
      .map((s) => perThousand(s.cost.events, s.per === 'unlabeled' ? r.unlabeled : r.test)),
  );
  return [
    `One whole SemiEvol run: ${fmt(r.unlabeled)} unlabeled and ${fmt(r.test)} test questions, ` +
      `shards of ${r.shardSize}. ` +
      "A stage's events per 1,000 questions count the questions it works through " +
      '(D_U for propagate, collaborate and justify; the test split for each evaluation); the others are a fixed size.',
    '',
    '| workflow | events | bytes | events per 1,000 questions | bytes per 1,000 questions | largest payload |',
    '|---|---|---|---|---|---|',
    ...r.stages.map(({ stage, cost, per }) => {
      const n = per === 'unlabeled' ? r.unlabeled : per === 'test' ? r.test : null;
      return (
        `| ${stage} | ${fmt(cost.events)} | ${fmt(cost.bytes)} | ` +
        `${n ? fmt(perThousand(cost.events, n), 1) : '(fixed)'} | ` +
        `${n ? fmt(perThousand(cost.bytes, n)) : '(fixed)'} | ` +
        `${fmt(cost.largestPayloadBytes)} B |`
      );
    }),
    '',
    `Most events per 1,000 questions in any stage: **${fmt(worst, 1)}** ` +
      `(target <= 50: ${worst <= 50 ? 'met' : 'NOT met'}); ` +
      `largest payload: **${fmt(largest / 1024, 1)} KiB** ` +
      `(target <= 256 KB: ${largest <= 256_000 ? 'met' : 'NOT met'}).`,
  ];
}

export function historyVerdict(r: HistoryResult): Verdict {
  const largest = Math.max(...r.stages.map((s) => s.cost.largestPayloadBytes));
  const worst = Math.max(
    ...r.stages
      .filter((s) => s.per)
      .map((s) => perThousand(s.cost.events, s.per === 'unlabeled' ? r.unlabeled : r.test)),
  );
  return {
    benchmark: '3. history cost',
    target: '<= 50 events per 1,000 questions per stage; no payload above 256 KB',
    measured: `at most ${fmt(worst, 1)} events per 1,000 questions; largest payload ${fmt(largest / 1024, 1)} KiB`,
    met: worst <= 50 && largest <= 256_000,
  };
}
