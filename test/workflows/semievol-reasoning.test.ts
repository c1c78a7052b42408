// SemiEvol with `collaboration.style: reasoning` end to end against the provider double: collaborators, the
// justifier and the evaluations are asked for reasoning before the answer line, and a response that max tokens cut off
// before its answer is counted apart from one without an answer, in the selection and in the evaluation scores.
//
// The double reasons only when a prompt does not ask for the answer line alone, in one sentence of 6 to 9 tokens
// before "Answer: X" (3 tokens), so with 10 tokens some answers are whole and the longest sentence's is cut off.
import * as path from 'node:path';
import { extractOptionLetter } from '../../core/answers';
import type { ProvidersConfig } from '../../core/config';
import type { RecordedResponse } from '../../core/semievol';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { semievolMethod } from '../../lib/methods/semievol';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`), {
    requireAnswer: split !== 'unlabeled',
  }).items;
const labeled = fpb('labeled').slice(0, 20);
const unlabeled = fpb('unlabeled').slice(0, 60);
const test = fpb('test').slice(0, 40);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));

/** Reasoning first: text before the answer line. */
const reasons = (response: string) => /^\S.*\S Answer:/s.test(response) && !response.startsWith('Answer:');
const cutOffBeforeAnswer = (r: RecordedResponse) =>
  r.finishReason === 'length' && extractOptionLetter(r.response, 3) === null;

describe('semievolRun with collaboration.style: reasoning', () => {
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
      hyperparameters: { epochs: 1 },
      finalHyperparameters: { epochs: 1 },
    },
    options: semievolOptionsSchema.parse({
      propagation: { k: 2 },
      // Collaborators have room for every answer; the justifier and the evaluations are cut off now and then.
      collaboration: { style: 'reasoning', maxTokens: 64 },
      justification: { maxTokens: 10 },
      selection: { entropyOver: 'answer-span' },
    }),
    sampling: { temperature: 0, maxTokens: 10, seed: 3 },
    execution: { shardSize: 30, parallelShards: 2 },
  });

  it('asks every stage for reasoning and counts answers cut off apart from answers never given', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-reasoning-${Date.now()}`;
    const args = [await input(runId)];
    try {
      const result: SemievolRunResult = await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args }),
      );
      const { evaluations: e, pseudoLabels: p } = result;
      const records = await deps.store.readAll<{
        collaborators: RecordedResponse[];
        reflection: RecordedResponse | null;
      }>(p.records);
      expect(records).toHaveLength(unlabeled.length);

      // Collaborators reason before their answer line, and all of them reach it.
      const collaborators = records.flatMap((r) => r.collaborators);
      expect(collaborators.every((c) => reasons(c.response) && c.finishReason === 'stop')).toBe(true);

      // The justifier reasons too; the answers it was cut off before are their own count, not "no answer".
      const reflections = records.flatMap((r) => (r.reflection ? [r.reflection] : []));
      expect(reflections).toHaveLength(p.justified);
      expect(reflections.length).toBeGreaterThan(0);
      const cutOff = reflections.filter(cutOffBeforeAnswer).length;
      expect(reflections.filter((r) => !cutOffBeforeAnswer(r)).every((r) => reasons(r.response))).toBe(true);
      expect(reflections.every((r) => !r.response.startsWith('Answer'))).toBe(true);
      expect(cutOff).toBeGreaterThan(0);
      expect(cutOff).toBeLessThan(reflections.length);
      expect(p.counts.droppedCutOff).toBe(cutOff);
      expect(p.counts.droppedNoAnswer).toBe(0);
      expect(p.counts.pseudoLabeled).toBe(unlabeled.length - cutOff - p.counts.droppedNoLogprobs);

      // Every evaluation reasons first (an answer line alone is 3 tokens, which 10 never cut off): some answers
      // are cut off, counted apart from the unanswered.
      for (const evaluation of [e.vanilla, e.sft!, e.semievol, e.rag]) {
        expect(evaluation.score.total).toBe(test.length);
        expect(evaluation.score.cutOff).toBeGreaterThan(0);
        expect(evaluation.score.cutOff).toBeLessThan(test.length);
        expect(evaluation.score.unanswered).toBe(0);
        const verdicts = await deps.store.readAll<{ prediction: string | null }>(evaluation.score.details);
        expect(verdicts.filter((v) => v.prediction === null)).toHaveLength(evaluation.score.cutOff);
      }

      // What `flt result` prints.
      const summary = semievolMethod.summarize(result).join('\n');
      expect(summary).toContain(`(dropped: 0 without an answer, ${cutOff} cut off before an answer,`);
    } finally {
      await close();
    }
  });
});
