// End to end: a worker process, the provider test double and the CLI, against the real dev server.
import { execFile, type ChildProcess } from 'node:child_process';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { searchAttributes } from '../../core/search-attributes';
import { findTemporalCli } from '../../lib/dev-server';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { outcome } from '../support/exec-outcome';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { temporalAddress, testClient } from '../support/temporal';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const testSplit = path.join(root, 'demo/fpb/test.csv');
const csvRow = (fields: string[]) => fields.map((v) => `"${v.replace(/"/g, '""')}"`).join(',');

describe('flt end to end', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-e2e-'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `e2e-${process.pid}`,
    FLT_E2E_KEY: 'k',
  };
  const flt = (...args: string[]) =>
    run(process.execPath, tsArgs(path.join(root, 'client.ts'), args), { env, cwd: root });
  let double: ProviderDouble;
  let worker: ChildProcess;
  let config: string;
  /** `flt list --task fpb-e2e` split into cells, polled until `seen` holds (visibility is eventually consistent). */
  const listedUntil = async (what: string, seen: (rows: string[][]) => boolean, ...filters: string[]) => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const { stdout } = await flt('list', '--task', 'fpb-e2e', '--limit', '1000', ...filters);
      const rows = stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t'));
      if (seen(rows)) return rows;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`gave up waiting for ${what}`);
  };

  /** `temporal workflow list --query`'s output, polled until it names `id` (or 50 tries have passed). */
  const listedByQuery = async (query: string, id: string) => {
    let listed = '';
    for (let attempt = 0; attempt < 50 && !listed.includes(id); attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 200));
      const args = ['workflow', 'list', '--address', temporalAddress(), '--query', query];
      listed = (await run(findTemporalCli()!, args)).stdout;
    }
    return listed;
  };

  beforeAll(async () => {
    double = await startProviderDouble();
    const { items } = loadSemiEvolCsv(testSplit);
    await double.setGold(items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })));
    worker = spawnTs(path.join(root, 'worker.ts'), [], { env, cwd: root, stdio: 'ignore' });
    config = path.join(home, 'eval.yaml');
    writeFileSync(
      config,
      stringify({
        method: 'evaluate',
        task: 'fpb-e2e',
        providers: {
          double: { kind: 'openai-compatible', baseURL: double.baseURL, apiKeyEnv: 'FLT_E2E_KEY', testDouble: true },
        },
        models: [{ provider: 'double', model: 'sim-model' }],
        data: { test: { format: 'semievol-csv', path: testSplit } },
        execution: { shardSize: 20, parallelShards: 2 },
      }),
    );
  });

  afterAll(async () => {
    worker?.kill('SIGTERM');
    await new Promise((resolve) => (worker?.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    await double?.stop();
  });

  it('validates the config and says the test double is in use', async () => {
    const { stdout } = await flt('validate', config);
    expect(stdout).toMatch(/valid evaluate config/);
    expect(stdout).toMatch(/test: 60 items/);
    expect(stdout).toMatch(/provider test double in use/);
  });

  it('rejects a bad config in one sentence before starting anything', async () => {
    const bad = path.join(home, 'bad.yaml');
    writeFileSync(
      bad,
      'method: evaluate\ntask: x\nproviders: {}\nmodels:\n  - { provider: nowhere, model: m }\n' +
        `data:\n  test: { format: semievol-csv, path: ${testSplit} }\n`,
    );
    const err = await outcome(flt('run', bad));
    expect(err.code).toBe(2);
    expect(err.stderr.trim()).toMatch(
      new RegExp(
        String.raw`^.*bad\.yaml line 5: field "models\[0\]\.provider" ` +
          String.raw`must name a provider under "providers" \(none configured\), got "nowhere"\.$`,
      ),
    );
  });

  it('runs an evaluation through the CLI; the run is listed, searchable and its history shows the stages', async () => {
    const runId = `e2e-${Date.now()}`;
    const { stdout } = await flt('run', config, '--id', runId, '--wait');
    expect(stdout).toContain(`run id: ${runId}`);
    // The link follows TEMPORAL_ADDRESS to the dev server's UI port, 1000 above its gRPC port.
    const [host, port] = temporalAddress().split(':');
    expect(stdout).toContain(`web UI: http://${host}:${Number(port) + 1000}/namespaces/default/workflows/${runId}`);
    expect(stdout).toMatch(/double\/sim-model: accuracy 0\.\d{3} \(\d+\/60, \d+ without an answer\)/);
    const result = JSON.parse((await flt('result', runId, '--json')).stdout);
    expect(result.evaluations[0].score.total).toBe(60);
    expect(result.evaluations[0].score.accuracy).toBeGreaterThan(0.3);
    expect(result.usage.calls).toBe(60);

    expect((await flt('status', runId)).stdout).toMatch(new RegExp(`run ${runId}: COMPLETED`));

    const { client, close } = await testClient();
    try {
      const description = await client.workflow.getHandle(runId).describe();
      expect(description.typedSearchAttributes.get(searchAttributes.method)).toBe('evaluate');
      expect(description.typedSearchAttributes.get(searchAttributes.task)).toBe('fpb-e2e');
      expect(description.typedSearchAttributes.get(searchAttributes.stage)).toBe('done');
      expect(description.typedSearchAttributes.get(searchAttributes.accuracy)).toBeCloseTo(
        result.evaluations[0].score.accuracy,
      );

      const child = await client.workflow.getHandle(`${runId}--evaluate-1`).fetchHistory();
      const activityTypes = child
        .events!.filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
      expect(activityTypes).toEqual([
        'listShards',
        'readShardPage',
        'answerQuestions',
        'answerQuestions',
        'answerQuestions',
        'appendShardResults',
        'scoreAnswers',
      ]);
      // A child carries its run's method, task and base model, and its own stage.
      const childAttributes = (await client.workflow.getHandle(`${runId}--evaluate-1`).describe())
        .typedSearchAttributes;
      expect(childAttributes.get(searchAttributes.method)).toBe('evaluate');
      expect(childAttributes.get(searchAttributes.task)).toBe('fpb-e2e');
      expect(childAttributes.get(searchAttributes.baseModel)).toBe(
        description.typedSearchAttributes.get(searchAttributes.baseModel),
      );
      expect(childAttributes.get(searchAttributes.stage)).toBe('evaluate-1');
    } finally {
      await close();
    }

    // Visibility is eventually consistent: wait until the run is listed by its search attributes.
    expect(
      await listedByQuery(`FltTask = 'fpb-e2e' AND FltMethod = 'evaluate' AND FltStage = 'done'`, runId),
    ).toContain(runId);
    // The run's children are found by their root and stage; `flt list` lists runs, not their children.
    const child = `${runId}--evaluate-1`;
    expect(
      await listedByQuery(`RootWorkflowId = '${runId}' AND FltStage = 'evaluate-1' AND FltTask = 'fpb-e2e'`, child),
    ).toContain(child);
    const runs = (await flt('list', '--task', 'fpb-e2e', '--status', 'Completed', '--limit', '1000')).stdout;
    expect(runs).toContain(runId);
    expect(runs).not.toContain(`${runId}--`);

    // The Web UI's own API (what its pages render) has the run with its search attributes.
    const ui = process.env.FLT_TEST_TEMPORAL_UI!;
    const page = await (
      await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId = '${runId}'`)}`)
    ).text();
    expect(page).toContain(runId);
    expect(page).toContain('FltTask');
    expect(page).toContain('FltAccuracy');
  });

  it('shows progress of a running run and cancels it', async () => {
    // The double holds every model call until released, so the run is provably still running when it is cancelled.
    await double.holdModelCalls();
    try {
      const runId = `e2e-cancel-${Date.now()}`;
      // A seed no other test used: every call is new, none answered from the response cache.
      const held = path.join(home, 'held.yaml');
      writeFileSync(held, readFileSync(config, 'utf8') + 'sampling: { seed: 99 }\n');
      await flt('run', held, '--id', runId);
      await double.waitForHeldModelCalls(1);
      const status = (await flt('status', runId)).stdout;
      expect(status).toMatch(new RegExp(`run ${runId}: RUNNING`));
      expect(status).toMatch(/evaluate-1: \d+\/1/);
      expect(status).toMatch(/calls: 0 paid/);

      // `flt list` takes a status in any letter case.
      for (const spelled of ['RUNNING', 'running', 'Running'])
        await listedUntil(`list --status ${spelled}`, (rows) => rows.some((r) => r[0] === runId), '--status', spelled);
      // The first test's run again, answered from the response cache while the double holds every call: it starts
      // after the held run and ends first, and is listed before it, newest first, with a header line.
      const cached = `e2e-cached-${Date.now()}`;
      await flt('run', config, '--id', cached, '--wait');
      const rows = await listedUntil('the cached run to be listed as completed', (rows) =>
        rows.some((r) => r[0] === cached && r[1] === 'COMPLETED'),
      );
      expect(rows[0]).toEqual(['run id', 'status', 'method', 'task', 'stage', 'score', 'started']);
      const ids = rows.map((r) => r[0]);
      expect(ids.indexOf(cached)).toBeGreaterThan(0);
      expect(ids.indexOf(cached)).toBeLessThan(ids.indexOf(runId));
      const started = rows.slice(1).map((r) => r[6]);
      expect(started).toEqual([...started].sort().reverse());
      expect(rows.find((r) => r[0] === cached)![5]).toMatch(/^accuracy 0\.\d{3}$/);
      // A run with no score yet shows none.
      expect(rows.find((r) => r[0] === runId)![5]).toBe('');
      expect((await flt('cancel', runId)).stdout).toContain(`cancellation requested for ${runId}`);
      expect((await outcome(flt('result', runId))).code).toBe(2);
      expect((await flt('status', runId)).stdout).toMatch(new RegExp(`run ${runId}: CANCELLED`));
    } finally {
      await double.releaseModelCalls();
    }
  });

  it('warns on stderr when the budget is under half the estimate, and starts the run all the same', async () => {
    const runId = `e2e-tight-${Date.now()}`;
    const tight = path.join(home, 'tight.yaml');
    const priced = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_E2E_KEY',
        testDouble: true,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 1 },
      },
    };
    writeFileSync(
      tight,
      stringify({ ...parse(readFileSync(config, 'utf8')), providers: priced, budget: { usd: 0.0001 } }),
    );
    const estimated = /^ {2}total .* (\$\d+\.\d{4})$/m.exec((await flt('estimate', tight)).stdout)![1];
    const { stdout, stderr } = await flt('run', tight, '--id', runId);
    expect(stderr.trim()).toBe(
      `warning: the budget of $0.0001 is under half the estimate of up to ${estimated}; the run starts, and waits ` +
        'for `flt budget` or `flt approve` before the first stage that would cross it.',
    );
    expect(stdout).toContain(`run id: ${runId}`);
    // Started: it waits for budget before its only paid stage, as the warning says, and calls nothing.
    const calls = (await double.requests()).length;
    const { client, close } = await testClient();
    try {
      const handle = client.workflow.getHandle(runId);
      for (let attempt = 0; attempt < 100; attempt++) {
        const described = await handle.describe();
        if (described.typedSearchAttributes.get(searchAttributes.stage) === 'awaiting-approval') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.stage)).toBe('awaiting-approval');
      await handle.cancel();
    } finally {
      await close();
    }
    expect((await double.requests()).length).toBe(calls);
  });

  it('refuses a reused run id whose inputs changed, in one sentence and before any model call', async () => {
    const runId = `e2e-reused-${Date.now()}`;
    const { items } = loadSemiEvolCsv(testSplit);
    const data = path.join(home, 'reused.csv');
    const writeData = (rows: typeof items) =>
      writeFileSync(
        data,
        [
          'question,options,answer',
          ...rows.map((i) => csvRow([i.question, JSON.stringify(i.options), i.answer!])),
        ].join('\n') + '\n',
      );
    const reused = path.join(home, 'reused.yaml');
    writeFileSync(reused, readFileSync(config, 'utf8').replace(testSplit, data) + 'sampling: { seed: 41 }\n');
    writeData(items.slice(0, 5));
    await flt('run', reused, '--id', runId, '--wait');

    // The same inputs again under the same id: allowed, and every answer is the finished one.
    const again = await flt('run', reused, '--id', runId, '--wait');
    expect(again.stdout).toMatch(/accuracy 0\.\d{3} \(\d+\/5,/);

    // Other questions under the same id would be answered with the first run's results: refused.
    writeData(items.slice(5, 10));
    const calls = (await double.requests()).length;
    const refused = await outcome(flt('run', reused, '--id', runId));
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(
      new RegExp(`^Run id "${runId}" was already used with other inputs \\(changed: test\\); [^\\n]*\\.$`),
    );
    expect((await double.requests()).length).toBe(calls);
  });
});
