// `flt resume --from <stage>`: the stages before it reuse the old run's work; it and every stage after it run again,
// paying anew, because their providers carry a cache salt that no cached answer or existing fine-tune job has.
import type { ProvidersConfig } from './config';

export interface Rerun {
  /** The first stage to run again. */
  from: string;
  /** Unique to the new run: its calls and jobs are cached and tagged under it. */
  salt: string;
}

/**
 * The stages of each method in run order, as `flt watch` shows them and `--from` names them. From a stage that pays
 * nothing itself (select, diagnose, filter-inputs), the paid stages after it run again.
 */
export const rerunnableStages = {
  semievolRun: ['warm-up', 'propagate', 'collaborate', 'justify', 'select', 'evolve', 'evaluate', 'diagnose'],
  selfGuideRun: ['generate-inputs', 'filter-inputs', 'annotate-outputs', 'fine-tune', 'evaluate'],
} as const;

export type RerunnableWorkflow = keyof typeof rerunnableStages;

/** The providers a stage calls: unchanged before `rerun.from`, salted from it on. */
export function providersForStage(
  providers: ProvidersConfig,
  workflow: RerunnableWorkflow,
  stage: string,
  rerun: Rerun | undefined,
): ProvidersConfig {
  const order: readonly string[] = rerunnableStages[workflow];
  if (!rerun || order.indexOf(stage) < order.indexOf(rerun.from)) return providers;
  return Object.fromEntries(
    Object.entries(providers).map(([name, config]) => [name, { ...config, cacheSalt: rerun.salt }]),
  );
}
