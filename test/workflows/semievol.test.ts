// The SemiEvol run on the real dev server against the provider test double's simulated model: every stage, the
// pseudo-label diagnostic, `flt semievol select --run`, and a resumed run that pays for nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ProvidersConfig } from '../../core/config';
import { searchAttributes } from '../../core/search-attributes';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { semievolMethod } from '../../lib/methods/semievol';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { childId } from '../../workflows/shared';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, temporalAddress, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`), {
    requireAnswer: split !== 'unlabeled',
  }).items;
const labeled = fpb('labeled').slice(0, 60);
const unlabeled = fpb('unlabeled').slice(0, 200);
const test = fpb('test').slice(0, 100);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));

describe('semievolRun on the simulated model', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 50, gain: 0.25 } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
        maxConcurrency: 8,
      },
    };
  });
  afterAll(async () => double?.stop());

  const input = async (runId: string): Promise<SemievolRunInput> => ({
    runId,
    task: 'fpb',
    providers,
    model: { provider: 'double', model: 'sim-model' },
    data: {
      labeled: await deps.store.writeJsonl(labeled),
      unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
      unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
      test: await deps.store.writeJsonl(test),
    },
    fineTune: {
      backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
      hyperparameters: { epochs: 2 },
      finalHyperparameters: { epochs: 2 },
    },
    options: semievolOptionsSchema.parse({
      // An embedding model configured: the retriever is embeddings by default, as in the authors' code.
      propagation: { embeddingModel: { provider: 'double', model: 'sim-embedding' } },
      collaboration: { maxTokens: 64 },
      justification: { maxTokens: 64 },
    }),
    sampling: { temperature: 0, maxTokens: 64, seed: 3 },
    execution: { shardSize: 50, parallelShards: 2 },
  });

  it('runs every stage; selected pseudo-labels beat them all; select --run agrees; resuming pays nothing', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-${Date.now()}`;
    try {
      await worker.run(async () => {
        const result: SemievolRunResult = await client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId)],
        });
        const { evaluations: e, pseudoLabels: p } = result;

        // Stage 1: M_warm is a fine-tuned model, trained on gold labels, so it beats M_base.
        expect(result.models.warm!.model).toMatch(/^ft:sim-model/);
        expect(result.models.evolved.model).toMatch(/^ft:sim-model/);
        expect(e.sft!.score.accuracy).toBeGreaterThan(e.vanilla.score.accuracy);
        expect(e.semievol.score.accuracy).toBeGreaterThan(e.vanilla.score.accuracy);
        for (const evaluation of [e.vanilla, e.sft!, e.semievol, e.rag]) expect(evaluation.score.total).toBe(100);

        // Stages 3-5 and the diagnostic: low-entropy pseudo-labels are the accurate ones.
        expect(p.counts.questions).toBe(200);
        expect(p.consistencyRate).toBeGreaterThan(0.2);
        expect(p.consistencyRate).toBeLessThan(1);
        expect(p.justified).toBe(p.counts.questions - p.counts.consistent);
        expect(p.counts.selected).toBeGreaterThanOrEqual(p.counts.pseudoLabeled / 2);
        expect(p.counts.selected).toBeLessThan(p.counts.pseudoLabeled);
        expect(p.accuracy.all.total).toBe(p.counts.pseudoLabeled);
        expect(p.accuracy.selected.accuracy).toBeGreaterThan(p.accuracy.all.accuracy + 0.05);

        // Calls: n collaborators per question, one justification per inconsistent question, embeddings for retrieval.
        const requests = await double.requests();
        const chats = requests.filter((r) => r.path === '/v1/chat/completions');
        expect(chats.length).toBe(200 * 4 + p.justified + 4 * 100);
        expect(requests.filter((r) => r.path === '/v1/embeddings').length).toBeGreaterThan(0);
        expect(requests.filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs')).toHaveLength(2);
        expect(result.usage.costUsd).toBeGreaterThan(0);

        // The run's records artifact is the select command's input, one line per unlabeled question.
        const records = await deps.store.readAll<{
          id: string;
          collaborators: { response: string }[];
          reflection: unknown;
        }>(p.records);
        expect(records).toHaveLength(200);
        expect(records.every((r) => r.collaborators.length === 4)).toBe(true);
        // The default style asks for the answer line alone, the form M_warm was trained on.
        expect(records.every((r) => r.collaborators.every((c) => /^Answer: [A-Z]$/.test(c.response)))).toBe(true);
        expect(records.filter((r) => r.reflection !== null)).toHaveLength(p.justified);

        // What `flt result` prints.
        const summary = semievolMethod.summarize(result).join('\n');
        expect(summary).toContain(
          `SemiEvol (double/${result.models.evolved.model}): accuracy ${e.semievol.score.accuracy.toFixed(3)}`,
        );
        expect(summary).toContain(
          `selected: ${p.counts.selected} with entropy <= ${p.threshold!.toFixed(4)} (theta 50)`,
        );
        expect(summary).toMatch(
          /pseudo-label accuracy against withheld gold \(diagnostic\): all 0\.\d{3} \(\d+\/200\), selected/,
        );

        const description = await client.workflow.getHandle(runId).describe();
        expect(description.typedSearchAttributes.get(searchAttributes.stage)).toBe('done');
        expect(description.typedSearchAttributes.get(searchAttributes.accuracy)).toBe(e.semievol.score.accuracy);
        expect(description.typedSearchAttributes.get(searchAttributes.costUsd)).toBeCloseTo(result.usage.costUsd, 9);
        for (const stage of ['warm-up', 'propagate', 'collaborate', 'justify', 'evolve', 'evaluate-rag']) {
          expect((await client.workflow.getHandle(childId(runId, stage)).describe()).status.name).toBe('COMPLETED');
        }

        // `flt semievol select --run` recomputes the run's selection from its records, with no model call.
        const before = requests.length;
        const out = mkdtempSync(path.join(os.tmpdir(), 'flt-select-'));
        // Without --theta, the run's own selection (theta 50 among all pseudo-labels) is applied.
        const select = (theta?: number) =>
          promisify(execFile)(
            path.join(root, 'node_modules/.bin/tsx'),
            [
              path.join(root, 'client.ts'),
              'semievol',
              'select',
              '--run',
              runId,
              ...(theta === undefined ? [] : ['--theta', String(theta)]),
              '--output',
              path.join(out, `${theta ?? 'own'}.jsonl`),
            ],
            {
              env: {
                ...process.env,
                TEMPORAL_ADDRESS: temporalAddress(),
                FLT_ARTIFACT_ROOT: path.join(deps.home, 'artifacts'),
              },
            },
          );
        const lines = (theta: number | 'own') =>
          readFileSync(path.join(out, `${theta}.jsonl`), 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
        await select(50);
        expect(lines(50)).toEqual(await deps.store.readAll(p.selected));
        expect((await select()).stdout).toContain('(theta 50, among all)');
        expect(lines('own')).toEqual(await deps.store.readAll(p.selected));
        expect((await select(100)).stdout).toContain(`selected: ${p.counts.pseudoLabeled}`);
        expect(lines(100)).toHaveLength(p.counts.pseudoLabeled);
        expect((await double.requests()).length).toBe(before);

        // The same run id again: every shard is found finished and every fine-tune job found, so nothing is paid twice.
        const again: SemievolRunResult = await client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: `${runId}-again`,
          args: [await input(runId)],
        });
        expect(again.usage.calls).toBe(0);
        expect(again.pseudoLabels.selected).toEqual(p.selected);
        expect(again.evaluations.semievol.score.accuracy).toBe(e.semievol.score.accuracy);
        expect(
          (await double.requests()).filter(
            (r) => r.method === 'POST' && (r.path === '/v1/chat/completions' || r.path === '/v1/fine_tuning/jobs'),
          ),
        ).toHaveLength(chats.length + 2);
      });
    } finally {
      await close();
    }
  });
});
