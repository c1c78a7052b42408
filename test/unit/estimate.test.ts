// Cost estimates before a run: the arithmetic in core/estimate.ts, and each method's stages computed from the prompts
// it would send, on hand-checkable inputs.
import * as path from 'node:path';
import { chargeLines } from '../../cli/estimate';
import { fineTuneBackendSchema, providersSchema, type FineTuneBackendConfig } from '../../core/config';
import {
  chatEstimate,
  combine,
  crossedLimit,
  demonstrationTokens,
  embeddingEstimate,
  fineTuneEstimate,
  messageTokens,
  pricesOf,
  rescale,
  spentOf,
  textTokens,
} from '../../core/estimate';
import { estimateEvaluation } from '../../core/evaluate-estimate';
import { fewShotMessages, justificationMessages, trainingExample, zeroShotMessages } from '../../core/prompts';
import { branchDataSets } from '../../core/selfguide-campaign';
import {
  selfGuideAnnotationSchema,
  selfGuideEvaluationSchema,
  selfGuideGenerationSchema,
} from '../../core/selfguide-config';
import { estimateCampaign, estimateSelfGuide, type SelfGuideEstimatePipeline } from '../../core/selfguide-estimate';
import { semievolOptionsSchema } from '../../core/semievol-config';
import { estimateSemievol, type SemievolEstimateInput } from '../../core/semievol-estimate';
import type { McqItem } from '../../core/types';
import { emptyUsage } from '../../core/types';
import { loadSelfGuideTask } from '../../lib/datasets';

const prices = { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 10 };
const providers = providersSchema.parse({
  api: { kind: 'openai-compatible', prices },
  local: { kind: 'llama-cpp', modelPath: 'model.gguf' },
});
const openai: FineTuneBackendConfig = { kind: 'openai', provider: 'api', pollIntervalSeconds: 30 };
const togetherDefaults = {
  baseURL: 'https://api.together.xyz/v1',
  apiKeyEnv: 'TOGETHER_API_KEY',
  pollIntervalSeconds: 30,
};
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const item = (i: number, answer: string | null = 'A'): McqItem => ({
  id: `q${i}`,
  question: `Is statement number ${i} about rising profits positive?`,
  options: ['positive', 'negative', 'neutral'],
  answer,
});

