// SemiEvol end to end on open numeric questions (test/fixtures/open-numeric): the config's open splits loaded and
// scored with the number metric by default, the test double answering with numbers (right or wrong per its
// accuracy, right ones sometimes spelled otherwise than the gold), every stage on the real dev server, and
// `flt semievol select --run` agreeing with the run.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { readNumber } from '../../core/answers';
import { numbersMatch } from '../../core/metrics';
import type { ChatMessage } from '../../core/types';
import { loadRunConfig } from '../../lib/config-file';
import { loadOpenCsv, loadOpenJsonl } from '../../lib/datasets';
import { semievolMethod } from '../../lib/methods/semievol';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, temporalAddress, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const fixture = path.join(root, 'test/fixtures/open-numeric');
const items = [
  ...loadOpenJsonl(path.join(fixture, 'labeled.jsonl')).items,
  ...loadOpenCsv(path.join(fixture, 'unlabeled.csv')).items,
  ...loadOpenJsonl(path.join(fixture, 'test.jsonl')).items,
];

describe('semievolRun on open numeric questions', () => {
  let double: ProviderDouble;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 50, gain: 0.25 } },
      gold: items.map((item) => ({ question: item.question, answer: item.answer! })),
    });
  });
  afterAll(async () => double?.stop());

  /** The run input `flt run` would start from a config naming the fixture's splits, metric left to its default. */
  async function runInput(runId: string): Promise<SemievolRunInput> {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'flt-open-')), 'numeric.yaml');
    writeFileSync(
      file,
      [
        'method: semievol',
        'task: numeric',
        'providers:',
        `  double: { kind: openai-compatible, baseURL: "${double.baseURL}", apiKeyEnv: FLT_TEST_KEY, testDouble: true,`,
        '            maxConcurrency: 8, prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2 } }',
        'model: { provider: double, model: sim-model }',
        'data:',
        `  labeled: { format: open-jsonl, path: ${path.join(fixture, 'labeled.jsonl')} }`,
        `  unlabeled: { format: open-csv, path: ${path.join(fixture, 'unlabeled.csv')} }`,
        `  test: { format: open-jsonl, path: ${path.join(fixture, 'test.jsonl')} }`,
        'fineTune:',
        '  backend: { kind: openai, provider: double, pollIntervalSeconds: 0.2 }',
        'semievol:',
        '  collaboration: { maxTokens: 64 }',
        '  justification: { maxTokens: 64 }',
        'sampling: { maxTokens: 64, seed: 3 }',
        'execution: { shardSize: 20, parallelShards: 2 }',
        '',
      ].join('\n'),
    );
    const config = loadRunConfig(file);
    if (config.method !== 'semievol') throw new Error('expected a semievol config');
    const { input } = await semievolMethod.prepare(config, deps.store);
    return { ...(input as Omit<SemievolRunInput, 'runId'>), runId };
  }

  it('pseudo-labels numbers by tolerance, fine-tunes on them, scores every model by number', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-open-${Date.now()}`;
    try {
      const input = await runInput(runId);
      expect(input.metric).toBe('number');
      const result: SemievolRunResult = await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
      const { evaluations: e, pseudoLabels: p } = result;

      // M_warm learned the labeled split's numbers, M_evol those and the selected pseudo-labels.
      for (const evaluation of [e.vanilla, e.sft!, e.semievol, e.rag]) expect(evaluation.score.total).toBe(30);
      expect(e.sft!.score.accuracy).toBeGreaterThan(e.vanilla.score.accuracy);
      expect(e.semievol.score.accuracy).toBeGreaterThan(e.vanilla.score.accuracy);

      // Scored by value: some right answers are spelled otherwise than their gold ("5170" for "$5,170.00").
      const verdicts = await deps.store.readAll<{ prediction: string | null; gold: string; correct: boolean }>(
        e.sft!.score.details,
      );
      const right = verdicts.filter((v) => v.correct);
      expect(right.every((v) => numbersMatch(readNumber(v.prediction!)!, readNumber(v.gold)!))).toBe(true);
      expect(right.some((v) => v.prediction !== v.gold)).toBe(true);
      expect(verdicts.filter((v) => !v.correct).every((v) => v.prediction !== null)).toBe(true);

      // Consistency, self-justification and selection over numbers.
      expect(p.counts.questions).toBe(60);
      expect(p.consistencyRate).toBeGreaterThan(0);
      expect(p.consistencyRate).toBeLessThan(1);
      expect(p.justified).toBe(p.counts.questions - p.counts.consistent);
      expect(p.counts.selected).toBeGreaterThan(0);
      expect(p.accuracy.all.total).toBe(p.counts.pseudoLabeled);
      expect(p.accuracy.all.correct).toBeGreaterThan(0);
      expect(p.accuracy.selected.accuracy).toBeGreaterThanOrEqual(p.accuracy.all.accuracy);
      const records = await deps.store.readAll<{ options: string[]; collaborators: { response: string }[] }>(p.records);
      expect(records.every((r) => r.options.length === 0)).toBe(true);
      expect(
        records.every((r) => r.collaborators.every((c) => readNumber(c.response.replace(/^Answer: /, '')) !== null)),
      ).toBe(true);
      const selected = await deps.store.readAll<{ pseudo_label: string }>(p.selected);
      expect(selected.every((s) => readNumber(s.pseudo_label) !== null)).toBe(true);

      // `flt semievol select --run` reads the open records back and selects exactly as the run did.
      const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'flt-open-select-')), 'selected.jsonl');
      await promisify(execFile)(
        path.join(root, 'node_modules/.bin/tsx'),
        [path.join(root, 'client.ts'), 'semievol', 'select', '--run', runId, '--theta', '50', '--output', output],
        {
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: temporalAddress(),
            FLT_ARTIFACT_ROOT: path.join(deps.home, 'artifacts'),
          },
        },
      );
      const reselected = readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(reselected).toEqual(selected);

      // Training examples ask the open question and teach the answer line; no prompt lists options.
      const training = await deps.store.readAll<{ messages: ChatMessage[] }>(
        (await deps.store.lookup(`runs/${runId}/evolve/training`))!,
      );
      expect(training.length).toBe(20 + p.counts.selected);
      for (const { messages } of training) {
        expect(messages.map((m) => m.content).join('\n')).not.toMatch(/Options:|letter/);
        expect(messages.at(-1)!.content).toMatch(/^Answer: \S+$/);
      }
    } finally {
      await close();
    }
  });
});
