// Serving billed by time, as spent: a dedicated endpoint bills every minute it is up, a server on your own GPU every
// hour a stage runs through it. Neither reports a price, so this is an estimate from measured wall time and the
// config's `prices`. Pure: workflows pass in timestamps that activities read.
import type { ProvidersConfig } from './config';
import { pricesOf, type ComputeCharge } from './estimate';
import { emptyUsage, type ModelRef, type StageUsage } from './types';

/** Whether any provider is priced by time: only then do runs read the clock around their stages. */
export const hasTimeBilledProviders = (providers: ProvidersConfig): boolean =>
  Object.keys(providers).some((name) => timeRate(providers, name) !== null);

/** How `name` bills by time (per endpoint minute, per GPU-hour), or null when it bills per token or not at all. */
function timeRate(providers: ProvidersConfig, name: string): Pick<ComputeCharge, 'kind' | 'unit' | 'rate'> | null {
  const prices = pricesOf(providers, name);
  if (prices.endpointPerMinute !== undefined)
    return { kind: 'endpoint', unit: 'minute', rate: prices.endpointPerMinute };
  if (prices.gpuHour !== undefined) return { kind: 'serving', unit: 'GPU-hour', rate: prices.gpuHour };
  return null;
}

function charge(providers: ProvidersConfig, provider: string, milliseconds: number): ComputeCharge | null {
  const rate = timeRate(providers, provider);
  if (!rate || milliseconds <= 0) return null;
  const amount = rate.unit === 'minute' ? milliseconds / 60_000 : milliseconds / 3_600_000;
  return { ...rate, amount, rate: rate.rate, usd: amount * rate.rate! };
}

/**
 * The time-billed serving of a stage that ran from `from` to `to` (epoch milliseconds): the stage's wall time for
 * each time-priced server among the models it `called` (one server bills once, however many adapters it serves; each
 * merged checkpoint's server is one of its own), and each dedicated endpoint the run `held` meanwhile, from the later
 * of the stage's start and the endpoint's.
 */
export function stageServingCharges(
  providers: ProvidersConfig,
  span: { from: number; to: number },
  called: readonly (ModelRef | null)[],
  held: readonly ModelRef[],
): ComputeCharge[] {
  // A server is its provider's, unless the run started it on a merged checkpoint: each of those is a GPU of its own.
  const servers = new Map(
    called
      .filter((m): m is ModelRef => !!m && !m.endpoint)
      .map((m) => [m.server?.baseURL ?? m.provider, m.provider] as const),
  );
  const charges = [
    ...[...servers.values()].map((provider) => charge(providers, provider, span.to - span.from)),
    ...held
      .filter((m) => m.endpoint)
      .map((m) => charge(providers, m.provider, span.to - Math.max(span.from, m.endpoint!.startedAt ?? span.from))),
  ];
  return charges.filter((c): c is ComputeCharge => c !== null);
}

/** Charges as a stage's usage: money only, counted in `costUsd` and shown apart as `timeBilledUsd`. */
export function timeBilledUsage(charges: readonly ComputeCharge[]): StageUsage {
  const usd = charges.reduce((sum, c) => sum + c.usd, 0);
  return usd > 0 ? { ...emptyUsage(), costUsd: usd, timeBilledUsd: usd } : emptyUsage();
}