describe('estimate arithmetic', () => {
  it('counts about four characters per token', () => {
    expect(textTokens('')).toBe(0);
    expect(textTokens('abcd')).toBe(1);
    expect(textTokens('abcde')).toBe(2);
    expect(
      messageTokens([
        { role: 'system', content: 'abcd' },
        { role: 'user', content: 'abcdefgh' },
      ]),
    ).toBe(3);
  });

  it('prices chat calls with completions at their max tokens, times the choices per call', () => {
    const e = chatEstimate('s', 10, { calls: 10, promptTokens: 1000, maxTokens: 50, choices: 2, prices });
    expect(e).toMatchObject({
      calls: 10,
      promptTokens: 1000,
      completionTokens: 1000,
      trainingTokens: 0,
      trainingUsd: 0,
      fineTune: false,
    });
    expect(e.costUsd).toBeCloseTo((1000 * 1 + 1000 * 2) / 1e6, 12);
    expect(pricesOf(providers, 'local')).toEqual({
      inputPerMillionTokens: 0,
      outputPerMillionTokens: 0,
      trainingPerMillionTokens: 0,
    });
    expect(embeddingEstimate('s', 3, 500, prices).costUsd).toBeCloseTo(500 / 1e6, 12);
  });

  it("prices a fine-tune by its tokens times epochs at the backend provider's training price", () => {
    const job = fineTuneEstimate('ft', openai, providers, { examples: 5, exampleTokens: 200, epochs: 3 });
    expect(job).toMatchObject({ units: 5, trainingTokens: 600, fineTune: true });
    expect(job.costUsd).toBeCloseTo((600 * 10) / 1e6, 12);
    expect(job.trainingUsd).toBe(job.costUsd);
    // OpenAI's usual "auto"
    expect(fineTuneEstimate('ft', openai, providers, { examples: 5, exampleTokens: 200 }).trainingTokens).toBe(600);
    const local = fineTuneEstimate(
      'ft',
      { kind: 'command', command: 'train', provider: 'local', servedModel: '{job}', pollIntervalSeconds: 5 },
      providers,
      { examples: 5, exampleTokens: 200, epochs: 1 },
    );
    expect(local).toMatchObject({ trainingTokens: 200, costUsd: 0, fineTune: true });
    expect(
      fineTuneEstimate('ft', { kind: 'in-context', k: 3 }, providers, { examples: 5, exampleTokens: 200 }),
    ).toMatchObject({ trainingTokens: 0, costUsd: 0, fineTune: false });
    expect(demonstrationTokens({ kind: 'in-context', k: 3 }, 40)).toBe(120);
    expect(demonstrationTokens(openai, 40)).toBe(0);
  });

  it('combines parts and rescales an estimate linearly in its units', () => {
    const a = chatEstimate('x', 10, { calls: 10, promptTokens: 100, maxTokens: 10, prices });
    const b = fineTuneEstimate('x', openai, providers, { examples: 4, exampleTokens: 40, epochs: 1 });
    const both = combine('both', [a, b]);
    expect(both).toMatchObject({
      stage: 'both',
      units: 10,
      calls: 10,
      promptTokens: 100,
      completionTokens: 100,
      trainingTokens: 40,
      fineTune: true,
    });
    expect(both.costUsd).toBeCloseTo(a.costUsd + b.costUsd, 12);
    const half = rescale(both, 5);
    expect(half).toMatchObject({ units: 5, calls: 5, promptTokens: 50, completionTokens: 50, trainingTokens: 20 });
    expect(half.costUsd).toBeCloseTo(both.costUsd / 2, 12);
    expect(half.trainingUsd).toBeCloseTo(both.trainingUsd / 2, 12);
    expect(rescale(both, 0).costUsd).toBe(0);
  });

  it('says which limit a stage would cross', () => {
    const next = chatEstimate('x', 1, {
      calls: 1,
      promptTokens: 600,
      maxTokens: 400,
      prices: { ...prices, inputPerMillionTokens: 1000 },
    }); // $0.6 + $0.0008
    const spent = spentOf({ ...emptyUsage(), promptTokens: 100, costUsd: 0.5 }, { usd: 0, tokens: 0 });
    expect(crossedLimit({ usd: 1 }, spent, next)).toBe('usd');
    expect(crossedLimit({ usd: 2 }, spent, next)).toBeNull();
    expect(crossedLimit({ tokens: 1000 }, spent, next)).toBe('tokens');
    expect(crossedLimit({ tokens: 1100 }, spent, next)).toBeNull();
    expect(crossedLimit({}, spent, next)).toBeNull();
    // Over budget already, a stage that costs nothing (BM25 retrieval) still runs.
    expect(
      crossedLimit(
        { usd: 0.1, tokens: 10 },
        spent,
        chatEstimate('free', 0, { calls: 0, promptTokens: 0, maxTokens: 10, prices }),
      ),
    ).toBeNull();
    expect(
      spentOf({ ...emptyUsage(), promptTokens: 1, completionTokens: 2, costUsd: 0.1 }, { usd: 0.2, tokens: 3 }),
    ).toEqual({ usd: 0.1 + 0.2, tokens: 6 });
  });
});

