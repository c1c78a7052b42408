// A small SemiEvol run's input for tests and recorded histories: the splits written to the artifact store (D_U without
// its answers, which go to the pseudo-label diagnostic only), the model and the openai fine-tune backend on the
// provider `double`, and short responses; `overrides` changes any field.
import type { ProvidersConfig } from '../../core/config';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import type { ArtifactStore } from '../../lib/artifacts';
import type { SemievolRunInput } from '../../workflows/semievol';
import { fakeTrainerCommand } from './fake-lora-trainer';

export interface SemievolSplits {
  labeled: McqItem[];
  unlabeled: McqItem[];
  test: McqItem[];
}

export async function semievolTestInput(
  store: ArtifactStore,
  runId: string,
  providers: ProvidersConfig,
  splits: SemievolSplits,
  overrides: Partial<Omit<SemievolRunInput, 'options'>> & { options?: Record<string, unknown> } = {},
): Promise<SemievolRunInput> {
  const { options, ...rest } = overrides;
  return {
    runId,
    task: 'fpb',
    providers,
    model: { provider: 'double', model: 'sim-model' },
    data: {
      labeled: await store.writeJsonl(splits.labeled),
      unlabeled: await store.writeJsonl(splits.unlabeled.map((i) => ({ ...i, answer: null }))),
      unlabeledGold: await store.writeJsonl(splits.unlabeled.map(({ id, answer }) => ({ id, answer }))),
      test: await store.writeJsonl(splits.test),
    },
    fineTune: {
      backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
      hyperparameters: { epochs: 1 },
      finalHyperparameters: { epochs: 1 },
    },
    options: semievolOptionsSchema.parse({
      collaboration: { maxTokens: 64 },
      justification: { maxTokens: 64 },
      ...options,
    }),
    sampling: { temperature: 0, maxTokens: 64, seed: 1 },
    execution: { shardSize: 10, parallelShards: 2 },
    ...rest,
  };
}

/**
 * The open-model loop, small: the fake LoRA trainer as a `command` backend, its adapters served by vLLM (the double
 * under `provider`), M_evol trained from M_warm, short answers.
 */
export function vllmLoopOverrides(provider: string) {
  return {
    model: { provider, model: 'sim-model' },
    fineTune: {
      backend: {
        kind: 'command' as const,
        command: fakeTrainerCommand,
        provider,
        servedModel: '{job}',
        pollIntervalSeconds: 0.2,
        serve: 'vllm' as const,
      },
      hyperparameters: { epochs: 1 },
      finalHyperparameters: { epochs: 1 },
    },
    options: {
      propagation: { k: 0 },
      collaboration: { maxTokens: 32 },
      justification: { maxTokens: 32 },
      evolution: { from: 'warm' },
    },
    sampling: { temperature: 0, maxTokens: 32, seed: 5 },
    execution: { shardSize: 12, parallelShards: 2 },
  };
}
