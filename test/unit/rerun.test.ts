// `flt resume --from`: which stages get salted providers, and that a salt keeps cached answers and jobs apart.
import { rerunFrom } from '../../cli/resume';
import type { ProvidersConfig } from '../../core/config';
import { providersForStage } from '../../core/rerun';
import { contentTag } from '../../activities/fine-tuning';

const providers: ProvidersConfig = {
  api: {
    kind: 'openai-compatible',
    apiKeyEnv: 'K',
    testDouble: false,
    requestTimeoutSeconds: 60,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
    maxConcurrency: 8,
  },
};

describe('providersForStage', () => {
  const rerun = { from: 'justify', salt: 'run-2' };

  it('leaves the stages before --from as they were and salts it and every later one', () => {
    expect(providersForStage(providers, 'semievolRun', 'collaborate', rerun)).toBe(providers);
    for (const stage of ['justify', 'evolve', 'evaluate'])
      expect(providersForStage(providers, 'semievolRun', stage, rerun).api.cacheSalt).toBe('run-2');
    expect(providersForStage(providers, 'semievolRun', 'evaluate', undefined)).toBe(providers);
    expect(providers.api.cacheSalt).toBeUndefined();
  });

  it('gives a salted fine-tune job another content tag, and an unsalted one the tag it always had', () => {
    const job = {
      stage: 'evolve',
      training: { uri: 'x', sha256: 'abc', count: 1, bytes: 1 },
      baseModel: 'm',
      hyperparameters: { epochs: 1 },
      backend: { kind: 'openai' as const, provider: 'api', pollIntervalSeconds: 5 },
    };
    const plain = contentTag({ ...job, providers });
    expect(
      contentTag({
        ...job,
        providers: providersForStage(providers, 'semievolRun', 'evolve', { from: 'warm-up', salt: 's' }),
      }),
    ).not.toEqual(plain);
    expect(plain).toEqual(
      contentTag({
        ...job,
        providers: providersForStage(providers, 'semievolRun', 'evolve', { from: 'evaluate', salt: 's' }),
      }),
    );
  });

  it('takes every stage `flt watch` shows; an unpaid one reruns the paid stages after it', () => {
    const watched = {
      semievolRun: ['warm-up', 'propagate', 'collaborate', 'justify', 'select', 'evolve', 'evaluate', 'diagnose'],
      selfGuideRun: ['generate-inputs', 'filter-inputs', 'annotate-outputs', 'fine-tune', 'evaluate'],
    };
    for (const [workflow, stages] of Object.entries(watched))
      for (const stage of stages) expect(rerunFrom(workflow, stage, 'x')).toEqual({ from: stage, salt: 'x' });
    const fromSelect = { from: 'select', salt: 's' };
    expect(providersForStage(providers, 'semievolRun', 'justify', fromSelect)).toBe(providers);
    expect(providersForStage(providers, 'semievolRun', 'evolve', fromSelect).api.cacheSalt).toBe('s');
    const fromFilter = { from: 'filter-inputs', salt: 's' };
    expect(providersForStage(providers, 'selfGuideRun', 'generate-inputs', fromFilter)).toBe(providers);
    expect(providersForStage(providers, 'selfGuideRun', 'annotate-outputs', fromFilter).api.cacheSalt).toBe('s');
  });

  it('rejects a stage the run does not have, naming the ones it has, and runs without stages, in one sentence', () => {
    expect(() => rerunFrom('semievolRun', 'selection', 'x')).toThrow(
      '--from selection: expected one of the stages `flt watch` shows for a semievolRun: ' +
        'warm-up, propagate, collaborate, justify, select, evolve, evaluate, diagnose.',
    );
    expect(() => rerunFrom('evaluationRun', 'evaluate', 'x')).toThrow(/evaluationRun runs have no stages to run again/);
  });
});
