// The `evaluate` method's expected spend: every configured model answers every test question once, zero-shot.
import type { EvaluateRunConfig } from './config';
import { batchPriced, chatEstimate, combine, messageTokens, pricesOf, type StageEstimate } from './estimate';
import { zeroShotMessages } from './prompts';
import type { McqItem } from './types';

export function estimateEvaluation(
  config: Pick<EvaluateRunConfig, 'providers' | 'models' | 'sampling'> & {
    execution?: Pick<EvaluateRunConfig['execution'], 'batch'>;
  },
  test: readonly Pick<McqItem, 'question' | 'options'>[],
): StageEstimate[] {
  const promptTokens = test.reduce((sum, item) => sum + messageTokens(zeroShotMessages(item)), 0);
  // Each model's evaluation is a batch of its own under `execution.batch`.
  const perModel = config.models.map((model) =>
    batchPriced(
      chatEstimate('evaluate', test.length, {
        calls: test.length,
        promptTokens,
        maxTokens: config.sampling.maxTokens,
        prices: pricesOf(config.providers, model.provider),
        batchable: true,
      }),
      config.execution?.batch,
      'evaluate',
    ),
  );
  return [combine('evaluate', perModel)];
}
