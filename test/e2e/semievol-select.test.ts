// `flt semievol select --input`: stages 3-5 recomputed from recorded outputs, checked against hand-computed selections.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

  it("--answers authors: identical unusable answers agree, and '' is a pseudo-label, as in their code", async () => {
    const { stdout, lines } = await select('--theta', '100', '--answers', 'authors');
    const q4 = line('q4', '', 0.9, true);
    const q7 = line('q7', '', 0.1, false);
    expect(lines).toEqual([q1, q2, q3, q4, { ...q4, id: 'q5' }, q7, q8]);
    expect(stdout).toContain('8 questions: 6 consistent, 7 pseudo-labeled (dropped: 0 without an answer');
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

  it('asks for --theta with --input in one sentence, writing nothing', async () => {
    const output = path.join(dir, 'no-theta.jsonl');
    const err = await flt('semievol', 'select', '--input', input, '--output', output).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr.trim()).toBe(
      '--theta is required with --input (the percentile of entropies to keep, 0 to 100); ' +
        "only --run takes the run's own.",
    );
    expect(existsSync(output)).toBe(false);
  });
});

describe('flt semievol select on open numeric questions (options: [])', () => {
  const answer = (text: string, logprobs: number[] = [-0.9]) => ({ response: `Answer: ${text}`, logprobs });
  const open = (id: string, collaborators: object[], reflection: object | null = null) => ({
    id,
    question: `Numeric question ${id}?`,
    options: [],
    collaborators,
    reflection,
  });
  // Every collaborator is compared with collaborator 1 (numbers within 1% of the larger magnitude, 1e-9 at zero):
  //   n1 consistent, 1,234.5 ~ $1234.50 ~ 1240 ~ 1234, H 0.2 | n2 consistent, 99 and 101 each within 1% of 100, H 0.6
  //   n3 200 vs 197.99 just over 1%: justified 198, H 0.4 | n4 consistent, 12% = 0.12 ~ 0.1205, H 0.3
  //   n5 consistent, 3. = 3 = 3.0, H 0.5 | n6 "about 12" is no number: justification gives none, dropped
  //   n7 consistent, 0 ~ 0.000000001, H 0.9 | n8 0 vs 0.00001: justified 0, H 0.7
  //   n9 consistent as text, "about twelve" ~ "About twelve!", H 0.8 | n10 no "Answer:" line anywhere, dropped
  // Pseudo-labeled entropies sorted: 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9; theta 50 interpolates 0.5 and 0.6.
  const openRecords = [
    open('n1', [answer('1,234.5', [-0.1, -0.3]), answer('$1234.50'), answer('1240'), answer('1234')]),
    open('n2', [answer('100', [-0.6]), answer('99'), answer('101')]),
    open('n3', [answer('200'), answer('197.99')], answer('198', [-0.4])),
    open('n4', [answer('12%', [-0.3]), answer('0.12'), answer('0.1205')]),
    open('n5', [answer('3.', [-0.5]), answer('3'), answer('3.0')]),
    open('n6', [answer('12'), answer('about 12')], { response: 'Not sure.', logprobs: [-0.1] }),
    open('n7', [answer('0'), answer('0.000000001')]),
    open('n8', [answer('0'), answer('0.00001')], answer('0', [-0.7])),
    open('n9', [answer('about twelve', [-0.8]), answer('About twelve!')]),
    open('n10', [
      { response: '42', logprobs: [-0.1] },
      { response: '42', logprobs: [-0.1] },
    ]),
  ];
  const openInput = path.join(dir, 'open.jsonl');
  writeFileSync(openInput, openRecords.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const openSelect = async (theta: string) => {
    const output = path.join(dir, `open-${theta}.jsonl`);
    const { stdout } = await flt('semievol', 'select', '--input', openInput, '--output', output, '--theta', theta);
    const text = readFileSync(output, 'utf8').trim();
    return { stdout, lines: text ? text.split('\n').map((l) => JSON.parse(l)) : [] };
  };

  it("labels each question with collaborator 1's answer, or the justification's, and selects by entropy", async () => {
    const { stdout, lines } = await openSelect('50');
    expect(lines).toEqual([
      line('n1', '1,234.5', 0.2, true),
      line('n3', '198', 0.4, false),
      line('n4', '12%', 0.3, true),
      line('n5', '3.', 0.5, true),
    ]);
    expect(stdout).toContain(
      '10 questions: 6 consistent, 8 pseudo-labeled (dropped: 2 without an answer, 0 cut off before an answer, ' +
        '0 without log-probabilities)',
    );
    expect(stdout).toMatch(/entropy <= 0\.5(4999+\d*|5)\b/);
  });

  it('keeps every pseudo-label at theta 100, the tolerance and zero cases included', async () => {
    expect((await openSelect('100')).lines).toEqual([
      line('n1', '1,234.5', 0.2, true),
      line('n2', '100', 0.6, true),
      line('n3', '198', 0.4, false),
      line('n4', '12%', 0.3, true),
      line('n5', '3.', 0.5, true),
      line('n7', '0', 0.9, true),
      line('n8', '0', 0.7, false),
      line('n9', 'about twelve', 0.8, true),
    ]);
  });
});

describe('flt semievol select on recorded token texts and finish reasons', () => {
  // r1: the answer line's tokens have logprobs -0.1 and -0.3 (H 0.2 over the span, 1.8 over the response);
  // r2: every response cut off by max tokens before an answer line, so it counts as cut off, not as unanswered.
  const spelled = (tokens: string[], logprobs: number[], finishReason = 'stop') => ({
    response: tokens.join(''),
    logprobs,
    tokens,
    finishReason,
  });
  const reasoned = spelled(['Long reasoning. ', 'Answer: ', 'B'], [-5, -0.1, -0.3]);
  const cutOff = spelled(['Long reasoning that never', ' ends'], [-0.2, -0.2], 'length');
  const recorded = [question('r1', [reasoned, reasoned, reasoned]), question('r2', [cutOff, cutOff, cutOff], cutOff)];
  const spelledInput = path.join(dir, 'spelled.jsonl');
  writeFileSync(spelledInput, recorded.map((r) => JSON.stringify(r)).join('\n') + '\n');

  it('reads tokens and finishReason: the answer-span entropy and the cut-off count use them', async () => {
    const output = path.join(dir, 'spelled-out.jsonl');
    const args = ['--input', spelledInput, '--output', output, '--theta', '100', '--entropy-over', 'answer-span'];
    const { stdout } = await flt('semievol', 'select', ...args);
    const text = readFileSync(output, 'utf8').trim();
    const lines = text ? text.split('\n').map((l) => JSON.parse(l)) : [];
    expect(lines).toEqual([line('r1', 'B', 0.2, true)]);
    expect(stdout).toContain('0 without an answer, 1 cut off before an answer');
  });
});
