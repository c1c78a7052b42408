// Estimates of stages sent through a provider's Batch API (`execution.batch`): each batchable stage priced online and
// at the batch price, the budget at the price the run will pay, and what `flt estimate` and `flt run` print of it.
import * as path from 'node:path';
import { estimateLine, estimateTable } from '../../cli/estimate';
import type { BatchOptions } from '../../core/batch';
import { batchTokenPrices, batchSchema, providersSchema, type FineTuneBackendConfig } from '../../core/config';
import {
  batchPriced,
  chatEstimate,
  combine,
  crossedLimit,
  fineTuneEstimate,
  pricesOf,
  rescale,
  type StageEstimate,
} from '../../core/estimate';
import {
  selfGuideAnnotationSchema,
  selfGuideEvaluationSchema,
  selfGuideGenerationSchema,
} from '../../core/selfguide-config';
import { estimateCampaign, estimateSelfGuide, type SelfGuideEstimatePipeline } from '../../core/selfguide-estimate';
import { semievolOptionsSchema } from '../../core/semievol-config';
import { estimateSemievol } from '../../core/semievol-estimate';
import type { McqItem } from '../../core/types';
import { loadSelfGuideTask } from '../../lib/datasets';

const prices = { inputPerMillionTokens: 2, outputPerMillionTokens: 8, trainingPerMillionTokens: 10 };
const providers = providersSchema.parse({
  // api.openai.com: OpenAI's Batch API, at half the online prices.
  openai: { kind: 'openai-compatible', prices },
  // A server of your own with no Batch API.
  vllm: { kind: 'openai-compatible', baseURL: 'http://localhost:8000/v1', prices },
  // Together, whose batch prices are set.
  together: {
    kind: 'openai-compatible',
    baseURL: 'https://api.together.xyz/v1',
    batchApi: 'together',
    prices: { ...prices, batchInputPerMillionTokens: 1.5, batchOutputPerMillionTokens: 4 },
  },
});
const openai: FineTuneBackendConfig = { kind: 'openai', provider: 'openai', pollIntervalSeconds: 30 };
const batchOptions = (batch: object): BatchOptions => batchSchema.parse(batch);
const work = (provider: string, calls = 10) => ({
  calls,
  promptTokens: 1000 * calls,
  maxTokens: 100,
  prices: pricesOf(providers, provider),
  batchable: true,
});

describe('batch prices', () => {
  it("are the provider's configured batch prices, else half its online ones", () => {
    expect(batchTokenPrices({ ...prices, batchOutputPerMillionTokens: 5 })).toEqual({
      inputPerMillionTokens: 1,
      outputPerMillionTokens: 5,
    });
    expect(pricesOf(providers, 'openai').batch).toEqual({ inputPerMillionTokens: 1, outputPerMillionTokens: 4 });
    expect(pricesOf(providers, 'together').batch).toEqual({ inputPerMillionTokens: 1.5, outputPerMillionTokens: 4 });
    expect(pricesOf(providers, 'vllm').batch).toBeUndefined();
  });

  it('price a batchable stage both ways, and charge the batch price only where the mode batches it', () => {
    // 10,000 prompt tokens and 1,000 completion tokens: $0.028 online, $0.014 batched.
    const stage = chatEstimate('collaborate', 10, work('openai'));
    expect(stage.costUsd).toBeCloseTo(0.028, 12);
    expect(stage.batch).toEqual({
      calls: 10,
      onlineUsd: expect.closeTo(0.028, 12),
      batchUsd: expect.closeTo(0.014, 12),
      batched: false,
    });
    const always = batchPriced(stage, batchOptions({ stages: { collaborate: true } }), 'collaborate');
    expect(always.costUsd).toBeCloseTo(0.014, 12);
    expect(always.batch?.batched).toBe(true);
    const never = batchPriced(stage, batchOptions({ mode: true, stages: { collaborate: false } }), 'collaborate');
    expect(never).toMatchObject({ costUsd: stage.costUsd, batch: { batched: false } });
    expect(batchPriced(stage, undefined, 'collaborate')).toEqual(stage);
  });

  it('under auto, batch a stage whose calls reach autoMinCalls, and no other', () => {
    const stage = chatEstimate('justify', 10, work('openai'));
    expect(batchPriced(stage, batchOptions({ mode: 'auto', autoMinCalls: 10 }), 'justify').batch?.batched).toBe(true);
    expect(batchPriced(stage, batchOptions({ mode: 'auto', autoMinCalls: 11 }), 'justify').batch?.batched).toBe(false);
  });

  it('leave calls to a provider without a Batch API online, whatever the mode', () => {
    const stage = chatEstimate('collaborate', 10, work('vllm'));
    expect(stage.batch).toBeUndefined();
    const priced = batchPriced(stage, batchOptions({ mode: true }), 'collaborate');
    expect(priced.costUsd).toBeCloseTo(0.028, 12);
    expect(priced.batch).toBeUndefined();
  });

  it('add up over parts, some without a Batch API, and rescale with the units', () => {
    const both = combine('collaborate', [
      chatEstimate('collaborate', 10, work('openai')),
      chatEstimate('collaborate', 10, work('vllm')),
    ]);
    // The vLLM half stays online in both figures.
    expect(both.batch).toEqual({
      calls: 10,
      onlineUsd: expect.closeTo(0.056, 12),
      batchUsd: expect.closeTo(0.042, 12),
      batched: false,
    });
    const batched = batchPriced(both, batchOptions({ mode: true }), 'collaborate');
    expect(batched.costUsd).toBeCloseTo(0.042, 12);
    expect(rescale(batched, 20)).toMatchObject({
      costUsd: expect.closeTo(0.084, 12),
      batch: { calls: 20, onlineUsd: expect.closeTo(0.112, 12), batchUsd: expect.closeTo(0.084, 12), batched: true },
    });
  });

  it('let a budget the online price would cross admit the stage at its batch price', () => {
    const stage = chatEstimate('collaborate', 10, work('openai'));
    const spent = { usd: 0, tokens: 0 };
    expect(crossedLimit({ usd: 0.02 }, spent, stage)).toBe('usd');
    expect(
      crossedLimit({ usd: 0.02 }, spent, batchPriced(stage, batchOptions({ mode: true }), 'collaborate')),
    ).toBeNull();
  });
});

