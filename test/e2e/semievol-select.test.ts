// `flt semievol select --input`: stages 3-5 recomputed from recorded outputs, checked against hand-computed selections.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-select-'));
const flt = (...args: string[]) =>
  promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'client.ts'), ...args], { cwd: root });

const say = (letter: string, logprobs: number[] | null = [-0.9]) => ({
  response: `Reasoning. Answer: ${letter}`,
  logprobs,
});
const silent = { response: 'No idea.', logprobs: [-0.9] };
const question = (id: string, collaborators: object[], reflection: object | null = null) => ({
  id,
  question: `Question ${id}?`,
  options: ['negative', 'neutral', 'positive'],
  collaborators,
  reflection,
});

// Entropy H is collaborator 1's for consistent questions, the reflection's otherwise:
//   q1 B 0.2 | q2 C 0.5 (justified) | q3 A 0.2 | q4 dropped, no answer | q5 A 1.0 (justified, all collaborators empty)
//   q6 dropped, no logprobs | q7 dropped, the reflection names no letter | q8 B 0.4
// Pseudo-labeled entropies sorted: 0.2 0.2 0.4 0.5 1.0, so percentile q sits at virtual index q/100 · 4.
const records = [
  question('q1', [say('B', [-0.1, -0.3]), say('B'), say('B'), say('B')]),
  question('q2', [say('A'), say('B'), say('B'), say('B')], say('C', [-0.5])),
  question('q3', [say('A', [-0.2]), say('A'), say('A'), say('A')]),
  question('q4', [silent, silent, silent, silent]),
  question('q5', [silent, silent, silent, silent], say('A', [-1])),
  question('q6', [say('C', null), say('C'), say('C'), say('C')]),
  question('q7', [say('A'), say('C'), say('C'), say('C')], { response: 'I cannot decide.', logprobs: [-0.1] }),
  question('q8', [say('B', [-0.4]), say('B'), say('B'), say('B')]),
];
const input = path.join(dir, 'collaborators.jsonl');
writeFileSync(input, records.map((r) => JSON.stringify(r)).join('\n') + '\n');

const line = (id: string, label: string, entropy: number, consistent: boolean) => ({
  id,
  pseudo_label: label,
  entropy,
  consistent,
});
const q1 = line('q1', 'B', 0.2, true);
const q2 = line('q2', 'C', 0.5, false);
const q3 = line('q3', 'A', 0.2, true);
const q5 = line('q5', 'A', 1, false);
const q8 = line('q8', 'B', 0.4, true);

async function select(...args: string[]) {
  const output = path.join(dir, `selected-${args.join('_').replace(/[^a-z0-9_]/gi, '')}.jsonl`);
  const { stdout } = await flt('semievol', 'select', '--input', input, '--output', output, ...args);
  const text = readFileSync(output, 'utf8');
  return {
    stdout,
    lines: text
      ? text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [],
  };
}

describe('flt semievol select', () => {
  it('keeps entropies at or below the median, ties included, in input order, and reports what it dropped', async () => {
    const { stdout, lines } = await select('--theta', '50'); // index 2 → 0.4
    expect(lines).toEqual([q1, q3, q8]);
    expect(stdout).toContain(
      '8 questions: 4 consistent, 5 pseudo-labeled (dropped: 2 without an answer, 0 cut off before an answer, ' +
        '1 without log-probabilities)',
    );
    expect(stdout).toContain('entropy <= 0.4 (theta 50, among all)');
    expect(stdout).toContain('selected: 3');
  });

  it('theta 0 keeps the tied minimum, theta 100 every pseudo-label, theta 60 interpolates', async () => {
    expect((await select('--theta', '0')).lines).toEqual([q1, q3]);
    expect((await select('--theta', '100')).lines).toEqual([q1, q2, q3, q5, q8]);
    expect((await select('--theta', '60')).stdout).toContain('entropy <= 0.44'); // 0.4 + 0.4 · (0.5 − 0.4)
  });

  it("the authors' variant: strict threshold, and only self-justified questions thresholded", async () => {
    expect((await select('--theta', '50', '--strict')).lines).toEqual([q1, q3]);
    // Self-justified entropies 0.5 and 1.0: the median is 0.75, and every consistent question stays.
    expect((await select('--theta', '50', '--among', 'self-justified')).lines).toEqual([q1, q2, q3, q8]);
  });

  it('rejects a bad line in one sentence naming the line and field, and a bad theta', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(
      bad,
      `${JSON.stringify(records[0])}\n${JSON.stringify({ ...records[1], collaborators: [{ response: 3 }] })}\n`,
    );
    const err = await flt(
      'semievol',
      'select',
      '--input',
      bad,
      '--theta',
      '50',
      '--output',
      path.join(dir, 'x.jsonl'),
    ).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr.trim()).toBe(
      `flt: ${bad} line 2: field "collaborators[0].response" expected string, received number.`,
    );
    const theta = await flt(
      'semievol',
      'select',
      '--input',
      input,
      '--theta',
      '101',
      '--output',
      path.join(dir, 'x.jsonl'),
    ).catch((e) => e);
    expect(theta.stderr).toMatch(/--theta.*expected a number from 0 to 100/);
  });
});
