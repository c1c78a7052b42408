// SELF-GUIDE's "one parameter fits all": every grid setting on the validation tasks, the setting whose worst task
// gains most over few-shot prompting, then that setting on the test tasks. Each (task, temperature) branch is a child
// workflow that generates and annotates once and shares the result with every filter and epoch setting.
import { executeChild, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  branchDataSets,
  chooseSettings,
  dataKey,
  effectiveSetting,
  gridSettings,
  settingKey,
  sharingReport,
  type CampaignChoose,
  type KindChoice,
  type SharingReport,
} from '../core/selfguide-campaign';
import { evaluationItemFailures, type StageItemFailures } from '../core/contracts';
import type { SelfGuideGrid, SelfGuideSettings } from '../core/selfguide-config';
import { costUsdAttribute, searchAttributes } from '../core/search-attributes';
import type { ModelRef, StageUsage } from '../core/types';
import { progressQuery, type BudgetPlan, type StageCost, type StageProgress } from '../core/workflow-messages';
import { pausable, runControl } from './control';
import { selfGuideRun, type SelfGuideRunResult } from './selfguide';
import type { SelfGuideEvaluation } from './selfguide-evaluate';
import {
  evaluate,
  filterInputs,
  fineTuneEpochs,
  generateInputs,
  drawAnnotationSamples,
  sumUsage,
  synthesize,
  type SelfGuidePipeline,
  type SelfGuideTaskRun,
} from './selfguide-stages';
import { unloadingAfter } from './serving';
import { childId, childOptions, mapBounded } from './shared';

export interface SelfGuideCampaignInput extends SelfGuidePipeline {
  runId: string;
  validation: SelfGuideTaskRun[];
  test: SelfGuideTaskRun[];
  grid: SelfGuideGrid;
  /** Absent in runs started before the option: those chose across kinds. */
  campaign: { choose: CampaignChoose };
  concurrency: { branches: number; cells: number };
  /** Set by `flt run`: the budget and the estimate it is checked against (stages `validation` and `test`). */
  budget?: BudgetPlan;
}

export interface CellResult {
  task: string;
  setting: SelfGuideSettings;
  pairs: number;
  score: number;
}

export interface SelfGuideCampaignResult {
  runId: string;
  baselines: { task: string; score: number }[];
  cells: CellResult[];
  /** One chosen setting per task kind, or one for all kinds (`campaign.choose`). */
  choices: KindChoice[];
  /** The chosen setting on each test task: the full SELF-GUIDE run, with its few-shot baseline. */
  test: { task: string; selfGuide: number; fewShot: number; gain: number; runId: string }[];
  sharing: SharingReport;
  /** Items the provider refused, keyed `<task> <stage>` over baselines, branches and test runs; absent when none. */
  itemFailures?: StageItemFailures;
  usage: StageUsage;
  costs: StageCost[];
}

interface BranchResult {
  cells: CellResult[];
  usage: StageUsage;
  /**
   * Keyed by stage and, for generation and annotation, input temperature: `generate-inputs t0.7`. Absent in branches
   * that finished before the campaign listed item failures.
   */
  itemFailures?: StageItemFailures;
}

export interface CampaignBranchInput extends SelfGuidePipeline, SelfGuideTaskRun {
  runId: string;
  inputTemperature: number;
  grid: SelfGuideGrid;
  cells: number;
}

/** One task at one input temperature: inputs generated and annotated once, then every filter and epoch setting. */
export function selfGuideCampaignBranch(input: CampaignBranchInput): Promise<BranchResult> {
  // Adapters served for this branch are unloaded at its end, however it ends.
  return unloadingAfter(input.providers, (loaded) => runBranch(input, loaded));
}

