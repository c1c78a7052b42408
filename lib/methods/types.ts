// What each method contributes to the CLI: how a config becomes a workflow start, what it will cost, and how its
// result reads.
import type { z } from 'zod';
import type { StageEstimate } from '../../core/estimate';
import type { ArtifactStore } from '../artifacts';

export interface PreparedRun {
  /** The workflow's single argument, without `runId` (the CLI adds it). */
  input: Record<string, unknown>;
  /** Human-readable lines: dataset sizes, loader warnings, test-double notice. */
  notes: string[];
  /** The base model, for the FltBaseModel search attribute. */
  baseModel: string;
  /** Lines for the run's static details in the Temporal UI. */
  details: string[];
}

export interface Method<Config> {
  /** The workflow a run of this method starts. */
  workflowType: string;
  /** The method's config schema: `flt resume --set` checks a changed section with it. */
  schema: z.ZodObject;
  /** Config sections `flt resume --set` may change, with the field of the run input each became. */
  settable: Record<string, string>;
  prepare(config: Config, store: ArtifactStore): Promise<PreparedRun>;
  /** Expected calls, tokens and cost per paid stage, from the config's data, before anything is paid for. */
  estimate(config: Config): StageEstimate[];
  /** A few lines summarizing a finished run's result. */
  summarize(result: any): string[];
}