describe('method estimates', () => {
  it('evaluate: every model answers every test question zero-shot', () => {
    const test = [item(1), item(2), item(3)];
    const [stage] = estimateEvaluation(
      {
        providers,
        models: [
          { provider: 'api', model: 'a' },
          { provider: 'local', model: 'b' },
        ],
        sampling: { temperature: 0, maxTokens: 100, seed: 0 },
      },
      test,
    );
    const prompts = sum(test.map((q) => messageTokens(zeroShotMessages(q))));
    expect(stage).toMatchObject({ stage: 'evaluate', calls: 6, promptTokens: 2 * prompts, completionTokens: 600 });
    expect(stage.costUsd).toBeCloseTo((prompts * 1 + 300 * 2) / 1e6, 12); // the local model is free
  });

  const labeled = [1, 2, 3, 4].map((i) => item(i));
  const unlabeled = [5, 6, 7, 8, 9, 10].map((i) => item(i, null));
  const test = [11, 12, 13].map((i) => item(i));
  const semievolInput = (options: object = {}, backend: FineTuneBackendConfig = openai): SemievolEstimateInput => ({
    providers,
    model: { provider: 'api', model: 'base' },
    fineTune: { backend, hyperparameters: { epochs: 2 }, finalHyperparameters: { epochs: 2 } },
    options: semievolOptionsSchema.parse(options),
    sampling: { maxTokens: 100, seed: 0 },
    labeled,
    unlabeled,
    test,
  });
  const byStage = (stages: ReturnType<typeof estimateSemievol>) => Object.fromEntries(stages.map((s) => [s.stage, s]));

  it('semievol: the paper defaults, stage by stage, with upper bounds where counts are known only mid-run', () => {
    const s = byStage(estimateSemievol(semievolInput()));
    expect(Object.keys(s)).toEqual(['warm-up', 'propagate', 'collaborate', 'justify', 'evolve', 'evaluate']);
    const labeledTraining = sum(labeled.map((q) => messageTokens(trainingExample(q, 'answer').messages)));
    expect(s['warm-up']).toMatchObject({ calls: 0, trainingTokens: 2 * labeledTraining, fineTune: true });
    expect(s.propagate).toMatchObject({ calls: 0, costUsd: 0 }); // BM25 runs on the worker
    expect(s.collaborate).toMatchObject({ units: 6, calls: 4 * 6, completionTokens: 4 * 6 * 1024 });
    expect(s.justify).toMatchObject({ calls: 6, completionTokens: 6 * 1024 }); // every question, at most
    const unlabeledTraining = sum(
      unlabeled.map((q) => messageTokens(trainingExample({ ...q, answer: 'A' }, 'answer').messages)),
    );
    expect(s.evolve).toMatchObject({ units: 10, trainingTokens: 2 * (labeledTraining + unlabeledTraining) });
    const zeroShot = sum(test.map((q) => messageTokens(zeroShotMessages(q, 'answer'))));
    const rag = sum(test.map((q) => messageTokens(fewShotMessages(q, labeled.slice(0, 1), 'answer'))));
    expect(s.evaluate).toMatchObject({ calls: 4 * 3, promptTokens: 3 * zeroShot + rag, completionTokens: 12 * 100 });
  });

  it("semievol: prices the prompts of the authors' layout when the run asks in it", () => {
    const s = byStage(estimateSemievol(semievolInput({ promptLayout: 'authors' })));
    const labeledTraining = sum(labeled.map((q) => messageTokens(trainingExample(q, 'answer', 'authors').messages)));
    expect(s['warm-up']).toMatchObject({ trainingTokens: 2 * labeledTraining });
    const zeroShot = sum(test.map((q) => messageTokens(zeroShotMessages(q, 'answer', 'authors'))));
    const rag = sum(test.map((q) => messageTokens(fewShotMessages(q, labeled.slice(0, 1), 'answer', 'authors'))));
    expect(s.evaluate).toMatchObject({ promptTokens: 3 * zeroShot + rag });
    expect(zeroShot).not.toBe(sum(test.map((q) => messageTokens(zeroShotMessages(q, 'answer')))));
    // Each of the 4 collaborators' responses counts at its max tokens beside the prompt around them.
    const listed = Array.from({ length: 4 }, () => ({ answer: 'A', response: '' }));
    const justifyPrompts = (layout: 'ours' | 'authors') =>
      sum(unlabeled.map((q) => messageTokens(justificationMessages(q, listed, 'answer', layout)) + 4 * 1024));
    expect(s.justify).toMatchObject({ calls: 6, promptTokens: justifyPrompts('authors') });
    expect(justifyPrompts('authors')).not.toBe(justifyPrompts('ours'));
  });

  it('semievol: ablations remove the stages and calls they remove', () => {
    const noWarm = byStage(estimateSemievol(semievolInput({ without: ['in-weight-propagation'] })));
    expect(noWarm['warm-up']).toBeUndefined();
    expect(noWarm.evaluate.calls).toBe(3 * 3);
    const alone = byStage(
      estimateSemievol(semievolInput({ without: ['collaborative-learning', 'in-context-propagation'] })),
    );
    expect(alone.propagate).toBeUndefined();
    expect(alone.collaborate.calls).toBe(6);
    expect(alone.justify.calls).toBe(0);
  });

  it('semievol: embeddings are priced, and the in-context backend trains nothing but lengthens tuned prompts', () => {
    const embedded = byStage(
      estimateSemievol(
        semievolInput({ propagation: { retriever: { kind: 'embeddings', provider: 'api', model: 'e' } } }),
      ),
    );
    const questions = sum([...labeled, ...unlabeled].map((q) => textTokens(q.question)));
    expect(embedded.propagate).toMatchObject({ promptTokens: questions, calls: 0 });
    expect(embedded.propagate.costUsd).toBeCloseTo(questions / 1e6, 12);
    const inContext = byStage(estimateSemievol(semievolInput({}, { kind: 'in-context', k: 3 })));
    const remote = byStage(estimateSemievol(semievolInput()));
    expect(inContext['warm-up']).toMatchObject({ trainingTokens: 0, costUsd: 0, fineTune: false });
    expect(inContext.evaluate.promptTokens).toBeGreaterThan(remote.evaluate.promptTokens);
  });

  const task = (name: string) => {
    const { test: testLines, ...definition } = loadSelfGuideTask(path.resolve(__dirname, '../../demo/selfguide', name));
    return { task: definition, test: testLines.slice(0, 5) };
  };
  const pipeline: SelfGuideEstimatePipeline = {
    providers,
    model: { provider: 'api', model: 'base' },
    fineTune: { backend: openai, lora: false, maxExampleTokens: 2000 },
    generation: selfGuideGenerationSchema.parse({}),
    annotation: selfGuideAnnotationSchema.parse({}),
    evaluation: selfGuideEvaluationSchema.parse({}),
    seed: 0,
  };

  it('selfguide: rounds of prompts, annotation samples, two fine-tunes and four evaluations', () => {
    const run = task('task190'); // classification: 40 rounds by default
    const [generate, annotate, fineTune, evaluate] = estimateSelfGuide(pipeline, run, 3);
    expect(generate).toMatchObject({ stage: 'generate-inputs', calls: 400, completionTokens: 400 * 500 });
    expect(annotate).toMatchObject({
      stage: 'annotate-outputs',
      units: 400,
      calls: 400,
      completionTokens: 400 * 10 * 500,
    });
    expect(fineTune).toMatchObject({ stage: 'fine-tune', calls: 0, fineTune: true });
    expect(fineTune.trainingTokens).toBeGreaterThan(0);
    expect(evaluate).toMatchObject({ stage: 'evaluate', calls: 4 * 5, completionTokens: 4 * 5 * 500 });
    // Self-ICL fills the context window: at most contextTokens - maxTokens per prompt.
    expect(evaluate.promptTokens).toBeLessThanOrEqual(5 * (4096 - 500) + 3 * 5 * 4096);
  });

  it('selfguide: the checkpoints OpenAI keeps (its last three) or a served trainer leaves are validated', () => {
    const run = { ...task('task190'), validation: task('task190').test.slice(0, 4) };
    const evaluateCalls = (epochs: number, on = pipeline) => byStage(estimateSelfGuide(on, run, epochs)).evaluate.calls;
    expect(evaluateCalls(2)).toBe(4 * 5 + 2 * 4);
    expect(evaluateCalls(5)).toBe(4 * 5 + 3 * 4);
    expect(evaluateCalls(1)).toBe(4 * 5);
    const last = { ...pipeline, fineTune: { ...pipeline.fineTune, epochChoice: 'last' as const } };
    expect(evaluateCalls(3, last)).toBe(4 * 5);
    const noCheckpoints = {
      ...pipeline,
      fineTune: { ...pipeline.fineTune, backend: { kind: 'in-context' as const, k: 3 } },
    };
    expect(evaluateCalls(3, noCheckpoints)).toBe(4 * 5);
    const trainer = { kind: 'command' as const, command: 'train.sh', provider: 'api', servedModel: '{job}' };
    const served = (serve?: 'vllm') => ({
      ...pipeline,
      fineTune: { ...pipeline.fineTune, backend: { ...trainer, pollIntervalSeconds: 30, ...(serve ? { serve } : {}) } },
    });
    expect(evaluateCalls(5, served('vllm'))).toBe(4 * 5 + 5 * 4);
    expect(evaluateCalls(5, served())).toBe(4 * 5);
  });

  it('selfguide-campaign: validation counts each branch, data set and setting once; test at the most epochs', () => {
    const validation = [task('task190'), task('task036')];
    const testTasks = [task('task1386')];
    const grid = {
      inputTemperature: [0.7, 1],
      inputLengthFilter: [true, false],
      outputLengthFilter: [true, false],
      epochs: [1, 2],
    };
    const small = { ...pipeline, generation: { ...pipeline.generation, rounds: 2 } };
    const [validationStage, testStage] = estimateCampaign(small, validation, testTasks, grid);
    const evaluations = sum(
      validation.map((v) =>
        sum(grid.inputTemperature.map((t) => sum(branchDataSets(grid, v.task.kind, t).map((d) => d.epochs.length)))),
      ),
    );
    const perBranch = 2 * 10 * 2; // generation and annotation calls
    expect(validationStage.calls).toBe(
      2 * 5 + validation.length * grid.inputTemperature.length * perBranch + evaluations * 5,
    );
    expect(validationStage.fineTune).toBe(true);
    const single = sum(estimateSelfGuide(small, testTasks[0], 2).map((s) => s.calls));
    expect(testStage).toMatchObject({ stage: 'test', calls: single });
  });
});

