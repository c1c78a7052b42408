// The `evaluate` method: models on a test split.
import { evaluateRunSchema, type EvaluateRunConfig } from '../../core/config';
import { itemFailuresNote } from '../../core/contracts';
import { estimateEvaluation } from '../../core/evaluate-estimate';
import type { LoadedMcqDataset } from '../datasets';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { loadDataset, storeDataset, testDoubleNotes } from './datasets';
import type { Method } from './types';

const loadTest = (config: EvaluateRunConfig) => loadDataset(config.data.test);

export const evaluateMethod: Method<EvaluateRunConfig, LoadedMcqDataset> = {
  workflowType: 'evaluationRun',
  schema: evaluateRunSchema,
  settable: {
    providers: 'providers',
    models: 'models',
    sampling: 'sampling',
    metric: 'metric',
    execution: 'execution',
  },

  load: loadTest,

  async prepare(config, store, loaded = loadTest(config)) {
    const notes: string[] = [];
    const test = await storeDataset(store, config.data.test, loaded, 'test', notes);
    const input: Omit<EvaluationRunInput, 'runId'> = {
      task: config.task,
      providers: config.providers,
      models: config.models,
      test,
      sampling: config.sampling,
      metric: config.metric,
      execution: config.execution,
    };
    return {
      input,
      notes: [...notes, ...testDoubleNotes(config.providers)],
      baseModel: config.models[0].model,
      details: [
        `models: ${config.models.map((m) => `${m.provider}/${m.model}`).join(', ')}`,
        `test items: ${test.count}`,
      ],
    };
  },

  estimate(config, loaded = loadTest(config)) {
    return estimateEvaluation(config, loaded.items);
  },

  summarize(result: EvaluationRunResult) {
    return result.evaluations.map(
      (e) =>
        `${e.model.provider}/${e.model.model}: accuracy ${e.score.accuracy.toFixed(3)} ` +
        `(${e.score.correct}/${e.score.total}, ${e.score.unanswered} without an answer` +
        `${e.score.cutOff ? `, ${e.score.cutOff} cut off before one` : ''})` +
        itemFailuresNote(e.itemFailures),
    );
  },
};