const item = (i: number, answer: string | null = 'A'): McqItem => ({
  id: `q${i}`,
  question: `Is statement number ${i} about rising profits positive?`,
  options: ['positive', 'negative', 'neutral'],
  answer,
});

describe('method estimates with execution.batch', () => {
  const semievol = (batch?: BatchOptions) =>
    Object.fromEntries(
      estimateSemievol({
        providers,
        model: { provider: 'openai', model: 'base' },
        fineTune: { backend: openai, hyperparameters: { epochs: 2 }, finalHyperparameters: { epochs: 2 } },
        options: semievolOptionsSchema.parse({}),
        sampling: { maxTokens: 100, seed: 0 },
        labeled: [1, 2, 3, 4].map((i) => item(i)),
        unlabeled: [5, 6, 7, 8, 9, 10].map((i) => item(i, null)),
        test: [11, 12, 13].map((i) => item(i)),
        batch,
      }).map((s) => [s.stage, s]),
    );

  it('semievol: collaborate and justify at half price when batched; fine-tunes and evaluations as before', () => {
    const online = semievol();
    const batched = semievol(batchOptions({ stages: { collaborate: true, justify: true } }));
    for (const stage of ['collaborate', 'justify']) {
      expect(online[stage].batch).toMatchObject({ batched: false });
      expect(online[stage].costUsd).toBeCloseTo(online[stage].batch!.onlineUsd, 12);
      expect(batched[stage].batch).toMatchObject({ batched: true });
      expect(batched[stage].costUsd).toBeCloseTo(online[stage].costUsd / 2, 12);
    }
    for (const stage of ['warm-up', 'propagate', 'evolve']) {
      expect(batched[stage].batch).toBeUndefined();
      expect(batched[stage].costUsd).toBe(online[stage].costUsd);
    }
    expect(batched.evaluate.batch).toMatchObject({ batched: false });
    expect(batched.evaluate.costUsd).toBe(online.evaluate.costUsd);
  });

  it('semievol: each evaluation at half price when evaluate is batched; auto weighs each evaluation alone', () => {
    const online = semievol();
    const batched = semievol(batchOptions({ stages: { evaluate: true } }));
    expect(batched.evaluate.batch).toMatchObject({ batched: true });
    expect(batched.evaluate.costUsd).toBeCloseTo(online.evaluate.costUsd / 2, 12);
    expect(batched.collaborate.costUsd).toBe(online.collaborate.costUsd);
    // Four evaluations of the 3 test questions: 12 calls in all, 3 in each batch.
    expect(semievol(batchOptions({ mode: 'auto', autoMinCalls: 4 })).evaluate.costUsd).toBe(online.evaluate.costUsd);
    const auto = semievol(batchOptions({ mode: 'auto', autoMinCalls: 3 })).evaluate;
    expect(auto.costUsd).toBeCloseTo(online.evaluate.costUsd / 2, 12);
  });

  it("semievol: auto batches collaborate's 24 calls at autoMinCalls 24, not justify's 6", () => {
    const s = semievol(batchOptions({ mode: 'auto', autoMinCalls: 24 }));
    expect(s.collaborate.batch).toMatchObject({ calls: 24, batched: true });
    expect(s.justify.batch).toMatchObject({ calls: 6, batched: false });
  });

  const task = (name: string) => {
    const { test: testLines, ...definition } = loadSelfGuideTask(path.resolve(__dirname, '../../demo/selfguide', name));
    return { task: definition, test: testLines.slice(0, 5) };
  };
  const pipeline = (batch?: BatchOptions): SelfGuideEstimatePipeline => ({
    providers,
    model: { provider: 'openai', model: 'base' },
    fineTune: { backend: openai, lora: false, maxExampleTokens: 2000 },
    generation: selfGuideGenerationSchema.parse({}),
    annotation: selfGuideAnnotationSchema.parse({}),
    evaluation: selfGuideEvaluationSchema.parse({}),
    seed: 0,
    execution: { batch },
  });

  it('selfguide: auto weighs each generation round (a batch of promptsPerRound calls) and annotation as one', () => {
    const run = task('task190'); // 40 rounds of 10 prompts
    const stages = (batch: object) => estimateSelfGuide(pipeline(batchOptions(batch)), run, 3);
    const [generate, annotate] = stages({ mode: 'auto', autoMinCalls: 10 });
    expect(generate.batch).toMatchObject({ calls: 400, batched: true });
    expect(annotate.batch).toMatchObject({ calls: 400, batched: true });
    const [generateOnline, annotateBatched] = stages({ mode: 'auto', autoMinCalls: 11 });
    expect(generateOnline.batch?.batched).toBe(false);
    expect(annotateBatched.batch?.batched).toBe(true);
    expect(generate.costUsd).toBeCloseTo(generateOnline.costUsd / 2, 12);
  });

  it('selfguide-campaign: the validation and test stages save what their generation and annotation save', () => {
    const grid = { inputTemperature: [0.7], inputLengthFilter: [true], outputLengthFilter: [true], epochs: [1] };
    const small = (batch?: BatchOptions) => ({
      ...pipeline(batch),
      generation: { ...selfGuideGenerationSchema.parse({}), rounds: 2 },
    });
    const campaign = (batch?: BatchOptions) =>
      estimateCampaign(small(batch), [task('task190')], [task('task036')], grid);
    const online = campaign();
    const batched = campaign(batchOptions({ mode: true }));
    for (const [i, stage] of batched.entries()) {
      const calls = stage.batch!;
      expect(calls.batched).toBe(true);
      expect(calls.onlineUsd).toBeCloseTo(online[i].costUsd, 12);
      expect(stage.costUsd).toBeCloseTo(calls.batchUsd, 12);
      expect(stage.costUsd).toBeLessThan(online[i].costUsd);
      expect(stage.costUsd).toBeGreaterThan(online[i].costUsd / 2); // fine-tunes and evaluations pay in full
    }
  });
});

