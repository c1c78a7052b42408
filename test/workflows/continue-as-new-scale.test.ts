// Continue-as-new at scale: 2,000,000 questions' worth of shard references (8,000 shards of 250, SemiEvol's shard
// size) taken through the project's shard loop on a dev server that suggests continue-as-new after 200 events. Each
// shard's work is done in a test workflow (test/fixtures/synthetic-shards), so no model is called and no activity
// runs per shard; what is measured is what the loop itself carries. Every payload the server recorded (a start or
// continue-as-new input, an activity's input or result, the final result) must stay under 256 KB, far below the
// server's 2 MB limit, however many shards there are.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import type { Shard } from '../../core/types';
import { freePort, startDevServer, type DevServer } from '../../lib/dev-server';
import { tempDeps } from '../support/temporal';

jest.setTimeout(600_000);

const questions = 2_000_000;
const shardSize = 250;
const payloadLimit = 256 * 1024;
/** The server suggests continue-as-new past this many events: a few executions for the whole stage. */
const suggestAfter = 200;

/** A well-formed reference to a shard of `shardSize` questions; nothing reads it, so no blob is written. */
function syntheticShard(index: number, of: number): Shard {
  const sha256 = createHash('sha256').update(`synthetic shard ${index}`).digest('hex');
  return {
    index,
    of,
    items: { uri: `artifact:sha256/${sha256}`, sha256, count: shardSize, bytes: shardSize * 120 },
  };
}

/** Every `payloads` list in an event (inputs, results, details), as [where, bytes]. */
function payloadSizes(value: unknown, where: string, sizes: [string, number][] = []): [string, number][] {
  if (!value || typeof value !== 'object' || ArrayBuffer.isView(value)) return sizes;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'payloads' && Array.isArray(child))
      sizes.push([where, child.reduce((sum: number, p: { data?: Uint8Array }) => sum + (p.data?.length ?? 0), 0)]);
    else payloadSizes(child, key.endsWith('Attributes') ? key.replace(/EventAttributes$/, '') : where, sizes);
  }
  return sizes;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
const payloadsIn = (history: History) => (history.events ?? []).flatMap((event) => payloadSizes(event, 'event'));

/** The largest payload and whether it is under the limit, so a failure names the event that carried it. */
function largest(sizes: [string, number][]): { where: string; bytes: number; under: boolean } {
  const [where, bytes] = sizes.reduce((max, entry) => (entry[1] > max[1] ? entry : max), ['none', 0]);
  return { where, bytes, under: bytes < payloadLimit };
}
const under = expect.objectContaining({ under: true });

describe('continue-as-new at 2,000,000 questions', () => {
  let server: DevServer;

  beforeAll(async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'flt-scale-'));
    server = await startDevServer({
      port: await freePort(),
      uiPort: await freePort(),
      dbFile: path.join(home, 'temporal.sqlite'),
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': suggestAfter },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps every payload under 256 KB and every shard result, in order', async () => {
    const deps = tempDeps();
    const of = questions / shardSize;
    const shards = Array.from({ length: of }, (_, index) => syntheticShard(index, of));
    const input = { list: { shards: await deps.store.writeJsonl(shards), items: questions }, parallelShards: 8 };

    const connection = await NativeConnection.connect({ address: server.address });
    const clientConnection = await Connection.connect({ address: server.address });
    const client = new Client({ connection: clientConnection });
    const taskQueue = `scale-${Math.random().toString(36).slice(2, 8)}`;
    const workflowId = `synthetic-${Date.now()}`;
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: require.resolve('../fixtures/synthetic-shards'),
        logger: new DefaultLogger('WARN'),
      }),
      activities: createActivities(deps),
    });
    let firstRunId = '';
    try {
      await worker.runUntil(async () => {
        const handle = await client.workflow.start('syntheticShardedStage', { taskQueue, workflowId, args: [input] });
        // The start input is recorded once start returns: checked before anything runs.
        firstRunId = handle.firstExecutionRunId;
        expect(largest(payloadsIn(await handle.fetchHistory()))).toEqual(under);
        const { results } = await handle.result();
        const outputs = (await deps.store.readAll<{ output: unknown }>(results)).map((result) => result.output);
        expect(outputs).toEqual(shards.map((shard) => shard.items));
      });

      // Every execution, first to last, following each continue-as-new to the run it started.
      const sizes: [string, number][] = [];
      let executions = 0;
      for (let runId: string | undefined = firstRunId; runId; executions++) {
        const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
        sizes.push(...payloadsIn(history));
        runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      }
      // The loop rolled over, and nothing it carried grew with the shards.
      expect(executions).toBeGreaterThanOrEqual(2);
      expect(largest(sizes)).toEqual(under);
    } finally {
      await connection.close();
      await clientConnection.close();
    }
  });
});
