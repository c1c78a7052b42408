// SemiEvol end to end on the embedded llama.cpp path: the tiny random GGUF model answers (gibberish, with real token
// log-probabilities) and the in-context fine-tune backend stands in for training. Small on purpose.
import * as path from 'node:path';
import { semievolOptionsSchema } from '../../core/semievol-config';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(__dirname, `../../../shared/data/semievol/fpb/${split}.csv`)).items;
const modelPath = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');

describe('semievolRun on the embedded llama.cpp path', () => {
  it('completes every stage with the in-context fine-tune backend', async () => {
    const deps = tempDeps();
    const unlabeled = fpb('unlabeled').slice(0, 24);
    const runId = `semievol-llama-${Date.now()}`;
    const input: SemievolRunInput = {
      runId,
      task: 'fpb',
      providers: {
        local: { kind: 'llama-cpp', modelPath, contextSize: 2048, gpu: false, threads: 1, maxConcurrency: 1 },
      },
      model: { provider: 'local', model: 'tiny-random' },
      data: {
        labeled: await deps.store.writeJsonl(fpb('labeled').slice(0, 12)),
        unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
        unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
        test: await deps.store.writeJsonl(fpb('test').slice(0, 12)),
      },
      fineTune: { backend: { kind: 'in-context', k: 2 }, hyperparameters: {}, finalHyperparameters: {} },
      options: semievolOptionsSchema.parse({ collaboration: { maxTokens: 8 }, justification: { maxTokens: 8 } }),
      sampling: { temperature: 0, maxTokens: 8, seed: 1 },
      execution: { shardSize: 12, parallelShards: 2 },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      const result: SemievolRunResult = await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
      const { pseudoLabels: p, evaluations: e } = result;
      // M_warm and M_evol are M_base with demonstration pools: D_L, then D_L and the selected pseudo-labels.
      expect(result.models.warm).toEqual({
        provider: 'local',
        model: 'tiny-random',
        demonstrations: { pool: expect.objectContaining({ count: 12 }), k: 2 },
      });
      expect(result.models.evolved.demonstrations!.pool.count).toBe(12 + p.counts.selected);
      expect(p.counts.questions).toBe(24);
      expect(
        p.counts.pseudoLabeled + p.counts.droppedNoAnswer + p.counts.droppedCutOff + p.counts.droppedNoLogprobs,
      ).toBe(24);
      // Where M_evol retrieves the same demonstrations as M_warm, its request is M_warm's, answered from the cache.
      expect(result.usage.calls + result.usage.cachedCalls).toBe(24 * 4 + p.justified + 4 * 12);
      for (const evaluation of [e.vanilla, e.sft!, e.semievol, e.rag]) expect(evaluation.score.total).toBe(12);

      const records = await deps.store.readAll<{ collaborators: { logprobs: number[] }[] }>(p.records);
      expect(records).toHaveLength(24);
      for (const record of records) {
        for (const c of record.collaborators)
          expect(c.logprobs.length > 0 && c.logprobs.every((lp) => Number.isFinite(lp) && lp <= 0)).toBe(true);
      }
    } finally {
      await close();
      await deps.gateway.close();
    }
  });
});
