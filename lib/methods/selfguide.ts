// The `selfguide` method: SELF-GUIDE on one task folder.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { adapterNote } from '../../core/base-model';
import { itemFailuresNote, stageItemFailuresLines } from '../../core/contracts';
import { roundsFor, selfguideRunSchema, type SelfGuideRunConfig } from '../../core/selfguide-config';
import { estimateSelfGuide } from '../../core/selfguide-estimate';
import { loadSelfGuideSplit, type SelfGuideTask } from '../datasets';
import type { ArtifactRef, IoExample } from '../../core/types';
import type { ArtifactStore } from '../artifacts';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import type { EpochChoice } from '../../workflows/selfguide-best-epoch';
import { testDoubleNotes } from './datasets';
import { withinAuthorsLimits } from '../../core/selfguide-test-items';
import { cutLongItems, limitsOf, loadConfiguredTask, scoredTask, storeSelfGuideTask } from './selfguide-tasks';
import type { Method } from './types';

const percent = (score: number) => `${(100 * score).toFixed(1)}`;

/** A task folder as `flt run` reads it: its task and test split, and the validation split that picks the epoch. */
interface SelfGuideData {
  task: SelfGuideTask;
  /** Null when the config keeps the last epoch or the folder has no validation.jsonl. */
  validation: IoExample[] | null;
}

/** The validation split as the run scores it: with `evaluation.longItems: drop`, cut as the authors cut it. */
function loadData(config: SelfGuideRunConfig): SelfGuideData {
  const task = loadConfiguredTask(config.data.task);
  const wanted = config.fineTune.epochChoice !== 'last';
  const read =
    wanted && existsSync(path.join(config.data.task.path, 'validation.jsonl'))
      ? loadSelfGuideSplit(config.data.task.path, limitsOf(config.data.task), 'validation')
      : null;
  const validation = read && config.evaluation.longItems === 'drop' ? withinAuthorsLimits(task, read).kept : read;
  return { task, validation };
}

async function storeValidationSplit(
  config: SelfGuideRunConfig,
  store: ArtifactStore,
  notes: string[],
  items: IoExample[] | null,
): Promise<ArtifactRef | undefined> {
  if (config.fineTune.epochChoice === 'last') return undefined;
  if (!items) {
    notes.push('validation: none in the task folder, so SELF-GUIDE is the last epoch');
    return undefined;
  }
  notes.push(`validation: ${items.length} items score each epoch's checkpoint, where the backend keeps them`);
  return store.writeJsonl(items);
}

function epochChoiceLine(choice: EpochChoice): string {
  if (choice.scores.length === 0)
    return `SELF-GUIDE epoch: ${choice.epochs}, the last${choice.reason ? ` (${choice.reason})` : ''}`;
  const scores = choice.scores.map((s) => `${s.epochs}: ${percent(s.score)}`).join(', ');
  return `SELF-GUIDE epoch: ${choice.epochs}, the best on the validation split (${scores})`;
}

export const selfGuideMethod: Method<SelfGuideRunConfig, SelfGuideData> = {
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

  load: loadData,

  async prepare(config, store, loaded = loadData(config)) {
    const notes: string[] = [];
    const { testLimit, longItems } = config.evaluation;
    const run = await storeSelfGuideTask(store, config.data.task, testLimit, notes, loaded.task, 'test', longItems);
    const validationSplit = await storeValidationSplit(config, store, notes, loaded.validation);
    const input: Omit<SelfGuideRunInput, 'runId'> = {
      ...run,
      ...(validationSplit ? { validationSplit } : {}),
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

  estimate(config, loaded = loadData(config)) {
    const { validation } = loaded;
    const task = cutLongItems(loaded.task, config.evaluation.longItems).loaded;
    const run = { ...scoredTask(task, config.evaluation.testLimit), ...(validation ? { validation } : {}) };
    return estimateSelfGuide(config, run, config.settings.epochs);
  },

  summarize(result: SelfGuideRunResult) {
    const f = result.inputs.filters;
    const { dropped } = result.synthetic;
    const labels = ['few-shot prompting', 'Self-ICL', 'few-shot fine-tuning', 'SELF-GUIDE'];
    return [
      `${result.task}: ${result.inputs.generated} inputs generated; kept ${f.kept} ` +
        `(removed: ${f.empty} empty, ${f.noise} noise, ${f.length} length, ${f.duplicate} duplicate)`,
      `synthetic pairs: ${result.synthetic.pairs} (dropped: ${dropped['no-majority']} without a 30% majority, ` +
        `${dropped['not-a-label']} not a label, ${dropped.balancing} by class balancing)` +
        (result.synthetic.review
          ? `; in review the operator accepted ${result.synthetic.review.accepted} ` +
            `and rejected ${result.synthetic.review.rejected}`
          : ''),
      ...result.evaluations.map(
        (e, i) =>
          `${labels[i]}: ${e.score.metric} ${percent(e.score.score)} on ${e.score.total} test items ` +
          `(${e.model.provider}/${e.model.model})` +
          itemFailuresNote(e.itemFailures),
      ),
      ...(result.longTestItemsDropped === undefined
        ? []
        : [`test items over the authors' token limits (estimated), left out: ${result.longTestItemsDropped}`]),
      ...(result.epochChoice ? [epochChoiceLine(result.epochChoice)] : []),
      ...stageItemFailuresLines(result.itemFailures),
    ];
  },
};
