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

/**
 * `Data` is the config's datasets, parsed and checked. `flt run` loads them once and hands them to both prepare and
 * estimate; a caller that needs only one of the two may leave them out, and that step loads them itself.
 */
export interface Method<Config, Data = unknown> {
  /** The workflow a run of this method starts. */
  workflowType: string;
  /** The method's config schema: `flt resume --set` checks a changed section with it. */
  schema: z.ZodObject;
  /** Config sections `flt resume --set` may change, with the field of the run input each became. */
  settable: Record<string, string>;
  load(config: Config): Data;
  prepare(config: Config, store: ArtifactStore, data?: Data): Promise<PreparedRun>;
  /** Expected calls, tokens and cost per paid stage, from the config's data, before anything is paid for. */
  estimate(config: Config, data?: Data): StageEstimate[];
  /** A few lines summarizing a finished run's result. */
  summarize(result: unknown): string[];
}
