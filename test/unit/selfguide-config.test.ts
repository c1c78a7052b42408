// SELF-GUIDE run and campaign configs: paper defaults, task folder paths resolved against the config's folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadRunConfig } from '../../lib/config-file';
import { roundsFor } from '../../core/selfguide-config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { selfGuideMethod } from '../../lib/methods/selfguide';
import { selfGuideCampaignMethod } from '../../lib/methods/selfguide-campaign';
import type { SelfGuideRunInput } from '../../workflows/selfguide';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-config-'));
const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
const common = `task: t
providers: { p: { kind: openai-compatible } }
model: { provider: p, model: m }
fineTune: { backend: { kind: in-context } }
`;

describe('SELF-GUIDE configs', () => {
  it('fills the paper defaults for a run and resolves the task folder', () => {
    const config = loadRunConfig(
      write(
        'run.yaml',
        `method: selfguide\n${common}data: { task: { format: selfguide-task, path: tasks/task190 } }\n`,
      ),
    );
    if (config.method !== 'selfguide') throw new Error('expected a selfguide config');
    expect(config.data.task.path).toBe(path.join(dir, 'tasks/task190'));
    expect(config.settings).toEqual({
      inputTemperature: 0.7,
      inputLengthFilter: false,
      outputLengthFilter: true,
      epochs: 3,
    });
    expect(config.generation).toEqual({ promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 });
    expect(config.annotation).toEqual({
      samples: 10,
      temperature: 0.2,
      minShare: 0.3,
      shareOf: 'kept',
      maxTokens: 500,
    });
    expect(config.evaluation).toEqual({ maxTokens: 500, contextTokens: 4096, rouge: 'words' });
    expect(config.fineTune.maxExampleTokens).toBe(2000);
    expect([
      roundsFor(undefined, 'classification'),
      roundsFor(undefined, 'generation'),
      roundsFor(3, 'generation'),
    ]).toEqual([40, 20, 3]);
  });

  it('takes lists of validation and test tasks for a campaign, with the paper grid by default', () => {
    const config = loadRunConfig(
      write(
        'campaign.yaml',
        `method: selfguide-campaign\n${common}data:\n  validation: [{ format: selfguide-task, path: a }]\n` +
          '  test: [{ format: selfguide-task, path: b }]\n',
      ),
    );
    if (config.method !== 'selfguide-campaign') throw new Error('expected a campaign config');
    expect(config.data.validation[0].path).toBe(path.join(dir, 'a'));
    // The authors' grid: both length filters on (the output one is off for classification anyway).
    expect(config.grid).toEqual({
      inputTemperature: [0.6, 0.7, 0.8, 0.9, 1.0],
      inputLengthFilter: [true],
      outputLengthFilter: [true],
      epochs: [1, 2, 3],
    });
  });

  it('chooses per task kind by default, and then refuses a test task whose kind no validation task has', async () => {
    const demo = (name: string) => path.resolve(__dirname, '../../demo/selfguide', name);
    const file = write(
      'per-kind.yaml',
      `method: selfguide-campaign\n${common}data:\n` +
        `  validation: [{ format: selfguide-task, path: ${demo('task190')} }]\n` +
        `  test: [{ format: selfguide-task, path: ${demo('task036')} }]\n`,
    );
    const config = loadRunConfig(file);
    if (config.method !== 'selfguide-campaign') throw new Error('expected a campaign config');
    expect(config.campaign).toEqual({ choose: 'per-kind' });
    await expect(selfGuideCampaignMethod.prepare(config, undefined as never)).rejects.toThrow(
      'data.test[0] (task036) is a generation task, but no validation task is; ' +
        "campaign.choose: per-kind chooses each test task's setting on validation tasks of its kind.",
    );
  });

  it('rejects a grid value listed twice, naming the field', () => {
    const file = write(
      'bad.yaml',
      `method: selfguide-campaign\n${common}data: { validation: [{ format: selfguide-task, path: a }], ` +
        'test: [{ format: selfguide-task, path: b }] }\ngrid: { epochs: [1, 1] }\n',
    );
    expect(() => loadRunConfig(file)).toThrow(ConfigError);
    expect(() => loadRunConfig(file)).toThrow(/field "grid.epochs" must not repeat a value/);
  });

  it('takes annotation.review in a run (absent: no review), and refuses it in a campaign, naming the field', () => {
    const run = write(
      'review.yaml',
      `method: selfguide\n${common}data: { task: { format: selfguide-task, path: a } }\nannotation: { review: true }\n`,
    );
    expect(loadRunConfig(run)).toMatchObject({ annotation: { review: true } });
    const campaign = write(
      'campaign-review.yaml',
      `method: selfguide-campaign\n${common}data: { validation: [{ format: selfguide-task, path: a }], ` +
        'test: [{ format: selfguide-task, path: b }] }\nannotation: { review: true }\n',
    );
    expect(() => loadRunConfig(campaign)).toThrow(
      /field "annotation.review" is for a single selfguide run: a campaign has many runs/,
    );
  });

  it("takes generation.filters (absent: ours, so earlier runs' inputs match), naming the field when refused", () => {
    const run = (generation: string) =>
      write(
        'filters.yaml',
        `method: selfguide\n${common}data: { task: { format: selfguide-task, path: a } }\ngeneration: ${generation}\n`,
      );
    const config = loadRunConfig(run('{ filters: authors }'));
    if (config.method !== 'selfguide') throw new Error('expected a selfguide config');
    expect(config.generation.filters).toBe('authors');
    expect(loadRunConfig(run('{ rounds: 2 }'))).toMatchObject({ generation: { rounds: 2 } });
    expect(loadRunConfig(run('{ rounds: 2 }'))).not.toHaveProperty('generation.filters');
    expect(() => loadRunConfig(run('{ filters: theirs }'))).toThrow(/field "generation.filters"/);
  });

  it('takes evaluation.exactMatch, longItems and stemmer (absent: ours), naming the field when refused', () => {
    const run = (evaluation: string) =>
      write(
        'exact.yaml',
        `method: selfguide\n${common}data: { task: { format: selfguide-task, path: a } }\nevaluation: ${evaluation}\n`,
      );
    expect(loadRunConfig(run('{ exactMatch: authors }'))).toMatchObject({ evaluation: { exactMatch: 'authors' } });
    expect(loadRunConfig(run('{ testLimit: 5 }'))).not.toHaveProperty('evaluation.exactMatch');
    expect(() => loadRunConfig(run('{ exactMatch: theirs }'))).toThrow(/field "evaluation.exactMatch"/);
    expect(loadRunConfig(run('{ longItems: drop }'))).toMatchObject({ evaluation: { longItems: 'drop' } });
    expect(loadRunConfig(run('{ testLimit: 5 }'))).not.toHaveProperty('evaluation.longItems');
    expect(() => loadRunConfig(run('{ longItems: all }'))).toThrow(/field "evaluation.longItems"/);
    expect(loadRunConfig(run('{ stemmer: nltk }'))).toMatchObject({ evaluation: { stemmer: 'nltk' } });
    expect(loadRunConfig(run('{ testLimit: 5 }'))).not.toHaveProperty('evaluation.stemmer');
    expect(() => loadRunConfig(run('{ stemmer: snowball }'))).toThrow(/field "evaluation.stemmer"/);
  });

  describe("the validation split that chooses SELF-GUIDE's epoch", () => {
    const demo = path.resolve(__dirname, '../../demo/selfguide');
    const prepared = async (taskDir: string, fineTune = '{ backend: { kind: in-context } }') => {
      const file = write(
        'epoch.yaml',
        `method: selfguide\n${common.replace(/^fineTune: .*$/m, `fineTune: ${fineTune}`)}` +
          `data: { task: { format: selfguide-task, path: ${taskDir} } }\n`,
      );
      const config = loadRunConfig(file);
      if (config.method !== 'selfguide') throw new Error('expected a selfguide config');
      const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
      const { input, notes } = await selfGuideMethod.prepare(config, store);
      return { input: input as unknown as SelfGuideRunInput, notes };
    };

    it("is stored from the task folder's validation.jsonl by default", async () => {
      const { input, notes } = await prepared(path.join(demo, 'task190'));
      expect(input.validationSplit?.count).toBe(5);
      expect(notes).toContain("validation: 5 items score each epoch's checkpoint, where the backend keeps them");
    });

    it('is left out with epochChoice: last, and where the folder has none', async () => {
      const last = await prepared(path.join(demo, 'task190'), '{ backend: { kind: in-context }, epochChoice: last }');
      expect(last.input.validationSplit).toBeUndefined();
      const bare = path.join(dir, 'bare-task');
      fs.mkdirSync(bare, { recursive: true });
      for (const name of ['task.json', 'test.jsonl'])
        fs.copyFileSync(path.join(demo, 'task190', name), path.join(bare, name));
      const none = await prepared(bare);
      expect(none.input.validationSplit).toBeUndefined();
      expect(none.notes).toContain('validation: none in the task folder, so SELF-GUIDE is the last epoch');
    });
  });
});
