// `flt resume --set`: the config file's own keys, checked by the config's schemas before anything starts.
import { applySettings } from '../../cli/resume';
import { executionSchema } from '../../core/config';
import { semievolOptionsSchema } from '../../core/semievol-config';

const semievolInput = () => ({
  task: 't',
  options: semievolOptionsSchema.parse({}),
  execution: executionSchema.parse({}),
  sampling: { temperature: 0, maxTokens: 256, seed: 0 },
});

describe('resume --set', () => {
  it("takes the config file's keys and changes the run input they became", () => {
    const changed = applySettings('semievolRun', semievolInput(), ['semievol.selection.theta=60']);
    expect(changed.options).toMatchObject({ selection: { theta: 60, among: 'all' } });
  });

  it('refuses a value the config schema refuses, in one sentence naming the key and what was expected', () => {
    expect(() => applySettings('semievolRun', semievolInput(), ['semievol.selection.theta=abc'])).toThrow(
      '--set semievol.selection.theta=abc: semievol.selection.theta expected number, received string.',
    );
    expect(() => applySettings('semievolRun', semievolInput(), ['semievol.selection.theta=150'])).toThrow(
      /^--set semievol\.selection\.theta=150: semievol\.selection\.theta .*100.*\.$/,
    );
  });

  it('refuses an unknown key and an internal path, naming what can be set', () => {
    expect(() => applySettings('semievolRun', semievolInput(), ['semievol.selection.thetaa=60'])).toThrow(
      '--set semievol.selection.thetaa=60: semievol.selection has unknown field(s) "thetaa".',
    );
    expect(() => applySettings('semievolRun', semievolInput(), ['options.selection.theta=60'])).toThrow(
      '--set options.selection.theta=60: "options" is not a setting of a semievol config ' +
        '(settable on resume: semievol, execution, sampling, model, providers).',
    );
  });
});
