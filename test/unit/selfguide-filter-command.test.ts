// `flt selfguide filter` reads task.json only: the folder's splits are not needed to filter recorded inputs; with
// `--filters authors` it applies the authors' rules round by round.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fltProgram } from '../../cli/commands';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-selfguide-filter-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('filters recorded inputs with a task folder that holds task.json alone', async () => {
  const taskPath = path.join(dir, 'task');
  fs.mkdirSync(taskPath);
  fs.writeFileSync(
    path.join(taskPath, 'task.json'),
    JSON.stringify({
      name: 'task999',
      kind: 'classification',
      metric: 'exact_match',
      instruction: 'Say yes or no.',
      examples: [{ input: 'Is the sky blue?', output: 'yes' }],
      labels: ['yes', 'no'],
      noise_terms: ['input'],
    }),
  );
  const inputs = path.join(dir, 'inputs.jsonl');
  fs.writeFileSync(
    inputs,
    ['Is grass green?', '', 'Is grass green?'].map((input) => JSON.stringify({ input })).join('\n'),
  );
  const output = path.join(dir, 'filtered.jsonl');
  const program = fltProgram().exitOverride();
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await program.parseAsync(
      ['selfguide', 'filter', '--task', taskPath, '--inputs', inputs, '--length-filter', 'off', '--output', output],
      { from: 'user' },
    );
  } finally {
    log.mockRestore();
  }
  const kept = fs
    .readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).kept);
  expect(kept).toEqual([true, false, false]);
});

it("applies the authors' rules with --filters authors, by each line's round", async () => {
  const taskPath = path.join(dir, 'task-authors');
  fs.mkdirSync(taskPath);
  const task = { name: 't', kind: 'classification', metric: 'exact_match', instruction: 'Say yes or no.' };
  const examples = [{ input: 'Is the sky blue?', output: 'yes' }];
  fs.writeFileSync(
    path.join(taskPath, 'task.json'),
    JSON.stringify({ ...task, examples, labels: ['yes', 'no'], noise_terms: [] }),
  );
  const inputs = path.join(dir, 'rounds.jsonl');
  // The gold copy is kept by theirs; " x " is kept (stored "x"); round 2's raw "x" repeats the stored "x".
  const lines = [
    { input: 'Is the sky blue?', round: 1 },
    { input: ' x ', round: 1 },
    { input: 'x', round: 2 },
  ];
  fs.writeFileSync(inputs, lines.map((line) => JSON.stringify(line)).join('\n'));
  const run = async (filters: string) => {
    const output = path.join(dir, `rounds-${filters}.jsonl`);
    const program = fltProgram().exitOverride();
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await program.parseAsync(
        [
          'selfguide',
          'filter',
          '--task',
          taskPath,
          '--inputs',
          inputs,
          '--length-filter',
          'off',
          '--output',
          output,
        ].concat(['--filters', filters]),
        { from: 'user' },
      );
    } finally {
      log.mockRestore();
    }
    return fs
      .readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).reason);
  };
  expect(await run('authors')).toEqual([null, null, 'duplicate']);
  expect(await run('ours')).toEqual(['duplicate', null, 'duplicate']);
});
