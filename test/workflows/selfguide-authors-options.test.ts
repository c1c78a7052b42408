// A SELF-GUIDE run on the real dev server with the authors' options: `generation.filters: authors` builds the library
// and filters under the authors' rules, in artifacts of its own, and a split cut by `evaluation.longItems: drop`
// reports its count in the result.
import * as path from 'node:path';
import type { GeneratedInput } from '../../activities/selfguide-data';
import type { ProvidersConfig } from '../../core/config';
import { applyAuthorsInputFilters, countReasons } from '../../core/selfguide-filters';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import type { SelfGuidePipeline } from '../../workflows/selfguide-stages';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const taskDir = path.resolve(__dirname, '../../../shared/data/selfguide/task1385');

describe("selfGuideRun with the authors' options", () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 40, gain: 0.4 } },
    });
  });
  afterAll(async () => double?.stop());

  it('filters under generation.filters: authors and reports the test items longItems left out', async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
        maxConcurrency: 16,
      },
    };
    const pipeline: SelfGuidePipeline = {
      providers,
      model: { provider: 'double', model: 'sim-model' },
      fineTune: {
        backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
        lora: false,
        maxExampleTokens: 2000,
      },
      generation: { rounds: 2, promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000, filters: 'authors' },
      annotation: { samples: 10, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words', exactMatch: 'authors', longItems: 'drop' },
      execution: { shardSize: 10, parallelShards: 2 },
      seed: 0,
    };
    const run = await storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir }, 10, []);
    const items = await deps.store.readAll<{ input: string; output: string }>(run.test);
    await double.setGold(items.map((i) => ({ question: i.input, answer: i.output, choices: run.task.labels })));
    const settings = { inputTemperature: 0.8, inputLengthFilter: true, outputLengthFilter: true, epochs: 1 };

    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `sg-authors-${Date.now()}`;
    try {
      await worker.run(async () => {
        // The split as `flt run` stores it under longItems: drop; 3 stands for the items it left out.
        const input = { runId, ...pipeline, ...run, longItemsDropped: 3, settings } satisfies SelfGuideRunInput;
        const handle = await client.workflow.start('selfGuideRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
        });
        const result: SelfGuideRunResult = await handle.result();
        expect(result.longTestItemsDropped).toBe(3);

        // Both rounds and the filter report lie apart from ours, and the counts are the authors' rules' over what
        // the run generated, round by round.
        expect(await deps.store.lookup(`runs/${runId}/generate-inputs/generated-00002`)).toBeNull();
        const generatedRef = await deps.store.lookup(`runs/${runId}/generate-inputs/authors-filters/generated-00002`);
        expect(generatedRef).not.toBeNull();
        const generated = await deps.store.readAll<GeneratedInput>(generatedRef!);
        expect(new Set(generated.map((g) => g.round))).toEqual(new Set([1, 2]));
        const spec = {
          exampleInputs: run.task.examples.map((e) => e.input),
          noiseTerms: run.task.noise_terms,
          lengthFilter: true,
        };
        expect(result.inputs.filters).toEqual(countReasons(applyAuthorsInputFilters(generated, spec)));
        expect(await deps.store.lookup(`runs/${runId}/filter-inputs/authors-filters/report`)).not.toBeNull();
        expect(await deps.store.lookup(`runs/${runId}/filter-inputs/report`)).toBeNull();
        expect(result.evaluations.every((e) => e.score.metric === 'exact-match' && e.score.total === 10)).toBe(true);
      });
    } finally {
      await close();
    }
  });
});
