// SELF-GUIDE run and campaign configs: paper defaults, task folder paths resolved against the config's folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadRunConfig } from '../../lib/config-file';
import { roundsFor } from '../../core/selfguide-config';
import { selfGuideCampaignMethod } from '../../lib/methods/selfguide-campaign';

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
});
