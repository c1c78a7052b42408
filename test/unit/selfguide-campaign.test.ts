// The campaign's arithmetic: grid, shared data sets, the maximin choice, and what sharing saves.
import {
  bestEpoch,
  branchDataSets,
  chooseSetting,
  chooseSettings,
  effectiveSetting,
  gridSettings,
  settingKey,
  sharingReport,
} from '../../core/selfguide-campaign';

const grid = {
  inputTemperature: [0.6, 0.7, 0.8, 0.9, 1.0],
  inputLengthFilter: [true, false],
  outputLengthFilter: [true, false],
  epochs: [1, 2, 3],
};

describe('the SELF-GUIDE campaign', () => {
  it("expands the paper's grid: 5 x 2 x 2 x 3 settings, with classification outputs never length-filtered", () => {
    const settings = gridSettings(grid);
    expect(settings).toHaveLength(60);
    expect(settingKey(settings[0])).toBe('t0.6-in-on-out-on-e1');
    expect(effectiveSetting(settings[0], 'classification').outputLengthFilter).toBe(false);
    expect(effectiveSetting(settings[0], 'generation')).toEqual(settings[0]);
  });

  it('shares one data set across epochs, and across output filters for classification', () => {
    expect(branchDataSets(grid, 'generation', 0.7)).toHaveLength(4);
    expect(branchDataSets(grid, 'classification', 0.7)).toEqual([
      { data: { inputTemperature: 0.7, inputLengthFilter: true, outputLengthFilter: false }, epochs: [1, 2, 3] },
      { data: { inputTemperature: 0.7, inputLengthFilter: false, outputLengthFilter: false }, epochs: [1, 2, 3] },
    ]);
  });

  it('picks the setting whose worst task gains most, the first on a tie', () => {
    const [a, b, c] = gridSettings(grid);
    const choice = chooseSetting([
      {
        setting: a,
        gains: [
          { task: 'x', gain: 0.3 },
          { task: 'y', gain: -0.1 },
        ],
      },
      {
        setting: b,
        gains: [
          { task: 'x', gain: 0.05 },
          { task: 'y', gain: 0.02 },
        ],
      },
      {
        setting: c,
        gains: [
          { task: 'x', gain: 0.02 },
          { task: 'y', gain: 0.9 },
        ],
      },
    ]);
    expect(choice.setting).toEqual(b);
    expect(choice.worstGain).toBe(0.02);
  });

  it('reports stage runs with and without sharing', () => {
    const report = sharingReport(grid, ['classification', 'generation'], true);
    expect(report.unshared).toEqual({
      inputGenerations: 120,
      annotations: 120,
      syntheticDataSets: 120,
      fineTuneJobs: 120,
      evaluations: 240,
    });
    // Per temperature: classification 2 data sets, generation 4; one checkpointed job each; 3 epochs evaluated each.
    expect(report.shared).toEqual({
      inputGenerations: 10,
      annotations: 10,
      syntheticDataSets: 30,
      fineTuneJobs: 30,
      evaluations: 2 + 90,
    });
    expect(sharingReport(grid, ['generation'], false).shared.fineTuneJobs).toBe(60);
  });

  it("per kind (the authors), the maximin runs over each kind's tasks apart; across kinds over all of them", () => {
    const [a, b] = gridSettings(grid);
    const candidates = [
      {
        setting: a,
        gains: [
          { task: 'c1', kind: 'classification' as const, gain: 0.2 },
          { task: 'g1', kind: 'generation' as const, gain: -0.1 },
        ],
      },
      {
        setting: b,
        gains: [
          { task: 'c1', kind: 'classification' as const, gain: 0.05 },
          { task: 'g1', kind: 'generation' as const, gain: 0.1 },
        ],
      },
    ];
    const perKind = chooseSettings(candidates, 'per-kind');
    expect(perKind.map((c) => [c.kinds, c.setting, c.worstGain])).toEqual([
      [['classification'], a, 0.2],
      [['generation'], b, 0.1],
    ]);
    expect(perKind[0].gains).toEqual([{ task: 'c1', kind: 'classification', gain: 0.2 }]);
    const across = chooseSettings(candidates, 'across-kinds');
    expect(across.map((c) => [c.kinds, c.setting, c.worstGain])).toEqual([[['classification', 'generation'], b, 0.05]]);
  });

  it('picks the epoch whose checkpoint scores best on the validation split, the fewest epochs on a tie', () => {
    expect(
      bestEpoch([
        { epochs: 1, score: 0.4 },
        { epochs: 2, score: 0.55 },
        { epochs: 3, score: 0.55 },
      ]),
    ).toBe(2);
    expect(() => bestEpoch([])).toThrow(RangeError);
  });
});
