// Serving billed by time, as spent: a stage's wall time on your own GPU at `gpuHour`, a dedicated endpoint's minutes
// at `endpointPerMinute`, counted in the stage's cost, the run's total, the budget's spent sum and the CLI's lines.
import { costText, timeBilledLines } from '../../cli/result';
import type { ProvidersConfig } from '../../core/config';
import { spentOf } from '../../core/estimate';
import { hasTimeBilledProviders, stageServingCharges, timeBilledUsage } from '../../core/serving-spend';
import { addUsage, emptyUsage, type ModelRef } from '../../core/types';

const prices = (extra: object) => ({
  inputPerMillionTokens: 0,
  outputPerMillionTokens: 0,
  trainingPerMillionTokens: 0,
  ...extra,
});
const server = (extra: object) => ({
  kind: 'openai-compatible' as const,
  baseURL: 'http://gpu.internal:8000/v1',
  testDouble: false,
  requestTimeoutSeconds: 60,
  maxConcurrency: 8,
  prices: prices(extra),
});
const providers: ProvidersConfig = {
  'local-vllm': server({ gpuHour: 2.4, tokensPerSecond: 1000 }),
  together: server({ endpointPerMinute: 0.05, tokensPerSecond: 500 }),
  openai: server({ inputPerMillionTokens: 0.15 }),
};
const minute = 60_000;
const hour = 60 * minute;
const span = { from: 10 * hour, to: 10 * hour + 30 * minute };

describe('stageServingCharges', () => {
  it("bills a GPU server the stage's wall time once, however many of its models the stage calls", () => {
    const base: ModelRef = { provider: 'local-vllm', model: 'llama' };
    const adapter: ModelRef = { provider: 'local-vllm', model: 'flt-warm', adapter: { name: 'flt-warm', path: '/a' } };
    const charges = stageServingCharges(providers, span, [base, adapter, null], []);
    expect(charges).toEqual([{ kind: 'serving', unit: 'GPU-hour', amount: 0.5, rate: 2.4, usd: 0.5 * 2.4 }]);
  });

  it("bills each merged checkpoint's server, one GPU each, though they answer through one provider", () => {
    const merged = (name: string, port: number): ModelRef => ({
      provider: 'local-vllm',
      model: name,
      server: { runId: 'r', name, stopGraceSeconds: 30, baseURL: `http://gpu.internal:${port}/v1` },
    });
    const charges = stageServingCharges(
      providers,
      span,
      [merged('ft-1-merged', 8001), merged('ft-2-merged', 8002)],
      [],
    );
    expect(charges.map((c) => [c.kind, c.unit, c.amount, c.rate])).toEqual([
      ['serving', 'GPU-hour', 0.5, 2.4],
      ['serving', 'GPU-hour', 0.5, 2.4],
    ]);
  });

  it('bills each dedicated endpoint the run holds from the later of its start and the stage start', () => {
    const endpoint = (id: string, startedAt?: number): ModelRef => ({
      provider: 'together',
      model: `acct/${id}`,
      endpoint: { id, baseURL: 'https://api.together.xyz/v1', apiKeyEnv: 'TOGETHER_API_KEY', startedAt },
    });
    // One started before the stage (billed the whole 30 minutes), one 10 minutes into it (20 minutes).
    const held = [endpoint('e-1', span.from - hour), endpoint('e-2', span.from + 10 * minute)];
    // An endpoint the stage calls bills as held, not a second time as a server.
    const charges = stageServingCharges(providers, span, [held[0]!], held);
    expect(charges.map((c) => [c.kind, c.unit, c.amount, c.rate])).toEqual([
      ['endpoint', 'minute', 30, 0.05],
      ['endpoint', 'minute', 20, 0.05],
    ]);
    expect(timeBilledUsage(charges).costUsd).toBeCloseTo(50 * 0.05, 10);
  });

  it('bills nothing through providers priced per token, nor for an empty span', () => {
    expect(stageServingCharges(providers, span, [{ provider: 'openai', model: 'gpt-4o-mini' }], [])).toEqual([]);
    expect(stageServingCharges(providers, { from: 5, to: 5 }, [{ provider: 'local-vllm', model: 'm' }], [])).toEqual(
      [],
    );
    expect(timeBilledUsage([])).toEqual(emptyUsage());
    expect(hasTimeBilledProviders({ openai: providers.openai! })).toBe(false);
    expect(hasTimeBilledProviders(providers)).toBe(true);
  });
});

describe('time-billed spend in the totals', () => {
  const calls = { ...emptyUsage(), calls: 10, promptTokens: 1000, completionTokens: 200, costUsd: 0.5 };
  const served = timeBilledUsage(stageServingCharges(providers, span, [{ provider: 'local-vllm', model: 'm' }], []));

  it("adds to a stage's cost and the budget's spent sum, and stays apart as timeBilledUsd", () => {
    const stage = addUsage(calls, served);
    expect(stage.costUsd).toBeCloseTo(0.5 + 1.2, 10);
    expect(stage.timeBilledUsd).toBeCloseTo(1.2, 10);
    expect(stage.calls).toBe(10);
    expect(spentOf(stage, { usd: 3, tokens: 5000 })).toEqual({ usd: stage.costUsd + 3, tokens: 1200 + 5000 });
    // Usage without any keeps its shape.
    expect(addUsage(calls, emptyUsage())).toEqual(calls);
  });

  it('is labelled as estimated in what `flt result` and `flt status` print', () => {
    const stage = addUsage(calls, served);
    expect(costText(stage)).toBe('$1.7000 (of which $1.2000 estimated time-billed serving)');
    expect(costText(calls)).toBe('$0.5000');
    expect(
      timeBilledLines([
        { stage: 'collaborate', usage: stage, estimate: null },
        { stage: 'select', usage: emptyUsage(), estimate: null },
      ]),
    ).toEqual(['collaborate: estimated time-billed serving $1.2000']);
  });
});