async function runBranch(input: CampaignBranchInput, loaded: (model: ModelRef) => ModelRef): Promise<BranchResult> {
  const { runId, task } = input;
  const dataSets = branchDataSets(input.grid, task.kind, input.inputTemperature);
  const stages: StageProgress[] = [
    { stage: 'generate-inputs', done: 0, total: 1 },
    { stage: 'annotate-outputs', done: 0, total: 1 },
    { stage: 'cells', done: 0, total: dataSets.length },
  ];
  const usages: StageUsage[] = [];
  setHandler(progressQuery, () => ({
    stage: stages.find((s) => s.done < s.total)?.stage ?? 'done',
    stages,
    usage: sumUsage(usages),
  }));
  const { pausePoint } = pausable();

  const inputs = await generateInputs(
    runId,
    task,
    input.inputTemperature,
    input,
    (done, of) => Object.assign(stages[0], { done, total: of }),
    pausePoint,
  );
  usages.push(inputs.usage);
  // The library (inputs passing every filter but the switchable length rule) is annotated once for all settings.
  const library = await filterInputs(runId, 'filter-in-off', task, inputs.generated, false, input);
  await pausePoint();
  const samples = await drawAnnotationSamples(runId, 'annotate-outputs', task, library.kept, input);
  usages.push(samples.usage);
  stages[1].done = 1;
  const itemFailures: StageItemFailures = {};
  if (inputs.itemFailures) {
    itemFailures[`generate-inputs t${input.inputTemperature}`] = inputs.itemFailures;
    stages[0].itemFailures = { 'generate-inputs': inputs.itemFailures };
  }
  if (samples.itemFailures) {
    itemFailures[`annotate-outputs t${input.inputTemperature}`] = samples.itemFailures;
    stages[1].itemFailures = { 'annotate-outputs': samples.itemFailures };
  }

  const keptWithLengthFilter = dataSets.some((d) => d.data.inputLengthFilter)
    ? filterInputs(runId, 'filter-in-on', task, inputs.generated, true, input)
    : null;
  const perDataSet = await mapBounded(dataSets, input.cells, async ({ data, epochs }) => {
    await pausePoint();
    const kept = data.inputLengthFilter ? (await keptWithLengthFilter!).kept : library.kept;
    const key = dataKey(data);
    const synthetic = await synthesize(
      runId,
      `data-${key}`,
      task,
      samples.annotated,
      kept,
      data.outputLengthFilter,
      input,
    );
    const models = (await fineTuneEpochs(runId, `fine-tune-${key}`, synthetic.training, epochs, input)).map(loaded);
    const results = await Promise.all(
      epochs.map(async (e, i): Promise<CellResult> => {
        const setting = { ...data, epochs: e };
        const stage = `evaluate-${settingKey(setting)}`;
        const evaluation = await evaluate(runId, stage, input, models[i], { kind: 'few-shot' }, input);
        usages.push(evaluation.usage);
        if (evaluation.itemFailures) {
          itemFailures[stage] = evaluation.itemFailures;
          stages[2].itemFailures = { ...stages[2].itemFailures, [stage]: evaluation.itemFailures };
        }
        return { task: task.name, setting, pairs: synthetic.pairs.count, score: evaluation.score.score };
      }),
    );
    stages[2].done++;
    return results;
  });
  return { cells: perDataSet.flat(), usage: sumUsage(usages), itemFailures };
}

