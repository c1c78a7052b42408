// `flt selfguide filter`: the input filters of SELF-GUIDE's stage 2 through the CLI, without calling a model.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('flt selfguide filter', () => {
  it('writes one {input, kept, reason} line per input, in order, without calling a model', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-filter-'));
    const taskDir = path.join(dir, 'task');
    fs.mkdirSync(taskDir);
    const examples = [
      { input: 'Sentence: 😀 one', output: 'A' },
      { input: 'Sentence: two', output: 'B' },
    ];
    fs.writeFileSync(
      path.join(taskDir, 'task.json'),
      JSON.stringify({
        name: 't',
        kind: 'classification',
        metric: 'exact_match',
        instruction: 'Classify.',
        examples,
        labels: ['A', 'B'],
        noise_terms: ['input'],
      }),
    );
    fs.writeFileSync(path.join(taskDir, 'validation.jsonl'), '');
    fs.writeFileSync(path.join(taskDir, 'test.jsonl'), '');
    // Gold lengths: 16 and 13 code points (the emoji is 2 UTF-16 units): mu 14.5, sigma 1.5, keep 11.5..17.5.
    const inputs = [
      'Sentence: 😀 one',
      'Sentence: three',
      'Sentence: a much longer one',
      '',
      'my input',
      'Sentence: 😀😀😀😀😀',
      'Sentence: three',
    ];
    fs.writeFileSync(path.join(dir, 'inputs.jsonl'), inputs.map((input) => JSON.stringify({ input })).join('\n'));
    const run = (lengthFilter: string) => {
      const output = path.join(dir, `out-${lengthFilter}.jsonl`);
      const stdout = execFileSync(
        path.resolve(__dirname, '../../node_modules/.bin/tsx'),
        [
          path.resolve(__dirname, '../../client.ts'),
          'selfguide',
          'filter',
          '--task',
          taskDir,
          '--inputs',
          path.join(dir, 'inputs.jsonl'),
          '--length-filter',
          lengthFilter,
          '--output',
          output,
        ],
        { encoding: 'utf8' },
      );
      return {
        stdout,
        lines: fs
          .readFileSync(output, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      };
    };
    const on = run('on');
    expect(on.lines).toEqual([
      { input: 'Sentence: 😀 one', kept: false, reason: 'duplicate' },
      { input: 'Sentence: three', kept: true, reason: null },
      { input: 'Sentence: a much longer one', kept: false, reason: 'length' },
      { input: '', kept: false, reason: 'empty' },
      { input: 'my input', kept: false, reason: 'noise' },
      { input: 'Sentence: 😀😀😀😀😀', kept: true, reason: null },
      { input: 'Sentence: three', kept: false, reason: 'duplicate' },
    ]);
    expect(on.stdout).toMatch(/kept 2 of 7 \(removed: 1 empty, 1 noise, 1 length, 2 duplicate\)/);
    expect(run('off').lines.map((l: { reason: string | null }) => l.reason)).toEqual([
      'duplicate',
      null,
      null,
      'empty',
      'noise',
      null,
      'duplicate',
    ]);
  });
});
