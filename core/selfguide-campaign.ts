// The "one parameter fits all" campaign's arithmetic: the grid, which stages each setting shares, the choice of
// the setting whose worst validation task gains most over few-shot prompting, and what the sharing saved. Pure.
import type { SelfGuideGrid, SelfGuideSettings } from './selfguide-config';

export type TaskKind = 'classification' | 'generation';

/** Every grid point, temperature-major, in the order the grid lists the values. */
export function gridSettings(grid: SelfGuideGrid): SelfGuideSettings[] {
  return grid.inputTemperature.flatMap((inputTemperature) =>
    grid.inputLengthFilter.flatMap((inputLengthFilter) =>
      grid.outputLengthFilter.flatMap((outputLengthFilter) =>
        grid.epochs.map((epochs) => ({ inputTemperature, inputLengthFilter, outputLengthFilter, epochs })),
      ),
    ),
  );
}

/** The setting a task actually runs: classification outputs are labels, so their length filter is always off. */
export function effectiveSetting(setting: SelfGuideSettings, kind: TaskKind): SelfGuideSettings {
  return kind === 'classification' ? { ...setting, outputLengthFilter: false } : setting;
}

const onOff = (value: boolean) => (value ? 'on' : 'off');

/** Readable and usable in artifact names and workflow ids: "t0.7-in-on-out-off-e2". */
export function settingKey(s: SelfGuideSettings): string {
  return `t${s.inputTemperature}-in-${onOff(s.inputLengthFilter)}-out-${onOff(s.outputLengthFilter)}-e${s.epochs}`;
}

/** The synthetic data set a setting trains on: everything but the epochs. */
export function dataKey(s: Omit<SelfGuideSettings, 'epochs'>): string {
  return `t${s.inputTemperature}-in-${onOff(s.inputLengthFilter)}-out-${onOff(s.outputLengthFilter)}`;
}

const unique = <T>(values: T[]) => [...new Set(values)];

/** A (task, temperature) branch's distinct synthetic data sets and the epochs each is trained for. */
export function branchDataSets(
  grid: SelfGuideGrid,
  kind: TaskKind,
  inputTemperature: number,
): { data: Omit<SelfGuideSettings, 'epochs'>; epochs: number[] }[] {
  const settings = gridSettings({ ...grid, inputTemperature: [inputTemperature] }).map((s) =>
    effectiveSetting(s, kind),
  );
  return unique(settings.map(dataKey)).map((key) => {
    const matching = settings.filter((s) => dataKey(s) === key);
    const { inputLengthFilter, outputLengthFilter } = matching[0];
    return {
      data: { inputTemperature, inputLengthFilter, outputLengthFilter },
      epochs: unique(matching.map((s) => s.epochs)).sort((a, b) => a - b),
    };
  });
}

export interface TaskScore {
  task: string;
  /** SELF-GUIDE's score minus the few-shot baseline's, on this task. */
  gain: number;
}

export interface SettingChoice {
  setting: SelfGuideSettings;
  /** The gain on the task where this setting gains least. */
  worstGain: number;
  gains: TaskScore[];
}

/** Maximin: the setting whose worst task gains most; the first in grid order wins a tie. */
export function chooseSetting(
  candidates: readonly { setting: SelfGuideSettings; gains: TaskScore[] }[],
): SettingChoice {
  if (candidates.length === 0) throw new RangeError('no setting to choose from');
  const scored = candidates.map((c) => ({ ...c, worstGain: Math.min(...c.gains.map((g) => g.gain)) }));
  return scored.reduce((best, c) => (c.worstGain > best.worstGain ? c : best));
}

export type CampaignChoose = 'per-kind' | 'across-kinds';

export interface KindChoice extends SettingChoice {
  /** The task kinds this setting is chosen for (and applied to on the test tasks). */
  kinds: TaskKind[];
}

/**
 * The maximin choice per task kind (the authors choose one setting for classification and one for generation),
 * or one across all kinds; kinds in the order classification, generation.
 */
export function chooseSettings(
  candidates: readonly { setting: SelfGuideSettings; gains: (TaskScore & { kind: TaskKind })[] }[],
  choose: CampaignChoose,
): KindChoice[] {
  const present = (['classification', 'generation'] as const).filter((kind) =>
    candidates.some((c) => c.gains.some((g) => g.kind === kind)),
  );
  const groups = choose === 'per-kind' ? present.map((kind) => [kind]) : [present];
  return groups.map((kinds) => ({
    kinds,
    ...chooseSetting(candidates.map((c) => ({ ...c, gains: c.gains.filter((g) => kinds.includes(g.kind)) }))),
  }));
}

/** The epoch count whose checkpoint scores best on the validation split; the fewest epochs win a tie. */
export function bestEpoch(scores: readonly { epochs: number; score: number }[]): number {
  if (scores.length === 0) throw new RangeError('no checkpoint to choose from');
  return [...scores].sort((a, b) => b.score - a.score || a.epochs - b.epochs)[0].epochs;
}

export interface StageCounts {
  inputGenerations: number;
  annotations: number;
  syntheticDataSets: number;
  fineTuneJobs: number;
  evaluations: number;
}

export interface SharingReport {
  /** What running every (task, setting) cell from scratch would have taken. */
  unshared: StageCounts;
  /** What the campaign ran. */
  shared: StageCounts;
}

/**
 * Stage runs with and without sharing, for the validation grid. Without sharing, every (task, setting) cell generates,
 * annotates, builds its data, trains one job and evaluates both SELF-GUIDE and the few-shot baseline.
 */
export function sharingReport(
  grid: SelfGuideGrid,
  kinds: readonly TaskKind[],
  checkpointEpochs: boolean,
): SharingReport {
  const cells = gridSettings(grid).length * kinds.length;
  const shared: StageCounts = {
    inputGenerations: 0,
    annotations: 0,
    syntheticDataSets: 0,
    fineTuneJobs: 0,
    evaluations: kinds.length,
  };
  for (const kind of kinds) {
    for (const temperature of grid.inputTemperature) {
      const dataSets = branchDataSets(grid, kind, temperature);
      shared.inputGenerations++;
      shared.annotations++;
      shared.syntheticDataSets += dataSets.length;
      shared.fineTuneJobs += dataSets.reduce((sum, d) => sum + (checkpointEpochs ? 1 : d.epochs.length), 0);
      shared.evaluations += dataSets.reduce((sum, d) => sum + d.epochs.length, 0);
    }
  }
  return {
    unshared: {
      inputGenerations: cells,
      annotations: cells,
      syntheticDataSets: cells,
      fineTuneJobs: cells,
      evaluations: 2 * cells,
    },
    shared,
  };
}