export async function selfGuideCampaign(input: SelfGuideCampaignInput): Promise<SelfGuideCampaignResult> {
  const { runId, grid } = input;
  const branches = input.validation.flatMap((run) => grid.inputTemperature.map((t) => ({ run, t })));
  const stages: StageProgress[] = [
    { stage: 'baselines', done: 0, total: input.validation.length },
    { stage: 'validation-branches', done: 0, total: branches.length },
    { stage: 'test-runs', done: 0, total: input.test.length },
  ];
  let stage = 'validation';
  const control = runControl(input.budget);
  setHandler(progressQuery, () => ({ stage, stages, usage: control.usage(), costs: control.costs() }));
  /** Enters a stage; a paid one waits while the run is paused or needs approval. */
  const enter = async (name: string, details: string, paid: boolean) => {
    stage = name;
    upsertSearchAttributes([{ key: searchAttributes.stage, value: name }, costUsdAttribute(control.usage().costUsd)]);
    control.enter(name, details);
    if (paid) await control.beforePaidStep(name);
  };
  /** Adds a task run's item failures, keyed `<task> <stage>`, to the campaign stage's row in `flt watch`. */
  const recordFailures = (index: number, prefix: string, failures: StageItemFailures) => {
    if (Object.keys(failures).length)
      stages[index].itemFailures = { ...stages[index].itemFailures, ...prefixed(prefix, failures) };
  };
  // Children get the pipeline without the budget: the campaign guards its stages as a whole.
  const { budget: _budget, ...pipeline } = input;

  await enter(
    'validation',
    `${gridSettings(grid).length} settings on ${input.validation.length} validation task(s), ` +
      `in ${branches.length} branches, and the few-shot baselines`,
    true,
  );
  const [baselines, branchResults] = await Promise.all([
    mapBounded(input.validation, input.concurrency.branches, async (run): Promise<SelfGuideEvaluation> => {
      await control.pausePoint();
      const baseline = await evaluate(
        runId,
        `baseline-${run.task.name}`,
        run,
        input.model,
        { kind: 'few-shot' },
        input,
      );
      stages[0].done++;
      recordFailures(0, `${run.task.name} `, baseline.itemFailures ? { baseline: baseline.itemFailures } : {});
      control.spend(stage, baseline.usage);
      return baseline;
    }),
    mapBounded(branches, input.concurrency.branches, async ({ run, t }) => {
      await control.pausePoint();
      const branch = await executeChild(selfGuideCampaignBranch, {
        ...childOptions(runId, `${run.task.name}-t${t}`),
        args: [
          {
            ...pipeline,
            ...run,
            runId: childId(runId, `${run.task.name}-t${t}`),
            inputTemperature: t,
            cells: input.concurrency.cells,
          },
        ],
        staticSummary: `SELF-GUIDE grid on ${run.task.name} at input temperature ${t}`,
      });
      stages[1].done++;
      recordFailures(1, `${run.task.name} `, branch.itemFailures ?? {});
      control.spend(stage, branch.usage);
      return branch;
    }),
  ]);
  const cells = branchResults.flatMap((b) => b.cells);

  const scoreOf = (task: string, setting: SelfGuideSettings) =>
    cells.find((c) => c.task === task && settingKey(c.setting) === settingKey(setting))!.score;
  const choices = chooseSettings(
    gridSettings(grid).map((setting) => ({
      setting,
      gains: input.validation.map(({ task }, i) => ({
        task: task.name,
        kind: task.kind,
        gain: scoreOf(task.name, effectiveSetting(setting, task.kind)) - baselines[i].score.score,
      })),
    })),
    input.campaign?.choose ?? 'across-kinds',
  );
  // flt run refuses a test task whose kind no validation task has, so every test task finds its choice.
  const settingFor = (run: SelfGuideTaskRun) => choices.find((c) => c.kinds.includes(run.task.kind))!.setting;
  const chosen = choices.map((c) => `${c.kinds.join(' and ')}: ${settingKey(c.setting)}`).join('; ');

  await enter('test', `the chosen setting (${chosen}) on ${input.test.map((r) => r.task.name).join(', ')}`, true);
  const testRuns = await mapBounded(
    input.test,
    input.concurrency.branches,
    async (run): Promise<SelfGuideRunResult> => {
      await control.pausePoint();
      const child = childOptions(runId, `test-${run.task.name}`);
      const testRunId = child.workflowId;
      const result = await executeChild(selfGuideRun, {
        ...child,
        args: [{ ...pipeline, ...run, runId: testRunId, settings: settingFor(run) }],
        staticSummary: `SELF-GUIDE with the chosen setting ${settingKey(settingFor(run))} on ${run.task.name}`,
      });
      stages[2].done++;
      recordFailures(2, `${run.task.name} test `, {
        ...result.itemFailures,
        ...evaluationItemFailures(result.evaluations),
      });
      control.spend(stage, result.usage);
      return result;
    },
  );

  const test = testRuns.map((r) => {
    const [fewShot, , , selfGuide] = r.evaluations.map((e) => e.score.score);
    return { task: r.task, selfGuide, fewShot, gain: selfGuide - fewShot, runId: r.runId };
  });
  const itemFailures: StageItemFailures = Object.assign({}, ...stages.map((s) => s.itemFailures));
  await enter('done', `chosen setting (${chosen})`, false);
  upsertSearchAttributes([{ key: searchAttributes.accuracy, value: Math.min(...choices.map((c) => c.worstGain)) }]);
  return {
    runId,
    baselines: baselines.map((b, i) => ({ task: input.validation[i].task.name, score: b.score.score })),
    cells,
    choices,
    test,
    sharing: sharingReport(
      grid,
      input.validation.map((r) => r.task.kind),
      input.fineTune.backend.kind === 'openai',
    ),
    ...(Object.keys(itemFailures).length ? { itemFailures } : {}),
    usage: control.usage(),
    costs: control.costs(),
  };
}

const prefixed = (prefix: string, failures: StageItemFailures): StageItemFailures =>
  Object.fromEntries(Object.entries(failures).map(([stage, f]) => [`${prefix}${stage}`, f]));
