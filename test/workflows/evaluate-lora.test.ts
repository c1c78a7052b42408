// An evaluation of a model that carries a LoRA adapter answers with the adapter applied: the run's recorded answers
// match direct calls to embedded llama.cpp with the adapter, and differ from the base model's, on the tiny model.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AnsweredQuestion } from '../../activities/inference';
import { LlamaCppChat } from '../../activities/providers/llama-cpp-chat';
import type { LlamaCppProviderConfig } from '../../core/config';
import { zeroShotMessages } from '../../core/prompts';
import type { McqItem, ModelRef } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import type { EvaluationRunInput } from '../../workflows/evaluation-run';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const modelPath = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');
const fpbTest = path.resolve(__dirname, '../../../shared/data/semievol/fpb/test.csv');
const local: LlamaCppProviderConfig = {
  kind: 'llama-cpp',
  modelPath,
  contextSize: 1024,
  gpu: false,
  threads: 1,
  maxConcurrency: 1,
};
const sampling = { temperature: 0, maxTokens: 6, seed: 1, logprobs: true };

const maxDifference = (a: number[], b: number[]) => Math.max(...a.map((value, i) => Math.abs(value - b[i]!)));

describe('evaluationRun of a model with a LoRA adapter on embedded llama.cpp', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-eval-lora-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("answers with the model's adapter applied, and the base model without it", async () => {
    const adapterPath = path.join(dir, 'x.gguf');
    writeLoraAdapter(modelPath, adapterPath, { ...defaultLoraSpec, seed: 'adapter-x' });
    const base: ModelRef = { provider: 'local', model: 'tiny-random' };
    const adapted: ModelRef = { ...base, adapter: { name: 'x', path: adapterPath } };

    const deps = tempDeps();
    const items: McqItem[] = loadSemiEvolCsv(fpbTest).items.slice(0, 2);
    const test = await deps.store.writeJsonl(items);
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `llama-lora-${Date.now()}`;
    const answersOf = async (stage: string) =>
      deps.store.readAll<AnsweredQuestion>((await deps.store.lookup(`runs/${runId}/${stage}/answers-00000`))!);
    try {
      const result = await worker.run(() =>
        client.workflow.execute('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [
            {
              runId,
              task: 'fpb',
              providers: { local },
              models: [base, adapted],
              test,
              sampling,
              metric: 'option-letter',
              execution: { shardSize: 2, parallelShards: 1 },
            } satisfies EvaluationRunInput,
          ],
        }),
      );
      // Same prompts, other adapter: the second model's calls are paid, not answered from the first one's cache.
      expect(result.usage.calls).toBe(4);
      const [baseAnswers, adaptedAnswers] = [await answersOf('evaluate-1'), await answersOf('evaluate-2')];

      const direct = new LlamaCppChat(local);
      try {
        for (const [i, item] of items.entries()) {
          const call = async (adapter?: ModelRef['adapter']) => {
            const response = await direct.complete({
              model: base.model,
              messages: zeroShotMessages(item),
              temperature: sampling.temperature,
              max_tokens: sampling.maxTokens,
              seed: sampling.seed,
              logprobs: true,
              ...(adapter ? { adapter } : {}),
            });
            return response.choices[0]!.logprobs!.map((entry) => entry.logprob);
          };
          const [withoutX, withX] = [await call(), await call(adapted.adapter)];
          const [recordedBase, recordedAdapted] = [baseAnswers[i]!, adaptedAnswers[i]!];
          expect(recordedAdapted.id).toBe(item.id);
          expect(maxDifference(recordedAdapted.responses[0]!.logprobs!, withX)).toBeLessThan(1e-5);
          expect(maxDifference(recordedBase.responses[0]!.logprobs!, withoutX)).toBeLessThan(1e-5);
          expect(maxDifference(withX, withoutX)).toBeGreaterThan(1e-3);
        }
      } finally {
        await direct.close();
      }
    } finally {
      await close();
      await deps.gateway.close();
    }
  });
});
