// Which epoch's model is SELF-GUIDE's: as the authors do, each epoch's checkpoint is scored on the task's validation
// split and the best is kept, where the backend keeps a callable checkpoint per epoch (OpenAI, or a `command` trainer
// that leaves one adapter per epoch and serves them); otherwise the last epoch stands.
import { bestEpoch } from '../core/selfguide-campaign';
import type { ArtifactRef, ModelRef, StageUsage } from '../core/types';
import type { SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import {
  epochCheckpoints,
  evaluate,
  keepsEpochCheckpoints,
  sumUsage,
  type SelfGuidePipeline,
} from './selfguide-stages';

/** How SELF-GUIDE's epoch was chosen, for the run's result. */
export interface EpochChoice {
  rule: 'best-on-validation' | 'last';
  /** The epoch whose model is SELF-GUIDE's. */
  epochs: number;
  /** Each epoch's validation score, where they were compared. */
  scores: { epochs: number; score: number; model: ModelRef }[];
  /** Why the last epoch stands without a comparison, when the rule asked for one. */
  reason?: string;
}

export async function chooseEpoch(
  runId: string,
  task: SelfGuideTaskDefinition,
  validation: ArtifactRef | undefined,
  trained: { stage: string; model: ModelRef; training: ArtifactRef; epochs: number },
  pipeline: SelfGuidePipeline,
  loaded: (model: ModelRef) => ModelRef,
): Promise<{ model: ModelRef; choice: EpochChoice; usage: StageUsage }> {
  const rule = pipeline.fineTune.epochChoice ?? 'best-on-validation';
  const { backend } = pipeline.fineTune;
  const last = (reason?: string) => ({
    model: trained.model,
    choice: { rule, epochs: trained.epochs, scores: [], ...(reason ? { reason } : {}) },
    usage: sumUsage([]),
  });
  if (rule === 'last') return last();
  if (trained.training.count === 0) return last('nothing was trained');
  if (trained.epochs === 1) return last('one epoch was trained');
  if (!validation) return last('the run has no validation split');
  if (!keepsEpochCheckpoints(backend)) return last(`the ${backend.kind} backend keeps no checkpoint per epoch`);

  const byEpoch = await epochCheckpoints(
    trained.stage,
    trained.training,
    trained.epochs,
    trained.model,
    backend,
    pipeline,
  );
  const candidates = byEpoch.flatMap((model, i) => (model ? [{ epochs: i + 1, model }] : []));
  // An earlier epoch's adapter is served for its evaluation (as the last one was), and unloaded with it at the end.
  for (const { model } of candidates) if (model !== trained.model) loaded(model);
  const evaluations = await Promise.all(
    candidates.map(({ epochs, model }) =>
      evaluate(
        runId,
        `validate-self-guide-e${epochs}`,
        { task, test: validation },
        model,
        { kind: 'few-shot' },
        pipeline,
      ),
    ),
  );
  const scores = candidates.map((c, i) => ({ ...c, score: evaluations[i].score.score }));
  const epochs = bestEpoch(scores);
  return {
    model: scores.find((s) => s.epochs === epochs)!.model,
    choice: { rule, epochs, scores },
    usage: sumUsage(evaluations.map((e) => e.usage)),
  };
}
