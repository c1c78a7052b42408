// Helpers for tests against the real dev server started by global-setup.ts.
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  DefaultLogger,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import type { ActivityDeps } from '../../activities/context';
import { LocalArtifactStore } from '../../lib/artifacts';
import { AdapterCopies } from '../../lib/adapter-archive';
import { ResponseCache } from '../../lib/response-cache';
import { ModelGateway } from '../../activities/providers/gateway';
import { polledQueues } from '../../lib/worker-roles';

Runtime.install({ logger: new DefaultLogger('WARN') });

export const temporalAddress = () => {
  const address = process.env.FLT_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'FLT_TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (global-setup starts the server)',
    );
  return address;
};

export async function testClient(
  options: { dataConverter?: DataConverter } = {},
): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection, dataConverter: options.dataConverter }), close: () => connection.close() };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling the workflows takes seconds: once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}

/** Activity dependencies rooted in a fresh temporary data directory. */
export function tempDeps(env: NodeJS.ProcessEnv = {}): ActivityDeps & { home: string } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-test-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  return {
    home,
    store,
    gateway: new ModelGateway(new ResponseCache(path.join(home, 'artifacts', 'response-cache')), env),
    jobsDir: path.join(home, 'jobs'),
    adapters: new AdapterCopies(store, path.join(home, 'adapters')),
    env,
  };
}

/**
 * An in-process worker on a unique task queue (or a given one), polling it and its trainer queues as a worker of role
 * `all` does; `run(fn)` runs fn while the worker polls.
 */
export async function testWorker(
  deps: ActivityDeps,
  options: {
    dataConverter?: DataConverter;
    activities?: ReturnType<typeof createActivities>;
    /** Another worker's queue, for a worker that takes over from it; a new one by default. */
    taskQueue?: string;
  } = {},
) {
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const taskQueue = options.taskQueue ?? `test-${Math.random().toString(36).slice(2, 10)}`;
  const bundle = await workflowBundle();
  const workers = await Promise.all(
    polledQueues('all', deps.jobsDir, { FLT_TASK_QUEUE: taskQueue }).map((queue) =>
      Worker.create({
        connection,
        taskQueue: queue.taskQueue,
        ...(queue.workflows && { workflowBundle: bundle }),
        activities: options.activities ?? createActivities(deps),
        dataConverter: options.dataConverter,
      }),
    ),
  );
  return {
    taskQueue,
    async run<T>(fn: () => Promise<T>): Promise<T> {
      try {
        // Every worker runs until fn settles, each then shutting down.
        const work = fn();
        const [first, ...others] = await Promise.allSettled(workers.map((worker) => worker.runUntil(work)));
        const failed = [first, ...others].find((outcome) => outcome.status === 'rejected');
        if (failed) throw failed.reason;
        return (first as PromiseFulfilledResult<T>).value;
      } finally {
        await connection.close();
      }
    },
  };
}