describe('flt estimate and flt run with batched stages', () => {
  const stage = (name: string, provider: string, mode: boolean): StageEstimate =>
    batchPriced(chatEstimate(name, 10, work(provider)), batchOptions({ mode }), 'collaborate');
  const warmUp = fineTuneEstimate('warm-up', openai, providers, { examples: 10, exampleTokens: 1000, epochs: 1 });

  it('shows each stage online and at the batch price, with the saving where it is batched', () => {
    const stages = [warmUp, stage('collaborate', 'openai', true), stage('justify', 'openai', false)];
    const rows = estimateTable(stages);
    expect(rows.map((row) => row.split(/ {2,}/))).toEqual([
      [
        ...['stage', 'calls', 'prompt tokens', 'completion tokens (max)', 'training tokens'],
        ...['online (up to)', 'batch (up to)', 'saving', 'cost (up to)'],
      ],
      ['warm-up', '0', '0', '0', '1,000', '$0.0100', '-', '-', '$0.0100'],
      ['collaborate', '10', '10,000', '1,000', '0', '$0.0280', '$0.0140', '$0.0140', '$0.0140'],
      // Not batched: it pays the online price, and the batch price shows what batching it would cost.
      ['justify', '10', '10,000', '1,000', '0', '$0.0280', '$0.0140', '-', '$0.0280'],
      ['total', '20', '20,000', '2,000', '1,000', '$0.0660', '-', '$0.0140', '$0.0520'],
    ]);
    expect(new Set(rows.map((row) => row.length)).size).toBe(1); // aligned columns
  });

  it('keeps one cost column where no stage can batch', () => {
    expect(estimateTable([warmUp, stage('collaborate', 'vllm', true)])).toEqual([
      'stage        calls  prompt tokens  completion tokens (max)  training tokens  cost (up to)',
      'warm-up          0              0                        0            1,000       $0.0100',
      'collaborate     10         10,000                    1,000                0       $0.0280',
      'total           10         10,000                    1,000            1,000       $0.0380',
    ]);
  });

  it("says in flt run's line what the batched stages save", () => {
    const stages = [warmUp, stage('collaborate', 'openai', true), stage('justify', 'openai', true)];
    expect(estimateLine(stages, 'run.yaml')).toBe(
      'estimate: up to $0.0380 (20 calls, 23,000 tokens, completions at their max tokens), ' +
        'with collaborate and justify at batch prices: $0.0280 less than online; ' +
        '`flt estimate run.yaml` shows each stage',
    );
    expect(estimateLine([warmUp, stage('collaborate', 'openai', false)], 'run.yaml')).toBe(
      'estimate: up to $0.0380 (10 calls, 12,000 tokens, completions at their max tokens); ' +
        '`flt estimate run.yaml` shows each stage',
    );
  });
});
