// `flt review`: a SemiEvol run and a SELF-GUIDE run with review on, each held by the run itself before its fine-tune
// until the operator's decisions arrive. Exported through the CLI, refused when the edited file is wrong (the run
// keeps waiting), applied with some items rejected, and then each run trains on exactly the accepted items.
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { Client } from '@temporalio/client';
import type { ReviewItem } from '../../core/review';
import { searchAttributes } from '../../core/search-attributes';
import { controlQuery } from '../../core/workflow-messages';
import { defaultArtifactStore } from '../../lib/artifacts';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { outcome } from '../support/exec-outcome';
import { fpbSampleRun } from '../support/fpb-sample';
import type { ProviderDouble } from '../support/provider-double';
import { temporalAddress, testClient } from '../support/temporal';

const exec = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const splits = { labeled: 8, unlabeled: 24, test: 6 };

describe('flt review', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-review-'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `review-${process.pid}`,
    FLT_REVIEW_KEY: 'k',
  };
  const run = (...args: string[]) =>
    exec(process.execPath, tsArgs(path.join(root, 'client.ts'), args), { env, cwd: root, maxBuffer: 1 << 24 });
  const flt = (...args: string[]) => run(...args).then((r) => r.stdout);
  const store = defaultArtifactStore(env);
  const semievolRun = `review-semievol-${process.pid}`;
  const selfGuideRun = `review-selfguide-${process.pid}`;
  let double: ProviderDouble;
  let worker: ChildProcess;
  let client: Client;
  let closeClient: () => Promise<void>;

  const provider = () => ({
    double: { kind: 'openai-compatible', baseURL: double.baseURL, apiKeyEnv: 'FLT_REVIEW_KEY', testDouble: true },
  });

  /** Polls until the run waits for a review: the run holds that state until decisions arrive. */
  async function reviewAwaited(runId: string) {
    for (let attempt = 0; attempt < 3000; attempt++) {
      const state = await client.workflow
        .getHandle(runId)
        .query(controlQuery)
        .catch(() => null);
      if (state?.review) return state.review;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`run ${runId} never waited for a review`);
  }

  async function listedAs(stage: string, runId: string): Promise<void> {
    for (let attempt = 0; attempt < 300; attempt++) {
      if ((await flt('list', '--stage', stage)).includes(runId)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`flt list --stage ${stage} never listed ${runId}`);
  }

  const readItems = (file: string): ReviewItem[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  const writeItems = (file: string, items: object[]) =>
    writeFileSync(file, items.map((item) => `${JSON.stringify(item)}\n`).join(''));

  beforeAll(async () => {
    let data: Record<string, { format: string; path: string }>;
    ({ data, double } = await fpbSampleRun(home, splits));
    worker = spawnTs(path.join(root, 'worker.ts'), [], { env, cwd: root, stdio: 'ignore' });
    ({ client, close: closeClient } = await testClient());
    const backend = { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 };
    const semievol = path.join(home, 'semievol.yaml');
    writeFileSync(
      semievol,
      stringify({
        method: 'semievol',
        task: 'fpb-review',
        providers: provider(),
        model: { provider: 'double', model: 'sim-model' },
        data,
        fineTune: { backend },
        semievol: { selection: { review: true } },
        execution: { shardSize: 10, parallelShards: 3 },
      }),
    );
    const selfguide = path.join(home, 'selfguide.yaml');
    writeFileSync(
      selfguide,
      stringify({
        method: 'selfguide',
        task: 'task190',
        providers: provider(),
        model: { provider: 'double', model: 'sim-model' },
        fineTune: { backend, epochChoice: 'last' },
        data: { task: { format: 'selfguide-task', path: path.join(root, 'demo/selfguide/task190') } },
        settings: { epochs: 1 },
        generation: { rounds: 2, promptsPerRound: 10 },
        annotation: { samples: 5, review: true },
        evaluation: { testLimit: 3 },
        execution: { shardSize: 10, parallelShards: 3 },
      }),
    );
    await flt('run', semievol, '--id', semievolRun);
    await flt('run', selfguide, '--id', selfGuideRun);
  });

  afterAll(async () => {
    worker?.kill('SIGTERM');
    await new Promise((resolve) => (worker?.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    await double?.stop();
    await closeClient?.();
  });

  it('holds a SemiEvol run before evolve, refuses a wrong file, then trains M_evol on the accepted only', async () => {
    const awaited = await reviewAwaited(semievolRun);
    expect(awaited).toMatchObject({ stage: 'evolve', what: 'pseudo-labels' });
    const handle = client.workflow.getHandle(semievolRun);
    expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.stage)).toBe('awaiting-review');
    const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain(`**Awaiting review**: ${awaited.items} pseudo-labels before stage`);
    expect(metadata.currentDetails).toContain(`\`flt review ${semievolRun} --export FILE\``);

    expect(await flt('status', semievolRun)).toContain(
      `awaiting review: ${awaited.items} pseudo-labels before stage "evolve". ` +
        `Run \`flt review ${semievolRun} --export FILE\``,
    );
    // Visibility catches up with the run's search attributes on its own time: polled, the run holds the state.
    await listedAs('awaiting-review', semievolRun);

    const file = path.join(home, 'semievol-review.jsonl');
    expect(await flt('review', semievolRun, '--export', file)).toContain(
      `wrote the ${awaited.items} pseudo-labels that stage "evolve" of ${semievolRun} would train on to ${file}`,
    );
    const items = readItems(file);
    expect(items).toHaveLength(awaited.items);
    expect(items.every((i) => i.decision === 'accept' && typeof i.question === 'string')).toBe(true);
    // A second export would overwrite decisions already made there.
    expect((await outcome(run('review', semievolRun, '--export', file))).stderr).toContain(
      `${file} exists; export to a new file`,
    );

    // Refused, naming the line; nothing is sent, and the run still waits.
    const edited = path.join(home, 'semievol-edited.jsonl');
    writeItems(edited, [{ ...items[0], pseudo_label: items[0].pseudo_label === 'A' ? 'B' : 'A' }, ...items.slice(1)]);
    const refused = await outcome(run('review', semievolRun, '--apply', edited));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${edited} line 1: "pseudo_label" of item ${items[0].id} differs`);
    expect((await handle.query(controlQuery)).review).toMatchObject({ stage: 'evolve' });

    const rejected = items.slice(0, 2).map((i) => i.id);
    writeItems(
      file,
      items.map((i) => (rejected.includes(i.id) ? { ...i, decision: 'reject' } : i)),
    );
    expect(await flt('review', semievolRun, '--apply', file)).toContain(
      `run ${semievolRun} took the review: ${items.length - 2} pseudo-labels accepted, 2 rejected`,
    );
    expect((await outcome(run('review', semievolRun, '--export', path.join(home, 'again.jsonl')))).stderr).toMatch(
      new RegExp(`Run ${semievolRun} is (not waiting for a review|COMPLETED)`),
    );

    const result = await handle.result();
    expect(result.pseudoLabels.review).toMatchObject({ accepted: items.length - 2, rejected: 2 });
    expect(result.pseudoLabels.counts.selected).toBe(items.length - 2);
    expect(await flt('result', semievolRun)).toMatch(
      new RegExp(
        `^ *selected: ${items.length} with entropy .*; in review the operator accepted ${items.length - 2} ` +
          'and rejected 2$',
        'm',
      ),
    );
    // The paper's preset trains M_evol on D_L and the accepted pseudo-labels, none of the rejected.
    const training = (await store.lookup(`runs/${semievolRun}/evolve/training`))!;
    expect(training.count).toBe(splits.labeled + items.length - 2);
    const taught = JSON.stringify(await store.readAll(training));
    for (const item of items) {
      const question = JSON.stringify(item.question as string).slice(1, -1);
      expect([item.id, taught.includes(question)]).toEqual([item.id, !rejected.includes(item.id)]);
    }
    const decisions = await store.readAll<{ id: string; decision: string }>(result.pseudoLabels.review!.decisions);
    expect(decisions.filter((d) => d.decision === 'reject').map((d) => d.id)).toEqual(rejected);

    // Resumed, the run reaches the very same items: it takes the recorded decisions instead of waiting again (a run
    // that waited would never end, and this test would time out).
    const resumed = `${semievolRun}-again`;
    await flt('resume', semievolRun, '--id', resumed);
    const again = await client.workflow.getHandle(resumed).result();
    expect(again.pseudoLabels.review).toEqual(result.pseudoLabels.review);
  });

  it('holds a SELF-GUIDE run before fine-tuning, then fine-tunes and runs Self-ICL on the accepted pairs', async () => {
    const awaited = await reviewAwaited(selfGuideRun);
    expect(awaited).toMatchObject({ stage: 'fine-tune', what: 'synthetic pairs' });
    const file = path.join(home, 'selfguide-review.jsonl');
    await flt('review', selfGuideRun, '--export', file);
    const items = readItems(file);
    expect(items.map((i) => i.id)).toEqual(items.map((_, n) => String(n + 1)));

    const missing = path.join(home, 'selfguide-short.jsonl');
    writeItems(missing, items.slice(1));
    expect((await outcome(run('review', selfGuideRun, '--apply', missing))).stderr).toContain(
      `${missing} has no line for item 1: every exported item needs a decision.`,
    );

    const rejected = items.filter((_, n) => n % 3 === 0);
    writeItems(
      file,
      items.map((i) => (rejected.includes(i) ? { ...i, decision: 'reject' } : i)),
    );
    await flt('review', selfGuideRun, '--apply', file);
    const result = await client.workflow.getHandle(selfGuideRun).result();
    const accepted = items.length - rejected.length;
    expect(result.synthetic.review).toMatchObject({ accepted, rejected: rejected.length });
    expect(result.synthetic.pairs).toBe(accepted);
    const pairs = await store.readAll<{ input: string }>(result.synthetic.data);
    expect(pairs.map((p) => p.input)).toEqual(items.filter((i) => !rejected.includes(i)).map((i) => i.input));
    const training = (await store.lookup(`runs/${selfGuideRun}/review/fine-tune/training`))!;
    expect(training.count).toBe(accepted - result.synthetic.tooLongToTrain);
  });
});
