// What each provider's create-job request fixes for a fine-tune job, kept apart from the route files so the shared
// state (double-state.ts) can name the job types without importing the routes that import it.
import type { StoredFile } from './file-store';

/** The OpenAI fine_tuning/jobs parameters a job keeps. */
export interface OpenAIJobParams {
  suffix: string | null;
  seed: number;
  metadata: Record<string, string> | null;
  learningRateMultiplier: number;
  method: unknown;
}

/** The Together fine-tunes parameters a job keeps. */
export interface TogetherJobParams {
  suffix: string | null;
  learningRate: number;
  trainingType:
    | { type: 'Full' }
    | { type: 'Lora'; lora_r: number; lora_alpha: number; lora_dropout: number; lora_trainable_modules: string };
  nCheckpoints: number;
  warmupRatio: number;
  trainOnInputs: boolean | 'auto';
  /** What the job continues (`from_checkpoint`), or null for a job from a base model. */
  fromCheckpoint: string | null;
}

/** The Fireworks supervisedFineTuningJobs parameters a job keeps. */
export interface FireworksJobParams {
  account: string;
  /** `accounts/{account}/datasets/{id}`. */
  dataset: string;
  learningRate: number;
  loraRank: number;
  displayName: string | null;
  /** The fine-tuned model the job continues (`warmStartFrom`), or null for a job from a base model. */
  warmStartFrom: string | null;
}

/** A Fireworks dataset: created first, then given its file by `:upload`. */
export interface FireworksDataset {
  /** `accounts/{account}/datasets/{id}`. */
  name: string;
  createdAt: number;
  /** Null until `:upload` has stored its file. */
  file: StoredFile | null;
}
