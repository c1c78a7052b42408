// Serving billed by time is spent money: an evaluation through a server on your own GPU (`prices.gpuHour`) adds the
// stage's wall time, read from the worker's clock around the stage, to the stage's cost, the run's total and
// FltCostUsd, labelled apart as `timeBilledUsd`. Against the provider double.
import * as path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const fpbTest = path.resolve(__dirname, '../../../shared/data/semievol/fpb/test.csv');
const items = loadSemiEvolCsv(fpbTest).items.slice(0, 4);
const gpuHour = 3.6;

describe('an evaluation through a GPU server priced by the hour', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({ config: { models: { 'sim-model': { accuracy: 0.5 } } } });
  });
  afterAll(async () => double?.stop());

  it("counts the stage's measured wall time at gpuHour in the stage's cost, the total and FltCostUsd", async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `serving-time-${Date.now()}`;
    const input: EvaluationRunInput = {
      runId,
      task: 'fpb',
      providers: {
        gpu: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          requestTimeoutSeconds: 30,
          prices: {
            inputPerMillionTokens: 0,
            outputPerMillionTokens: 0,
            trainingPerMillionTokens: 0,
            gpuHour,
            tokensPerSecond: 1000,
          },
          maxConcurrency: 4,
        },
      },
      models: [{ provider: 'gpu', model: 'sim-model' }],
      test: await deps.store.writeJsonl(items),
      sampling: { temperature: 0, maxTokens: 16, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 4, parallelShards: 1 },
    };
    try {
      await double.holdModelCalls({ model: 'sim-model' });
      const { result, handle } = await worker.run(async () => {
        const handle = await client.workflow.start('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
        });
        // The calls are held inside the stage: once this side's clock has moved past that moment, the stage is
        // certain to span at least a millisecond of the same clock.
        await double.waitForHeldModelCalls(items.length);
        const held = Date.now();
        while (Date.now() <= held) await new Promise((resolve) => setTimeout(resolve, 1));
        await double.releaseModelCalls();
        return { result: (await handle.result()) as EvaluationRunResult, handle };
      });

      // The two clock reads the run recorded around its stage, as local-activity markers.
      const { events } = await handle.fetchHistory();
      const reads = (events ?? [])
        .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
        .map((e) => e.markerRecordedEventAttributes?.details?.result?.payloads?.[0])
        .filter((payload) => payload !== undefined)
        .map((payload) => defaultPayloadConverter.fromPayload<number>(payload!));
      expect(reads).toHaveLength(2);
      const [from, to] = reads as [number, number];
      expect(to).toBeGreaterThan(from);
      const expected = ((to - from) / 3_600_000) * gpuHour;

      const stage = result.costs.find((c) => c.stage === 'evaluate')!;
      expect(stage.usage.timeBilledUsd).toBeCloseTo(expected, 12);
      expect(stage.usage.costUsd).toBeCloseTo(expected, 12); // the calls themselves are free per token
      expect(result.usage.timeBilledUsd).toBeCloseTo(expected, 12);
      expect(result.usage.costUsd).toBeCloseTo(expected, 12);
      const described = await handle.describe();
      const costAttribute = described.typedSearchAttributes.getAll().find((a) => a.key.name === 'FltCostUsd');
      expect(costAttribute?.value).toBeCloseTo(expected, 12);
    } finally {
      await double.releaseModelCalls();
      await close();
      await deps.gateway.close();
    }
  });
});
