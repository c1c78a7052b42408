// The `selfguide-campaign` method: the "one parameter fits all" grid on validation tasks, the chosen setting on
// test tasks.
import { stageItemFailuresLines } from '../../core/contracts';
import { settingKey } from '../../core/selfguide-campaign';
import { selfguideCampaignSchema, type SelfGuideCampaignConfig } from '../../core/selfguide-config';
import { ConfigError } from '../config-file';
import { estimateCampaign } from '../../core/selfguide-estimate';
import type { SelfGuideTask } from '../datasets';
import type { SelfGuideCampaignInput, SelfGuideCampaignResult } from '../../workflows/selfguide-campaign';
import { testDoubleNotes } from './datasets';
import { cutLongItems, loadConfiguredTask, scoredTask, storeSelfGuideTask } from './selfguide-tasks';
import type { Method } from './types';

const points = (score: number) => `${score >= 0 ? '+' : ''}${(100 * score).toFixed(1)}`;

/** The validation and test task folders, read. */
interface CampaignTasks {
  validation: SelfGuideTask[];
  test: SelfGuideTask[];
}

// The grid is scored on the validation tasks' validation split; test splits only on the chosen setting's runs.
const loadCampaignTasks = (config: SelfGuideCampaignConfig): CampaignTasks => ({
  validation: config.data.validation.map((data) => loadConfiguredTask(data, 'validation')),
  test: config.data.test.map((data) => loadConfiguredTask(data)),
});

export const selfGuideCampaignMethod: Method<SelfGuideCampaignConfig, CampaignTasks> = {
  workflowType: 'selfGuideCampaign',
  schema: selfguideCampaignSchema,
  settable: {
    providers: 'providers',
    model: 'model',
    fineTune: 'fineTune',
    generation: 'generation',
    annotation: 'annotation',
    evaluation: 'evaluation',
    execution: 'execution',
    seed: 'seed',
    grid: 'grid',
    campaign: 'campaign',
    concurrency: 'concurrency',
  },

  load: loadCampaignTasks,

  async prepare(config, store, loaded = loadCampaignTasks(config)) {
    if (config.campaign.choose === 'per-kind') {
      const kinds = new Set(loaded.validation.map((t) => t.kind));
      const i = loaded.test.findIndex((t) => !kinds.has(t.kind));
      if (i >= 0)
        throw new ConfigError(
          `data.test[${i}] (${loaded.test[i].name}) is a ${loaded.test[i].kind} task, but no validation task is; ` +
            "campaign.choose: per-kind chooses each test task's setting on validation tasks of its kind.",
        );
    }
    const notes: string[] = [];
    const tasks = (list: typeof config.data.validation, read: SelfGuideTask[], split: 'test' | 'validation') =>
      Promise.all(
        list.map((data, i) =>
          storeSelfGuideTask(
            store,
            data,
            config.evaluation.testLimit,
            notes,
            read[i],
            split,
            config.evaluation.longItems,
          ),
        ),
      );
    const validation = await tasks(config.data.validation, loaded.validation, 'validation');
    const test = await tasks(config.data.test, loaded.test, 'test');
    const input: Omit<SelfGuideCampaignInput, 'runId'> = {
      validation,
      test,
      grid: config.grid,
      campaign: config.campaign,
      concurrency: config.concurrency,
      providers: config.providers,
      model: config.model,
      fineTune: config.fineTune,
      generation: config.generation,
      annotation: config.annotation,
      evaluation: config.evaluation,
      execution: config.execution,
      seed: config.seed,
    };
    const g = config.grid;
    return {
      input,
      notes: [...notes, ...testDoubleNotes(config.providers)],
      baseModel: config.model.model,
      details: [
        `model: ${config.model.provider}/${config.model.model}`,
        `validation tasks: ${validation.map((v) => v.task.name).join(', ')}; ` +
          `test tasks: ${test.map((t) => t.task.name).join(', ')}`,
        // "or", not "/": the Temporal UI's Markdown turns "1/2" into a fraction glyph.
        `grid: temperature ${g.inputTemperature.join(' or ')}; ` +
          `input length filter ${g.inputLengthFilter.join(' or ')}; ` +
          `output length filter ${g.outputLengthFilter.join(' or ')}; epochs ${g.epochs.join(' or ')}`,
      ],
    };
  },

  estimate(config, loaded = loadCampaignTasks(config)) {
    const { testLimit, longItems } = config.evaluation;
    const scored = (read: SelfGuideTask[]) =>
      read.map((task) => scoredTask(cutLongItems(task, longItems).loaded, testLimit));
    return estimateCampaign(config, scored(loaded.validation), scored(loaded.test), config.grid);
  },

  summarize(result: SelfGuideCampaignResult) {
    const { shared, unshared } = result.sharing;
    return [
      ...result.choices.map(
        (choice) =>
          `chosen setting for ${choice.kinds.join(' and ')}: ${settingKey(choice.setting)} ` +
          `(worst validation gain over few-shot ${points(choice.worstGain)} points: ` +
          `${choice.gains.map((g) => `${g.task} ${points(g.gain)}`).join(', ')})`,
      ),
      ...result.test.map(
        (t) =>
          `test ${t.task}: SELF-GUIDE ${(100 * t.selfGuide).toFixed(1)} ` +
          `vs few-shot ${(100 * t.fewShot).toFixed(1)} (${points(t.gain)})`,
      ),
      `${result.cells.length} validation cells; sharing ran ` +
        `${shared.inputGenerations} input generations instead of ${unshared.inputGenerations}, ` +
        `${shared.annotations} annotations instead of ${unshared.annotations}, ` +
        `${shared.fineTuneJobs} fine-tunes instead of ${unshared.fineTuneJobs}, ` +
        `${shared.evaluations} evaluations instead of ${unshared.evaluations}`,
      ...stageItemFailuresLines(result.itemFailures),
    ];
  },
};
