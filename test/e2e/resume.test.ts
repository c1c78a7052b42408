// `flt resume`: a failed run resumed pays only for what did not finish; a finished run resumed with a changed
// setting pays only for what the change touches.
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { outcome } from '../support/exec-outcome';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { temporalAddress, testClient } from '../support/temporal';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const shared = path.resolve(root, '../shared/data/semievol/fpb');
jest.setTimeout(300_000);

describe('flt resume', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-resume-'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `resume-${process.pid}`,
    FLT_RESUME_KEY: 'k',
  };
  const flt = (...args: string[]) =>
    run(process.execPath, tsArgs(path.join(root, 'client.ts'), args), { env, cwd: root });
  let double: ProviderDouble;
  let worker: ChildProcess;
  let config: string;

  const sample = (split: string, n: number): McqItem[] => {
    const items = loadSemiEvolCsv(path.join(shared, `${split}.csv`)).items.slice(0, n);
    const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
    writeFileSync(
      path.join(home, `${split}.csv`),
      [
        'id,question,options,answer',
        ...items.map((i) => [i.id, i.question, JSON.stringify(i.options), i.answer!].map(quote).join(',')),
      ].join('\n') + '\n',
    );
    return items;
  };
  const requests = async (method: string, pattern: RegExp) =>
    (await double.requests()).filter((r) => r.method === method && pattern.test(r.path) && r.status === 200).length;

  beforeAll(async () => {
    const items = [...sample('labeled', 12), ...sample('unlabeled', 20), ...sample('test', 10)];
    double = await startProviderDouble({
      config: { fineTune: { stepMs: 50 } },
      gold: items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
    });
    worker = spawnTs(path.join(root, 'worker.ts'), [], { env, cwd: root, stdio: 'ignore' });
    config = path.join(home, 'semievol.yaml');
    const data = (split: string) => ({ format: 'semievol-csv', path: path.join(home, `${split}.csv`) });
    writeFileSync(
      config,
      stringify({
        method: 'semievol',
        task: 'fpb-resume',
        providers: {
          double: { kind: 'openai-compatible', baseURL: double.baseURL, apiKeyEnv: 'FLT_RESUME_KEY', testDouble: true },
        },
        model: { provider: 'double', model: 'sim-model' },
        data: { labeled: data('labeled'), unlabeled: data('unlabeled'), test: data('test') },
        fineTune: {
          backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
          hyperparameters: { epochs: 1 },
        },
        semievol: { collaboration: { maxTokens: 64 }, justification: { maxTokens: 64 } },
        execution: { shardSize: 10, parallelShards: 2 },
      }),
    );
  });
  afterAll(async () => {
    worker?.kill('SIGTERM');
    await double?.stop();
  });

  it('resumes a run whose fine-tune job failed, paying only for what did not finish', async () => {
    await double.configure({ failNextJobs: 1 }); // the warm-up job fails at the provider
    const runId = `resume-failed-${Date.now()}`;
    const failed = await outcome(flt('run', config, '--id', runId, '--wait'));
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/simulated training failure/);
    const chatsBefore = await requests('POST', /\/chat\/completions$/);
    const jobsBefore = await requests('POST', /\/fine_tuning\/jobs$/);

    const resumed = await flt('resume', runId);
    const newRunId = /run id: (\S+)/.exec(resumed.stdout)![1];
    expect(newRunId).toMatch(new RegExp(`^${runId}-resumed-`));
    const result = JSON.parse((await flt('result', newRunId, '--json')).stdout);
    expect(result.evaluations.semievol.score.total).toBe(10);
    // A new warm-up job (the failed one is never reused) and the evolve job; the run's calls are new work.
    expect((await requests('POST', /\/fine_tuning\/jobs$/)) - jobsBefore).toBe(2);
    expect(await requests('POST', /\/chat\/completions$/)).toBeGreaterThan(chatsBefore);

    const { client, close } = await testClient();
    try {
      expect((await client.workflow.getHandle(newRunId).describe()).memo).toMatchObject({ resumedFrom: runId });
    } finally {
      await close();
    }

    // Resumed again with a different theta: collaboration and justification come from the cache, the warm-up job
    // is found by its content; only the evolve job (its training set changed) and the evaluations that follow it run.
    const chats = await requests('POST', /\/chat\/completions$/);
    const jobs = await requests('POST', /\/fine_tuning\/jobs$/);
    const again = await flt('resume', newRunId, '--set', 'semievol.selection.theta=100');
    const againId = /run id: (\S+)/.exec(again.stdout)![1];
    const changed = JSON.parse((await flt('result', againId, '--json')).stdout);
    expect(changed.pseudoLabels.counts.selected).toBeGreaterThan(result.pseudoLabels.counts.selected);
    expect((await requests('POST', /\/fine_tuning\/jobs$/)) - jobs).toBe(1);
    const paid = (await requests('POST', /\/chat\/completions$/)) - chats;
    expect(paid).toBeLessThanOrEqual(10); // the evolved model's evaluation on the 10 test questions, nothing else

    // Resumed --from justify: collaboration comes from the cache and the warm-up job is found again; justification,
    // the evolve job and all four evaluations pay anew.
    const chatsBeforeRerun = await requests('POST', /\/chat\/completions$/);
    const jobsBeforeRerun = await requests('POST', /\/fine_tuning\/jobs$/);
    const rerun = await flt('resume', againId, '--from', 'justify');
    expect(rerun.stdout).toContain('stages before justify are reused; justify and later stages pay anew');
    const rerunId = /run id: (\S+)/.exec(rerun.stdout)![1];
    const rerunResult = JSON.parse((await flt('result', rerunId, '--json')).stdout);
    expect(rerunResult.evaluations.semievol.score.total).toBe(10);
    expect((await requests('POST', /\/fine_tuning\/jobs$/)) - jobsBeforeRerun).toBe(1);
    expect((await requests('POST', /\/chat\/completions$/)) - chatsBeforeRerun).toBe(
      changed.pseudoLabels.justified + 4 * 10,
    );
    const { client: c, close: closeClient } = await testClient();
    try {
      expect((await c.workflow.getHandle(rerunId).describe()).memo).toMatchObject({
        resumedFrom: againId,
        rerunFrom: 'justify',
      });
    } finally {
      await closeClient();
    }
    const wrongStage = await outcome(flt('resume', againId, '--from', 'selection'));
    expect(wrongStage.stderr).toContain(
      '--from selection: expected one of the stages `flt watch` shows for a semievolRun: ' +
        'warm-up, propagate, collaborate, justify, select, evolve, evaluate, diagnose.',
    );
    // A value the config schema refuses starts nothing (it used to start a run that hung on theta "abc").
    const badValue = (await flt('resume', againId, '--set', 'semievol.selection.theta=abc').catch((e) => e)) as {
      stdout?: string;
      stderr: string;
    };
    expect(badValue.stderr).toContain(
      '--set semievol.selection.theta=abc: semievol.selection.theta expected number, received string.',
    );
    expect(badValue.stdout ?? '').not.toMatch(/run id:/);
  });
});
