// Sharded stages continue as new when the server suggests it, so no execution's history grows with the number of
// shards. A dev server of its own, with the suggestion threshold lowered to a few dozen events, makes every sharded
// stage of a SemiEvol run roll over several times; the run must end exactly as the same run on the ordinary server.
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import type { ProvidersConfig } from '../../core/config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { freePort, startDevServer, type DevServer } from '../../lib/dev-server';
import { controlQuery, pauseSignal, unpauseSignal } from '../../core/workflow-messages';
import type { EvaluateModelInput, ModelEvaluation } from '../../workflows/evaluate';
import type { SemievolRunResult } from '../../workflows/semievol';
import { childId } from '../../workflows/shared';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { tempDeps, temporalAddress, workflowBundle } from '../support/temporal';

jest.setTimeout(300_000);

const root = path.resolve(__dirname, '../..');
const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`), {
    requireAnswer: split !== 'unlabeled',
  }).items;
const labeled = fpb('labeled').slice(0, 12);
const unlabeled = fpb('unlabeled').slice(0, 40);
const test = fpb('test').slice(0, 24);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));

/** The server suggests continue-as-new past this many events in an execution. */
const suggestAfter = 40;
const shardedStages = [
  'propagate',
  'collaborate',
  'justify',
  'evaluate-vanilla',
  'evaluate-sft',
  'evaluate-semievol',
  'evaluate-rag',
];

describe('sharded stages continue as new', () => {
  let server: DevServer;
  let double: ProviderDouble;
  let providers: ProvidersConfig;

  beforeAll(async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'flt-continue-as-new-'));
    server = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      dbFile: path.join(home, 'temporal.sqlite'),
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': suggestAfter },
    });
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 20 }, deterministicIds: true },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
        maxConcurrency: 4,
      },
    };
  });
  afterAll(async () => {
    await double?.stop();
    await server?.stop();
  });

  /** Runs the same SemiEvol run (2 questions a shard) on a server, with a worker and data home of its own. */
  async function runOn(
    address: string,
    runId: string,
  ): Promise<{ result: SemievolRunResult; client: Client; close: () => Promise<void> }> {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const input = await semievolTestInput(
      deps.store,
      runId,
      providers,
      { labeled, unlabeled, test },
      {
        fineTune: {
          backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.1 },
          hyperparameters: { epochs: 1 },
          finalHyperparameters: { epochs: 1 },
        },
        options: {
          propagation: { retriever: { kind: 'bm25' } },
          collaboration: { maxTokens: 32 },
          justification: { maxTokens: 32 },
        },
        sampling: { temperature: 0, maxTokens: 32, seed: 11 },
        execution: { shardSize: 2, parallelShards: 2 },
      },
    );
    const connection = await NativeConnection.connect({ address });
    const clientConnection = await Connection.connect({ address });
    const client = new Client({ connection: clientConnection });
    const taskQueue = `continue-as-new-${Math.random().toString(36).slice(2, 8)}`;
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities(deps),
    });
    try {
      const result = await worker.runUntil(
        client.workflow.execute('semievolRun', { taskQueue, workflowId: runId, args: [input] }),
      );
      return { result, client, close: () => clientConnection.close() };
    } finally {
      await connection.close();
    }
  }

  const executionsOf = async (client: Client, workflowId: string): Promise<WorkflowExecutionInfo[]> => {
    const executions: WorkflowExecutionInfo[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = ${JSON.stringify(workflowId)}` }))
      executions.push(execution);
    return executions;
  };

  /** The events after the first workflow task the server started with its continue-as-new suggestion. */
  const eventsAfterSuggestion = (history: temporal.api.history.v1.IHistory) => {
    const events = history.events ?? [];
    const at = events.findIndex((e) => e.workflowTaskStartedEventAttributes?.suggestContinueAsNew);
    return at < 0 ? undefined : events.slice(at + 1);
  };
  const activitiesScheduled = (events: temporal.api.history.v1.IHistoryEvent[]) =>
    events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);

  it('rolls each sharded stage over, starts no shard past the suggestion, ends as on the ordinary server', async () => {
    const runId = `rollover-${Date.now()}`;
    const rolled = await runOn(server.address, runId);
    const reference = await runOn(temporalAddress(), runId);
    try {
      for (const stage of shardedStages) {
        const executions = await executionsOf(rolled.client, childId(runId, stage));
        // 20 shards of D_U (12 of the test split), about 6 events each: several executions per stage.
        expect(executions.length).toBeGreaterThanOrEqual(2);
        expect(executions.filter((e) => e.status.name === 'CONTINUED_AS_NEW')).toHaveLength(executions.length - 1);
        const [only] = await executionsOf(reference.client, childId(runId, stage));
        expect(only.status.name).toBe('COMPLETED');
        for (const execution of executions) {
          // No execution's history grows with the shards: each is shorter than the one execution without rollovers.
          expect(execution.historyLength).toBeLessThan(only.historyLength);
          if (execution.status.name !== 'CONTINUED_AS_NEW') continue;
          // Past the suggestion the stage starts no shard: it waits for those in flight (one per lane), records
          // their results and continues. Counted by event, not by history length, which varies with how the
          // server batches completions into workflow tasks.
          const history = await rolled.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
          const after = eventsAfterSuggestion(history);
          expect(after).not.toBeUndefined();
          expect(activitiesScheduled(after!)).toEqual(['appendShardResults']);
          expect(after!.filter((e) => e.activityTaskCompletedEventAttributes).length).toBeLessThanOrEqual(2 + 1);
        }
      }

      // Same pseudo-labels, same selection, same verdicts (content-addressed: same bytes) as without rollovers.
      expect(rolled.result.pseudoLabels).toEqual(reference.result.pseudoLabels);
      for (const name of ['vanilla', 'sft', 'semievol', 'rag'] as const) {
        expect(rolled.result.evaluations[name]!.score).toEqual(reference.result.evaluations[name]!.score);
        expect(rolled.result.evaluations[name]!.score.total).toBe(24);
      }
      expect(rolled.result.pseudoLabels.counts.questions).toBe(40);
    } finally {
      await rolled.close();
      await reference.close();
    }
  });

  it('a stage paused when it rolls over stays paused, and pays for nothing until unpaused', async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const items = test.slice(0, 8);
    const runId = `paused-rollover-${Date.now()}`;
    const input: EvaluateModelInput = {
      runId,
      stage: 'evaluate',
      model: { provider: 'double', model: 'sim-model' },
      test: await deps.store.writeJsonl(items),
      providers,
      sampling: { temperature: 0, maxTokens: 16, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 1, parallelShards: 2 },
    };
    const connection = await NativeConnection.connect({ address: server.address });
    const clientConnection = await Connection.connect({ address: server.address });
    const client = new Client({ connection: clientConnection });
    const taskQueue = `paused-rollover-${Math.random().toString(36).slice(2, 8)}`;
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities(deps),
    });
    const chats = async () =>
      (await double.requests()).filter((r) => r.path.endsWith('/chat/completions') && r.status === 200).length;
    await double.clearRequests();
    await double.holdModelCalls();
    try {
      await worker.runUntil(async () => {
        const handle = await client.workflow.start('evaluateModel', { taskQueue, workflowId: runId, args: [input] });
        await double.waitForHeldModelCalls(2); // the first two shards are in flight
        const first = (await handle.describe()).runId;
        // Paused while both shards are in flight; more signals push the history past the server's threshold, so
        // the stage continues as new as soon as the two shards finish.
        while ((await handle.describe()).historyLength <= suggestAfter) await handle.signal(pauseSignal);
        await double.releaseModelCalls();
        const latest = client.workflow.getHandle(runId);
        while ((await latest.describe()).runId === first) await new Promise((resolve) => setTimeout(resolve, 100));

        expect((await latest.query(controlQuery)).paused).toBe(true);
        const rolled = await latest.describe();
        expect(rolled.raw.pendingActivities ?? []).toHaveLength(0);
        expect(await chats()).toBe(2);

        await latest.signal(unpauseSignal);
        const evaluation: ModelEvaluation = await latest.result();
        expect(evaluation.score.total).toBe(8);
        expect(await chats()).toBe(8); // every item answered once: nothing lost, nothing paid twice
      });
    } finally {
      await double.releaseModelCalls();
      await connection.close();
      await clientConnection.close();
    }
  });
});
