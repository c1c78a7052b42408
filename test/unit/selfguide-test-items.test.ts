// `evaluation.longItems: drop`: the authors' cut of the evaluation splits (prompt at most 3,000 tokens, stripped
// gold output at most 500), counted with the project's estimate of one token per 3 UTF-8 bytes plus 4 per message.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withinAuthorsLimits } from '../../core/selfguide-test-items';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadRunConfig } from '../../lib/config-file';
import { selfGuideMethod } from '../../lib/methods/selfguide';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';

describe("the authors' limits on test items", () => {
  // The task chat is [system "I", user "x", assistant "y", user input]: 3 × (1 + 4) = 15 estimated tokens before the
  // input, which adds ceil(bytes / 3) + 4. So an input of 8,943 bytes makes 15 + 2,981 + 4 = 3,000 (kept, as theirs
  // keep `<= 3000`) and one of 8,944 bytes 3,001 (dropped).
  const task = { instruction: 'I', examples: [{ input: 'x', output: 'y' }] };

  it('drops an item whose prompt is over 3,000 estimated tokens', () => {
    const items = [
      { input: 'a'.repeat(8943), output: 'o' },
      { input: 'a'.repeat(8944), output: 'o' },
    ];
    expect(withinAuthorsLimits(task, items)).toEqual({ kept: [items[0]], dropped: 1 });
  });

  it('drops an item whose stripped gold output is over 500 estimated tokens (1,500 bytes)', () => {
    const items = [
      { input: 'i', output: ` ${'b'.repeat(1500)}\n` },
      { input: 'i', output: 'b'.repeat(1501) },
      // 500 two-byte characters are 1,000 bytes: 334 tokens, kept; 751 of them are 1,502 bytes: 501, dropped.
      { input: 'i', output: 'é'.repeat(500) },
      { input: 'i', output: 'é'.repeat(751) },
    ];
    expect(withinAuthorsLimits(task, items)).toEqual({ kept: [items[0], items[2]], dropped: 2 });
  });
});

describe('evaluation.longItems: drop in a run', () => {
  // A copy of the demo task1386 whose test split has one item of each kind: fitting, a 10,000-byte input (over
  // 3,000 tokens at 3 bytes each whatever the task chat adds) and a 1,600-byte gold output (534 > 500).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-long-items-'));
  const taskDir = path.join(dir, 'task');
  fs.mkdirSync(taskDir);
  fs.copyFileSync(path.resolve(__dirname, '../../demo/selfguide/task1386/task.json'), path.join(taskDir, 'task.json'));
  const lines = (items: object[]) => items.map((item) => `${JSON.stringify(item)}\n`).join('');
  const fitting = { input: 'Premise: a. <sep> Hypothesis: b.', output: 'neutral' };
  const split = [fitting, { input: 'a'.repeat(10000), output: 'neutral' }, { input: 'x', output: 'o'.repeat(1600) }];
  fs.writeFileSync(path.join(taskDir, 'test.jsonl'), lines(split));
  fs.writeFileSync(path.join(taskDir, 'validation.jsonl'), lines(split.slice(0, 2)));
  const prepared = async (evaluation: string) => {
    const file = path.join(dir, 'run.yaml');
    fs.writeFileSync(
      file,
      'method: selfguide\ntask: t\nproviders: { p: { kind: openai-compatible } }\nmodel: { provider: p, model: m }\n' +
        `fineTune: { backend: { kind: in-context } }\ndata: { task: { format: selfguide-task, path: task } }\n` +
        `evaluation: ${evaluation}\n`,
    );
    const config = loadRunConfig(file);
    if (config.method !== 'selfguide') throw new Error('expected a selfguide config');
    const { input, notes } = await selfGuideMethod.prepare(config, new LocalArtifactStore(path.join(dir, 'artifacts')));
    return { input: input as unknown as SelfGuideRunInput, notes };
  };

  it('leaves out the items over the limits from the test and validation splits, and counts them', async () => {
    const { input, notes } = await prepared('{ longItems: drop }');
    expect([input.test.count, input.longItemsDropped, input.validationSplit?.count]).toEqual([1, 2, 1]);
    expect(notes.join('\n')).toContain("1 of 1 test items scored (2 over the authors' token limits left out)");
    const { input: all } = await prepared('{ testLimit: 5 }');
    expect([all.test.count, all.longItemsDropped, all.validationSplit?.count]).toEqual([3, undefined, 2]);
  });

  it("reports the count in the run's summary", () => {
    const result = {
      task: 't',
      inputs: { generated: 0, redrawnPrompts: 0, filters: { kept: 0, empty: 0, noise: 0, length: 0, duplicate: 0 } },
      synthetic: { pairs: 0, dropped: { 'no-majority': 0, 'not-a-label': 0, balancing: 0 }, tooLongToTrain: 0 },
      evaluations: [],
      longTestItemsDropped: 2,
    } as unknown as SelfGuideRunResult;
    expect(selfGuideMethod.summarize(result)).toContain(
      "test items over the authors' token limits (estimated), left out: 2",
    );
  });
});
