// The `selfguide` method: SELF-GUIDE on one task folder.
import { itemFailuresNote } from '../../core/contracts';
import { roundsFor, selfguideRunSchema, type SelfGuideRunConfig } from '../../core/selfguide-config';
import { estimateSelfGuide } from '../../core/selfguide-estimate';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import { testDoubleNotes } from './datasets';
import { loadScoredTask, storeSelfGuideTask } from './selfguide-tasks';
import type { Method } from './types';

const percent = (score: number) => `${(100 * score).toFixed(1)}`;

export const selfGuideMethod: Method<SelfGuideRunConfig> = {
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

  async prepare(config, store) {
    const notes: string[] = [];
    const run = await storeSelfGuideTask(store, config.data.task, config.evaluation.testLimit, notes);
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
        `model: ${config.model.provider}/${config.model.model}`,
        `fine-tune backend: ${config.fineTune.backend.kind}`,
        `input generation: ${rounds} rounds of ${config.generation.promptsPerRound} prompts at temperature ${config.settings.inputTemperature}`,
        `test items: ${run.test.count}`,
      ],
    };
  },

  estimate(config) {
    return estimateSelfGuide(
      config,
      loadScoredTask(config.data.task, config.evaluation.testLimit),
      config.settings.epochs,
    );
  },

  summarize(result: SelfGuideRunResult) {
    const f = result.inputs.filters;
    const labels = ['few-shot prompting', 'Self-ICL', 'few-shot fine-tuning', 'SELF-GUIDE'];
    return [
      `${result.task}: ${result.inputs.generated} inputs generated; kept ${f.kept} (removed: ${f.empty} empty, ${f.noise} noise, ${f.length} length, ${f.duplicate} duplicate)`,
      `synthetic pairs: ${result.synthetic.pairs} (dropped: ${result.synthetic.dropped['no-majority']} without a 30% majority, ${result.synthetic.dropped['not-a-label']} not a label, ${result.synthetic.dropped.balancing} by class balancing)`,
      ...result.evaluations.map(
        (e, i) =>
          `${labels[i]}: ${e.score.metric} ${percent(e.score.score)} on ${e.score.total} test items (${e.model.provider}/${e.model.model})` +
          itemFailuresNote(e.itemFailures),
      ),
    ];
  },
};
