// Shard sizes by default: SemiEvol's large D_U gets shards of 250 (history and payload sizes, BENCHMARKS.md); the
// other methods keep 100; an explicit value always wins.
import { evaluateRunSchema } from '../../core/config';
import { semievolRunSchema } from '../../core/semievol-config';

const semievol = (execution?: object) =>
  semievolRunSchema.parse({
    method: 'semievol',
    task: 't',
    providers: { p: { kind: 'openai-compatible' } },
    model: { provider: 'p', model: 'm' },
    data: {
      labeled: { format: 'semievol-csv', path: 'l.csv' },
      unlabeled: { format: 'semievol-csv', path: 'u.csv' },
      test: { format: 'semievol-csv', path: 't.csv' },
    },
    fineTune: { backend: { kind: 'in-context' } },
    ...(execution ? { execution } : {}),
  }).execution;

describe('execution defaults', () => {
  it('gives SemiEvol shards of 250 unless the config says otherwise', () => {
    expect(semievol()).toEqual({ shardSize: 250, parallelShards: 4, maxItemFailureShare: 0.05 });
    expect(semievol({ parallelShards: 8 })).toEqual({ shardSize: 250, parallelShards: 8, maxItemFailureShare: 0.05 });
    expect(semievol({ shardSize: 20 })).toEqual({ shardSize: 20, parallelShards: 4, maxItemFailureShare: 0.05 });
  });

  it('keeps shards of 100 for evaluation runs', () => {
    const config = evaluateRunSchema.parse({
      method: 'evaluate',
      task: 't',
      providers: { p: { kind: 'openai-compatible' } },
      models: [{ provider: 'p', model: 'm' }],
      data: { test: { format: 'semievol-csv', path: 't.csv' } },
    });
    expect(config.execution).toEqual({ shardSize: 100, parallelShards: 4, maxItemFailureShare: 0.05 });
  });
});
