// The open-model loop for real on this machine: SemiEvol trains M_warm and M_evol with the `command` backend (the
// fake LoRA trainer writes real GGUF adapters for the tiny random model) and evaluates them on embedded llama.cpp
// (`serve: llama-cpp`). The recorded evaluations must be those of the base model with each stage's own adapter.
import * as path from 'node:path';
import type { AnsweredQuestion } from '../../activities/inference';
import { LlamaCppChat } from '../../activities/providers/llama-cpp-chat';
import type { LlamaCppProviderConfig } from '../../core/config';
import { zeroShotMessages } from '../../core/prompts';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { ModelRef } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { adapterFileName, fakeTrainerCommand } from '../support/fake-lora-trainer';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const modelPath = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
const fpb = (split: string) => loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`)).items;
// One thread: oversubscribed threads slow this tiny model down many times over.
const local: LlamaCppProviderConfig = {
  kind: 'llama-cpp',
  modelPath,
  contextSize: 2048,
  gpu: false,
  threads: 1,
  maxConcurrency: 1,
};
const sampling = { temperature: 0, maxTokens: 6, seed: 1, logprobs: true };

const maxDifference = (a: number[], b: number[]) => Math.max(...a.map((value, i) => Math.abs(value - b[i]!)));

describe('semievolRun with LoRA adapters trained by a command and applied by embedded llama.cpp', () => {
  it("evaluates M_warm and M_evol each with its own adapter, each changing the base's log-probabilities", async () => {
    // The trainer shapes its adapter on the GGUF base, which is also the run's model.
    const deps = tempDeps({ ...process.env, FLT_BASE_GGUF: modelPath });
    const labeled = fpb('labeled').slice(0, 8);
    const unlabeled = fpb('unlabeled').slice(0, 8);
    const test = fpb('test').slice(0, 4);
    const runId = `semievol-llama-lora-${Date.now()}`;
    const input: SemievolRunInput = {
      runId,
      task: 'fpb',
      providers: { local },
      model: { provider: 'local', model: 'tiny-random' },
      data: {
        labeled: await deps.store.writeJsonl(labeled),
        unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
        unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
        test: await deps.store.writeJsonl(test),
      },
      fineTune: {
        backend: {
          kind: 'command',
          command: fakeTrainerCommand,
          provider: 'local',
          servedModel: '{job}',
          pollIntervalSeconds: 0.2,
          serve: 'llama-cpp',
        },
        hyperparameters: { epochs: 1 },
        finalHyperparameters: { epochs: 1 },
      },
      // M_evol continues M_warm's adapter, so its adapter differs from M_warm's even if nothing is selected.
      options: semievolOptionsSchema.parse({
        collaboration: { n: 2, maxTokens: 6 },
        justification: { maxTokens: 6 },
        evolution: { from: 'warm' },
      }),
      sampling,
      execution: { shardSize: 8, parallelShards: 1 },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const direct = new LlamaCppChat(local);
    try {
      const result: SemievolRunResult = await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
      const warm = result.models.warm!;
      const evolved = result.models.evolved;
      expect(warm.adapter!.path).toMatch(new RegExp(`/${warm.model}/adapter/${adapterFileName}$`));
      expect(evolved.adapter!.path).toMatch(new RegExp(`/${evolved.model}/adapter/${adapterFileName}$`));
      expect(evolved.adapter!.path).not.toBe(warm.adapter!.path);
      // The evaluation of M_evol names M_evol's adapter file; M_warm's evaluation names M_warm's.
      expect(result.evaluations.semievol.model).toEqual(evolved);
      expect(result.evaluations.sft!.model).toEqual(warm);
      for (const e of [result.evaluations.vanilla, result.evaluations.sft!, result.evaluations.semievol])
        expect(e.score.total).toBe(test.length);

      const answersOf = async (stage: string) =>
        deps.store.readAll<AnsweredQuestion>((await deps.store.lookup(`runs/${runId}/${stage}/answers-00000`))!);
      const recorded = {
        base: await answersOf('evaluate-vanilla'),
        warm: await answersOf('evaluate-sft'),
        evolved: await answersOf('evaluate-semievol'),
      };
      const call = async (item: (typeof test)[number], adapter?: ModelRef['adapter']) => {
        const response = await direct.complete({
          model: 'tiny-random',
          messages: zeroShotMessages(item, input.options.collaboration.style),
          temperature: sampling.temperature,
          max_tokens: sampling.maxTokens,
          seed: sampling.seed,
          logprobs: true,
          ...(adapter ? { adapter } : {}),
        });
        return response.choices[0]!.logprobs!.map((entry) => entry.logprob);
      };
      for (const [i, item] of test.entries()) {
        const base = await call(item);
        const withWarm = await call(item, warm.adapter);
        const withEvolved = await call(item, evolved.adapter);
        const logprobsOf = (answers: AnsweredQuestion[]) => {
          expect(answers[i]!.id).toBe(item.id);
          return answers[i]!.responses[0]!.logprobs!;
        };
        // Each adapter changes the tiny model's token log-probabilities, and the two adapters differ.
        expect(maxDifference(withWarm, base)).toBeGreaterThan(1e-3);
        expect(maxDifference(withEvolved, base)).toBeGreaterThan(1e-3);
        expect(maxDifference(withEvolved, withWarm)).toBeGreaterThan(1e-3);
        // The run's evaluations are exactly those direct calls: M_evol's adapter, not M_warm's, in SemiEvol's row.
        expect(maxDifference(logprobsOf(recorded.evolved), withEvolved)).toBeLessThan(1e-5);
        expect(maxDifference(logprobsOf(recorded.evolved), withWarm)).toBeGreaterThan(1e-3);
        expect(maxDifference(logprobsOf(recorded.warm), withWarm)).toBeLessThan(1e-5);
        expect(maxDifference(logprobsOf(recorded.base), base)).toBeLessThan(1e-5);
      }
    } finally {
      await direct.close();
      await close();
      await deps.gateway.close();
    }
  });
});
