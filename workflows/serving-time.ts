// The serving a stage bills by time (core/serving-spend.ts prices it), from the worker's clock read before and after
// the stage. Runs whose providers bill only per token read no clock, so their histories stay as they were.
import { patched, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ProvidersConfig } from '../core/config';
import { hasTimeBilledProviders, stageServingCharges, timeBilledUsage } from '../core/serving-spend';
import { emptyUsage, type ModelRef, type StageUsage } from '../core/types';
import { clockRead } from './activity-options';

const { readServingClock } = proxyLocalActivities<Activities>(clockRead);

export function servingMeter(providers: ProvidersConfig) {
  const on = hasTimeBilledProviders(providers) && patched('time-billed-serving');
  const endpoints: ModelRef[] = [];
  return {
    /** Notes a model the run holds: a dedicated endpoint bills every stage while it is up. */
    held(model: ModelRef): ModelRef {
      if (model.endpoint && !endpoints.some((m) => m.endpoint!.id === model.endpoint!.id)) endpoints.push(model);
      return model;
    },
    /** The stage's start, or null when nothing bills by time. */
    start: async (): Promise<number | null> => (on ? readServingClock() : null),
    /** The time-billed usage of a stage that began at `from` and called `called`; empty when nothing bills by time. */
    async charge(from: number | null, called: readonly (ModelRef | null)[]): Promise<StageUsage> {
      if (from === null) return emptyUsage();
      const span = { from, to: await readServingClock() };
      return timeBilledUsage(stageServingCharges(providers, span, called, endpoints));
    },
  };
}
