// Worker crashes in every stage of both methods (see crash-harness.ts). Each run must finish with a result identical
// to an uninterrupted run with the same seed (so every artifact it references is byte-identical), create no
// fine-tune job and upload no file twice, and repeat no finished model call beyond the calls in flight at a kill.
// CI kills once per stage; FLT_CRASH_KILLS_PER_STAGE=5 npm test -- test/durability/crashes runs many more.
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { crashRun, withoutUsage, type CrashReport } from './crash-harness';

const shared = path.resolve(__dirname, '../../../shared/data');
const killsPerStage = Number(process.env.FLT_CRASH_KILLS_PER_STAGE ?? 1);
const maxConcurrency = 2;
const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-crashes-'));
jest.setTimeout(600_000);

function print(name: string, report: CrashReport): void {
  const perKill = report.kills.length ? (report.repeatedCalls / report.kills.length).toFixed(2) : '0';
  console.log(
    [
      `${name}: ${report.kills.length} kills survived in stages ` +
        [...new Set(report.kills.map((k) => k.stage))].join(', '),
      ...report.kills.map((k) => `  killed in ${k.stage || '(starting)'} ${k.reason} (request ${k.atRequest})`),
      `  repeated calls: ${report.repeatedCalls} (${perKill} per kill, each in flight at a kill; ` +
        `${report.repeatedFinishedCalls} finished calls repeated); extra tokens ~${report.extraTokens}`,
      `  fine-tune jobs created: ${report.jobCreates.killed} (uninterrupted: ${report.jobCreates.reference}); ` +
        `uploads: ${report.uploads.killed} (uninterrupted: ${report.uploads.reference})`,
    ].join('\n'),
  );
}

function expectSurvived(report: CrashReport, stages: string[]): void {
  expect(withoutUsage(report.result)).toEqual(withoutUsage(report.reference));
  expect(report.jobCreates.killed).toBe(report.jobCreates.reference);
  expect(report.uploads.killed).toBe(report.uploads.reference);
  expect(report.repeatedFinishedCalls).toBe(0);
  const hit = new Set(report.kills.map((k) => k.stage));
  for (const stage of stages) expect([stage, hit.has(stage)]).toEqual([stage, true]);
  expect(report.kills.some((k) => k.reason.includes('fine-tune job was created'))).toBe(true);
  expect(report.kills.some((k) => k.reason.includes('polled'))).toBe(true);
}

/** The first n rows of a SemiEvol split, written as a CSV of their own. */
function sample(split: string, n: number): { items: McqItem[]; file: string } {
  const items = loadSemiEvolCsv(path.join(shared, `semievol/fpb/${split}.csv`)).items.slice(0, n);
  const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
  const file = path.join(dir, `${split}.csv`);
  writeFileSync(
    file,
    [
      'id,question,options,answer',
      ...items.map((i) => [i.id, i.question, JSON.stringify(i.options), i.answer!].map(quote).join(',')),
    ].join('\n') + '\n',
  );
  return { items, file };
}

test('SemiEvol survives a worker SIGKILL in every stage', async () => {
  const splits = { labeled: sample('labeled', 16), unlabeled: sample('unlabeled', 24), test: sample('test', 12) };
  const gold = Object.values(splits)
    .flatMap((s) => s.items)
    .map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));
  const data = (split: keyof typeof splits) => ({ format: 'semievol-csv', path: splits[split].file });
  const report = await crashRun({
    runId: `crash-semievol-${Date.now()}`,
    seed: 41,
    killsPerStage,
    maxConcurrency,
    gold,
    double: { latencyMs: 40, models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 300 } },
    config: (provider) => ({
      method: 'semievol',
      task: 'fpb',
      providers: { double: provider },
      model: { provider: 'double', model: 'sim-model' },
      data: { labeled: data('labeled'), unlabeled: data('unlabeled'), test: data('test') },
      fineTune: {
        backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
        hyperparameters: { epochs: 1 },
      },
      semievol: { collaboration: { maxTokens: 64 }, justification: { maxTokens: 64 } },
      sampling: { maxTokens: 64, seed: 3 },
      execution: { shardSize: 4, parallelShards: 2 },
    }),
  });
  print('SemiEvol', report);
  expectSurvived(report, ['warm-up', 'collaborate', 'evaluate']);
});

test('SELF-GUIDE survives a worker SIGKILL in every stage', async () => {
  const report = await crashRun({
    runId: `crash-selfguide-${Date.now()}`,
    seed: 43,
    killsPerStage,
    maxConcurrency,
    gold: [],
    double: { latencyMs: 40, fineTune: { stepMs: 300 } },
    config: (provider) => ({
      method: 'selfguide',
      task: 'task190',
      providers: { double: provider },
      model: { provider: 'double', model: 'sim-model' },
      fineTune: { backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 } },
      data: { task: { format: 'selfguide-task', path: path.resolve(__dirname, '../../demo/selfguide/task190') } },
      settings: { inputTemperature: 0.7, inputLengthFilter: true, outputLengthFilter: false, epochs: 1 },
      generation: { rounds: 3, promptsPerRound: 4, maxTokens: 64 },
      annotation: { samples: 4, maxTokens: 16 },
      evaluation: { maxTokens: 16, testLimit: 8 },
      execution: { shardSize: 4, parallelShards: 2 },
    }),
  });
  print('SELF-GUIDE', report);
  expectSurvived(report, ['generate-inputs', 'annotate-outputs', 'evaluate']);
});
