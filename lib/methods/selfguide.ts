// The `selfguide` method: SELF-GUIDE on one task folder.
import { adapterNote } from '../../core/base-model';
import { itemFailuresNote, stageItemFailuresLines } from '../../core/contracts';
import { roundsFor, selfguideRunSchema, type SelfGuideRunConfig } from '../../core/selfguide-config';
import { estimateSelfGuide } from '../../core/selfguide-estimate';
import type { SelfGuideTask } from '../datasets';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import { testDoubleNotes } from './datasets';
import { loadConfiguredTask, scoredTask, storeSelfGuideTask } from './selfguide-tasks';
import type { Method } from './types';

const percent = (score: number) => `${(100 * score).toFixed(1)}`;

const loadTask = (config: SelfGuideRunConfig) => loadConfiguredTask(config.data.task);

export const selfGuideMethod: Method<SelfGuideRunConfig, SelfGuideTask> = {
  workflowType: 'selfGuideRun',
  schema: selfguideRunSchema,
  settable: {
    providers: 'providers',
    model: 'model',
    fineTune: 'fineTune',
    generation: 'generation',
    annotation: 'annotation',
    evaluation: 'evaluation',
    execution: 'execution',
    seed: 'seed',
    settings: 'settings',
  },

  load: loadTask,

  async prepare(config, store, loaded = loadTask(config)) {
    const notes: string[] = [];
    const run = await storeSelfGuideTask(store, config.data.task, config.evaluation.testLimit, notes, loaded);
    const input: Omit<SelfGuideRunInput, 'runId'> = {
      ...run,
      providers: config.providers,
      model: config.model,
      fineTune: config.fineTune,
      generation: config.generation,
      annotation: config.annotation,
      evaluation: config.evaluation,
      execution: config.execution,
      seed: config.seed,
      settings: config.settings,
    };
    const rounds = roundsFor(config.generation.rounds, run.task.kind);
    return {
      input,
      notes: [...notes, ...testDoubleNotes(config.providers)],
      baseModel: config.model.model,
      details: [
        `model: ${config.model.provider}/${config.model.model}${adapterNote(config.model)}`,
        `fine-tune backend: ${config.fineTune.backend.kind}`,
        `input generation: ${rounds} rounds of ${config.generation.promptsPerRound} prompts ` +
          `at temperature ${config.settings.inputTemperature}`,
        `test items: ${run.test.count}`,
      ],
    };
  },

  estimate(config, loaded = loadTask(config)) {
    return estimateSelfGuide(config, scoredTask(loaded, config.evaluation.testLimit), config.settings.epochs);
  },

  summarize(result: SelfGuideRunResult) {
    const f = result.inputs.filters;
    const { dropped } = result.synthetic;
    const labels = ['few-shot prompting', 'Self-ICL', 'few-shot fine-tuning', 'SELF-GUIDE'];
    return [
      `${result.task}: ${result.inputs.generated} inputs generated; kept ${f.kept} ` +
        `(removed: ${f.empty} empty, ${f.noise} noise, ${f.length} length, ${f.duplicate} duplicate)`,
      `synthetic pairs: ${result.synthetic.pairs} (dropped: ${dropped['no-majority']} without a 30% majority, ` +
        `${dropped['not-a-label']} not a label, ${dropped.balancing} by class balancing)`,
      ...result.evaluations.map(
        (e, i) =>
          `${labels[i]}: ${e.score.metric} ${percent(e.score.score)} on ${e.score.total} test items ` +
          `(${e.model.provider}/${e.model.model})` +
          itemFailuresNote(e.itemFailures),
      ),
      ...stageItemFailuresLines(result.itemFailures),
    ];
  },
};
