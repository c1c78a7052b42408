// Which model names are callable and how accurate each is: configured base models plus every
// fine-tuned model (and checkpoint) the jobs have produced.
import type { DoubleConfig } from './config';

export interface ResolvedModel {
  name: string;
  accuracy: number;
  /**
   * The configured base model it descends from: "known" bits hash on it, so fine-tuning shifts accuracy without
   * reshuffling questions.
   */
  root: string;
}

export interface FineTunedModel extends ResolvedModel {
  createdAt: number;
  /** Final models are listed by GET /v1/models; checkpoints are callable only. */
  listed: boolean;
}

export class ModelRegistry {
  private readonly fineTuned = new Map<string, FineTunedModel>();

  constructor(private readonly config: () => DoubleConfig) {}

  resolve(name: string): ResolvedModel | undefined {
    const base = this.config().models[name];
    if (base) return { name, accuracy: base.accuracy, root: name };
    return this.fineTuned.get(name);
  }

  registerFineTuned(model: FineTunedModel): void {
    this.fineTuned.set(model.name, model);
  }

  listed(): { name: string; createdAt: number; fineTuned: boolean }[] {
    const { models, embeddingModels } = this.config();
    const base = [...Object.keys(models), ...embeddingModels].map((name) => ({ name, createdAt: 0, fineTuned: false }));
    const tuned = [...this.fineTuned.values()]
      .filter((m) => m.listed)
      .map((m) => ({ name: m.name, createdAt: m.createdAt, fineTuned: true }));
    return [...base, ...tuned];
  }
}