describe('training, serving and endpoint time', () => {
  const timed = providersSchema.parse({
    // A Together dedicated endpoint: $0.05 a minute, 100 tokens a second.
    endpoint: { kind: 'openai-compatible', prices: { endpointPerMinute: 0.05, tokensPerSecond: 100 } },
    // vLLM on your own GPU: $1.20 a GPU-hour, 1,000 tokens a second.
    vllm: { kind: 'openai-compatible', prices: { gpuHour: 1.2, tokensPerSecond: 1000 } },
    together: { kind: 'openai-compatible', prices: { trainingPerMillionTokens: 3 } },
    // Embedded llama.cpp on the worker's GPU: $0.60 a GPU-hour, 50 tokens a second.
    worker: { kind: 'llama-cpp', modelPath: 'm.gguf', prices: { gpuHour: 0.6, tokensPerSecond: 50 } },
  });
  const command = (extra: object = {}) =>
    fineTuneBackendSchema.parse({ kind: 'command', command: 'train', provider: 'vllm', serve: 'vllm', ...extra });

  it('prices a dedicated endpoint by the minutes its tokens take', () => {
    // 2,000 prompt + 10 x 100 completion tokens = 3,000 tokens at 100/s = 30 s = 0.5 min at $0.05 = $0.025
    const stage = chatEstimate('evaluate', 10, {
      calls: 10,
      promptTokens: 2000,
      maxTokens: 100,
      prices: pricesOf(timed, 'endpoint'),
    });
    expect(stage.costUsd).toBeCloseTo(0.025, 12);
    expect(chargeLines([stage])).toEqual(['evaluate: dedicated endpoint 0.5 minutes at $0.0500 per minute = $0.0250']);
  });

  it('prices serving on your GPU by the GPU-hours its tokens take', () => {
    // 2,600,000 prompt + 10,000 x 100 completion tokens = 3,600,000 at 1,000/s = 1 GPU-hour at $1.20
    const stage = chatEstimate('collaborate', 10_000, {
      calls: 10_000,
      promptTokens: 2_600_000,
      maxTokens: 100,
      prices: pricesOf(timed, 'vllm'),
    });
    expect(stage.costUsd).toBeCloseTo(1.2, 12);
    expect(chargeLines([stage])).toEqual([
      'collaborate: serving on your GPU 1 GPU-hours at $1.20 per GPU-hour = $1.20',
    ]);
  });

  it("prices embedded llama.cpp by the worker GPU's hours", () => {
    // 800 prompt + 10 x 100 completion tokens = 1,800 at 50/s = 36 s = 0.01 GPU-hours at $0.60 = $0.006
    const stage = chatEstimate('evaluate', 10, {
      calls: 10,
      promptTokens: 800,
      maxTokens: 100,
      prices: pricesOf(timed, 'worker'),
    });
    expect(stage.costUsd).toBeCloseTo(0.006, 12);
    expect(chargeLines([stage])).toEqual([
      'evaluate: serving on your GPU 0.01 GPU-hours at $0.6000 per GPU-hour = $0.0060',
    ]);
  });

  it('prices training per GPU-hour on your machine, per million tokens at a provider, or says it is not priced', () => {
    const job = { examples: 1000, exampleTokens: 300_000, epochs: 3 }; // 900,000 training tokens
    // 900,000 tokens at 500/s = 1,800 s = 0.5 GPU-hours at $2.00 = $1.00
    const local = fineTuneEstimate('warm-up', command({ gpuHour: 2, trainingTokensPerSecond: 500 }), timed, job);
    expect(local).toMatchObject({ trainingTokens: 900_000, costUsd: 1, trainingUsd: 1 });
    const together: FineTuneBackendConfig = { kind: 'together', provider: 'together', ...togetherDefaults };
    // 900,000 tokens = 0.9 million at $3.00 = $2.70
    const remote = fineTuneEstimate('evolve', together, timed, job);
    expect(remote.costUsd).toBeCloseTo(2.7, 12);
    const unpriced = fineTuneEstimate('evolve', command(), timed, job);
    expect(unpriced).toMatchObject({ costUsd: 0, trainingTokens: 900_000 });
    expect(chargeLines([local, remote, unpriced])).toEqual([
      'warm-up: training 0.5 GPU-hours at $2.00 per GPU-hour = $1.00',
      'evolve: training 0.9 million tokens at $3.00 per million tokens = $2.70',
      'evolve: training not priced (the command backend sets no gpuHour and trainingTokensPerSecond)',
    ]);
  });

  it('a SemiEvol run on a local trainer and vLLM pays GPU time in every stage that trains or calls the adapter', () => {
    const backend = command({ gpuHour: 2, trainingTokensPerSecond: 500 });
    const input = {
      providers: timed,
      model: { provider: 'vllm', model: 'base' },
      fineTune: { backend, hyperparameters: { epochs: 2 }, finalHyperparameters: { epochs: 2 } },
      options: semievolOptionsSchema.parse({}),
      sampling: { maxTokens: 100, seed: 0 },
      labeled: [1, 2].map((i) => item(i)),
      unlabeled: [3, 4].map((i) => item(i, null)),
      test: [5].map((i) => item(i)),
    };
    for (const stage of estimateSemievol(input).filter((s) => s.stage !== 'propagate')) {
      const hours = sum((stage.charges ?? []).map((c) => c.amount ?? 0));
      const tokens = stage.fineTune ? stage.trainingTokens / 500 : (stage.promptTokens + stage.completionTokens) / 1000;
      expect(hours).toBeCloseTo(tokens / 3600, 12);
      expect(stage.costUsd).toBeCloseTo(stage.fineTune ? 2 * hours : 1.2 * hours, 12);
    }
  });

  it('a Together run whose checkpoints are downloaded pays Together per token to train and your GPU to serve', () => {
    const backend = fineTuneBackendSchema.parse({
      kind: 'together',
      provider: 'together',
      serve: 'download',
      download: { engine: 'vllm', provider: 'vllm' },
    });
    const stages = estimateSemievol({
      providers: timed,
      model: { provider: 'together', model: 'base' },
      fineTune: { backend, hyperparameters: { epochs: 2 }, finalHyperparameters: { epochs: 2 } },
      options: semievolOptionsSchema.parse({}),
      sampling: { maxTokens: 100, seed: 0 },
      labeled: [1, 2].map((i) => item(i)),
      unlabeled: [3, 4].map((i) => item(i, null)),
      test: [5].map((i) => item(i)),
    });
    const kinds = (stage: string) => stages.find((s) => s.stage === stage)!.charges?.map((c) => [c.kind, c.unit]);
    expect(kinds('warm-up')).toEqual([['training', 'million tokens']]);
    // The evaluations call M_warm and M_evol, served on the vLLM provider priced by the GPU-hour.
    expect(kinds('evaluate')).toContainEqual(['serving', 'GPU-hour']);
  });

  it('prices the minutes of a Fireworks deployment as it prices a dedicated endpoint', () => {
    const backend = fineTuneBackendSchema.parse({
      kind: 'fireworks',
      account: 'acct',
      provider: 'endpoint',
      serve: 'deployment',
      deployment: { minReplicas: 1, maxReplicas: 1 },
    });
    const stages = estimateSemievol({
      providers: timed,
      model: { provider: 'together', model: 'base' },
      fineTune: { backend, hyperparameters: { epochs: 2 }, finalHyperparameters: { epochs: 2 } },
      options: semievolOptionsSchema.parse({}),
      sampling: { maxTokens: 100, seed: 0 },
      labeled: [1, 2].map((i) => item(i)),
      unlabeled: [3, 4].map((i) => item(i, null)),
      test: [5].map((i) => item(i)),
    });
    const evaluate = stages.find((s) => s.stage === 'evaluate')!;
    expect(evaluate.charges?.map((c) => [c.kind, c.unit, c.rate])).toContainEqual(['endpoint', 'minute', 0.05]);
    const bad = { ...backend, deployment: { minReplicas: 2, maxReplicas: 1 } };
    expect(fineTuneBackendSchema.safeParse(bad).error?.issues[0]).toMatchObject({
      path: ['deployment', 'maxReplicas'],
      message: 'maxReplicas must be at least minReplicas',
    });
  });

  it('refuses a downloaded checkpoint without what serves it, in one sentence naming the field', () => {
    const together = { kind: 'together', provider: 'together', serve: 'download' };
    const issue = (download?: object) =>
      fineTuneBackendSchema.safeParse(download ? { ...together, download } : together).error?.issues[0];
    expect(issue()).toMatchObject({
      path: ['download'],
      message: 'serve: download needs download: {engine, provider} or {checkpoint: merged, server} (what serves it)',
    });
    // A merged checkpoint is full weights: no running engine loads it, a server started on it serves it.
    expect(issue({ checkpoint: 'merged', engine: 'vllm', provider: 'vllm' })).toMatchObject({
      path: ['download', 'server'],
      message: expect.stringMatching(/^is required with checkpoint: merged: \{command, provider\}/),
    });
    expect(
      issue({ engine: 'vllm', provider: 'vllm', server: { command: 'vllm serve {dir}', provider: 'vllm' } }),
    ).toMatchObject({
      path: ['download', 'server'],
      message: expect.stringMatching(/^is only for checkpoint: merged/),
    });
    expect(issue({ checkpoint: 'adapter', provider: 'vllm' })).toMatchObject({
      path: ['download', 'checkpoint'],
      message: expect.stringMatching(/^needs engine and provider with checkpoint: adapter/),
    });
  });

  it("prices a merged checkpoint served on a server of its own by that provider's GPU-hour", () => {
    const backend = fineTuneBackendSchema.parse({
      kind: 'together',
      provider: 'together',
      serve: 'download',
      download: { checkpoint: 'merged', server: { command: 'vllm serve {dir} --port {port}', provider: 'vllm' } },
    });
    const stages = estimateSemievol({
      providers: timed,
      model: { provider: 'together', model: 'base' },
      fineTune: { backend, hyperparameters: { epochs: 2 }, finalHyperparameters: { epochs: 2 } },
      options: semievolOptionsSchema.parse({ without: ['in-weight-propagation'] }),
      sampling: { maxTokens: 100, seed: 0 },
      labeled: [1, 2].map((i) => item(i)),
      unlabeled: [3, 4].map((i) => item(i, null)),
      test: [5].map((i) => item(i)),
    });
    const evaluate = stages.find((s) => s.stage === 'evaluate')!;
    expect(evaluate.charges?.map((c) => [c.kind, c.unit])).toContainEqual(['serving', 'GPU-hour']);
  });

  it('rescales time with the units, and refuses a time price that cannot be turned into minutes', () => {
    const stage = chatEstimate('evaluate', 10, {
      calls: 10,
      promptTokens: 2000,
      maxTokens: 100,
      prices: pricesOf(timed, 'endpoint'),
    });
    expect(rescale(stage, 20).charges).toEqual([
      { kind: 'endpoint', unit: 'minute', amount: 1, rate: 0.05, usd: expect.closeTo(0.05, 12) },
    ]);
    const noSpeed = providersSchema.safeParse({ e: { kind: 'openai-compatible', prices: { endpointPerMinute: 1 } } });
    expect(noSpeed.error?.issues[0]).toMatchObject({ path: ['e', 'prices', 'tokensPerSecond'] });
    const both = providersSchema.safeParse({
      e: { kind: 'openai-compatible', prices: { endpointPerMinute: 1, gpuHour: 1, tokensPerSecond: 1 } },
    });
    expect(both.error?.issues[0]?.message).toBe(
      'set endpointPerMinute (a hosted endpoint) or gpuHour (your own GPU), not both',
    );
    expect(fineTuneBackendSchema.safeParse({ kind: 'command', command: 'x', provider: 'p', gpuHour: 1 }).success).toBe(
      false,
    );
  });
});
