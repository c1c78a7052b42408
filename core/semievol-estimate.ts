// SemiEvol's expected spend per stage, from the splits and the prompts core/prompts.ts builds for them. Where a count
// is only known mid-run, the estimate takes its upper bound: every unlabeled question self-justified (with n > 1) and
// selected for M_evol; the workflow rescales the final fine-tune to the pseudo-labels actually selected.
import { withTrainingAnswer } from './answer-reading';
import type { BatchOptions } from './batch';
import type { FineTuneBackendConfig, ModelSpec, ProvidersConfig } from './config';
import {
  batchPriced,
  chatEstimate,
  combine,
  demonstrationTokens,
  embeddingEstimate,
  fineTuneEstimate,
  messageTokens,
  pricesOf,
  textTokens,
  tunedModelProvider,
  type StageEstimate,
  type TokenPrices,
} from './estimate';
import { fewShotMessages, justificationMessages, trainingExample, zeroShotMessages } from './prompts';
import { semievolPlan } from './semievol';
import type { SemievolOptions } from './semievol-config';
import type { FineTuneHyperparameters, McqItem } from './types';

export interface SemievolEstimateInput {
  providers: ProvidersConfig;
  model: ModelSpec;
  fineTune: {
    backend: FineTuneBackendConfig;
    hyperparameters: FineTuneHyperparameters;
    finalHyperparameters: FineTuneHyperparameters;
  };
  options: SemievolOptions;
  sampling: { maxTokens: number; seed: number };
  labeled: readonly McqItem[];
  /** D_U's questions; their answers are not read. */
  unlabeled: readonly Pick<McqItem, 'id' | 'question' | 'options'>[];
  test: readonly Pick<McqItem, 'question' | 'options'>[];
  /** `execution.batch`: which of collaborate and justify go through a Batch API, at its price. */
  batch?: BatchOptions;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

export function estimateSemievol(input: SemievolEstimateInput): StageEstimate[] {
  const { providers, options, fineTune, labeled, unlabeled, test } = input;
  const { backend } = fineTune;
  const plan = semievolPlan(options, input.sampling.seed);
  // Every prompt as the run will build it: its style and layout.
  const prompt = [options.collaboration.style, options.promptLayout] as const;
  const basePrices = pricesOf(providers, input.model.provider);
  // Fine-tuned models are called through the backend's provider; in-context "fine-tuning" keeps the base model.
  const tunedPrices = backend.kind === 'in-context' ? basePrices : pricesOf(providers, tunedModelProvider(backend));

  // A pseudo-labeled training example has the same shape as a labeled one; "A" stands in for its label.
  const reading = options.answers ?? 'ours';
  const training = (item: McqItem) =>
    messageTokens(trainingExample(withTrainingAnswer(item, reading), ...prompt).messages);
  const labeledTraining = labeled.map(training);
  const unlabeledTraining = unlabeled.map((item) => training({ ...item, answer: 'A' }));
  const allTraining = [...labeledTraining, ...unlabeledTraining];
  // Calls of M_warm and M_evol carry the in-context backend's demonstrations.
  const demonstrations = demonstrationTokens(backend, allTraining.length ? sum(allTraining) / allTraining.length : 0);
  const model = (which: 'warm' | 'base'): { prices: TokenPrices; extra: number } =>
    which === 'warm' && plan.warmUp ? { prices: tunedPrices, extra: demonstrations } : { prices: basePrices, extra: 0 };
  // The first labeled questions stand in for each question's retrieved neighbours.
  const withExamples = (item: Pick<McqItem, 'question' | 'options'>, k: number) =>
    messageTokens(fewShotMessages(item, labeled.slice(0, k), ...prompt));

  const stages: StageEstimate[] = [];
  if (plan.warmUp) {
    stages.push(
      fineTuneEstimate('warm-up', backend, providers, {
        examples: labeled.length,
        exampleTokens: sum(labeledTraining),
        epochs: fineTune.hyperparameters.epochs,
      }),
    );
  }
  if (plan.k > 0) {
    const retriever = options.propagation.retriever;
    const questions = sum([...labeled, ...unlabeled].map((item) => textTokens(item.question)));
    stages.push(
      retriever.kind === 'embeddings'
        ? embeddingEstimate('propagate', unlabeled.length, questions, pricesOf(providers, retriever.provider))
        : combine('propagate', []),
    );
  }
  const collaborators = plan.collaborators.map((setup) => {
    const { prices, extra } = model(setup.model);
    const promptTokens = sum(unlabeled.map((item) => withExamples(item, setup.examples) + extra));
    return chatEstimate('collaborate', unlabeled.length, {
      calls: unlabeled.length,
      promptTokens,
      maxTokens: options.collaboration.maxTokens,
      prices,
      batchable: true,
    });
  });
  // One batch plan covers every collaborator's calls: `auto` weighs them together.
  stages.push(batchPriced(combine('collaborate', collaborators), input.batch, 'collaborate'));
  // With one collaborator every answered question is consistent, so nothing is justified.
  const n = plan.collaborators.length;
  const justifier = model('warm');
  const justified = n > 1 ? unlabeled : [];
  const listed = Array.from({ length: n }, () => ({ answer: 'A', response: '' }));
  const justifyPrompts = sum(
    justified.map(
      (item) =>
        messageTokens(justificationMessages(item, listed, ...prompt)) +
        n * options.collaboration.maxTokens +
        justifier.extra,
    ),
  );
  const justify = chatEstimate('justify', unlabeled.length, {
    calls: justified.length,
    promptTokens: justifyPrompts,
    maxTokens: options.justification.maxTokens,
    prices: justifier.prices,
    batchable: true,
  });
  stages.push(batchPriced(justify, input.batch, 'justify'));

  const evolveOnLabeled = plan.evolveOn === 'labeled-and-selected';
  stages.push(
    fineTuneEstimate('evolve', backend, providers, {
      examples: (evolveOnLabeled ? labeled.length : 0) + unlabeled.length,
      exampleTokens: (evolveOnLabeled ? sum(labeledTraining) : 0) + sum(unlabeledTraining),
      epochs: fineTune.finalHyperparameters.epochs,
    }),
  );

  const zeroShot = sum(test.map((item) => messageTokens(zeroShotMessages(item, ...prompt))));
  // Each evaluation is a batch of its own under `execution.batch`.
  const evaluation = (prompts: number, prices: TokenPrices) =>
    batchPriced(
      chatEstimate('evaluate', test.length, {
        calls: test.length,
        promptTokens: prompts,
        maxTokens: input.sampling.maxTokens,
        prices,
        batchable: true,
      }),
      input.batch,
      'evaluate',
    );
  const tuned = evaluation(zeroShot + test.length * demonstrations, tunedPrices);
  stages.push(
    combine('evaluate', [
      evaluation(zeroShot, basePrices),
      ...(plan.warmUp ? [tuned] : []),
      tuned,
      evaluation(sum(test.map((item) => withExamples(item, options.rag.k))), basePrices),
    ]),
  );
  return stages;
}
