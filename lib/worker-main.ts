// The worker process: hosts every workflow and activity. Configuration comes from its environment (see README).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import * as path from 'node:path';
import { createActivities } from '../activities';
import { defaultActivityDeps } from '../activities/context';
import { defaultArtifactStore } from './artifacts';
import { sweepOrphanedActivities, workerIdentity } from './orphaned-activities';
import { dataConverter } from './payload-codec';
import { taskQueue, temporalConnectConfig } from './temporal';
import { maxWorkerCrashes, workerCrashLimit } from './worker-crashes';

/** Runs the worker until SIGINT/SIGTERM; `activityInterceptors` run inside the project's own (tests add theirs). */
export async function runWorker(activityInterceptors: ActivityInterceptorsFactory[] = []): Promise<void> {
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  const deps = defaultActivityDeps();
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: taskQueue(),
    // Names the host by boot and pid namespace too, so a restarted worker frees only its own host's orphans.
    identity: workerIdentity(),
    // A prebuilt bundle (bundleWorkflowCode's code in a file) spares a restarted worker seconds of bundling.
    ...(process.env.FLT_WORKFLOW_BUNDLE
      ? { workflowBundle: { codePath: process.env.FLT_WORKFLOW_BUNDLE } }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(deps),
    // The crash ledger lives next to the artifacts, which every worker of a deployment shares.
    interceptors: {
      activity: [
        workerCrashLimit(path.join(defaultArtifactStore().root, 'attempts'), maxWorkerCrashes()),
        ...activityInterceptors,
      ],
    },
    dataConverter: dataConverter(),
    // Model calls are throttled per provider by the gateway; this caps activity slots (shards, polls) per worker.
    maxConcurrentActivityTaskExecutions: Number(process.env.FLT_MAX_CONCURRENT_ACTIVITIES ?? 32),
    shutdownGraceTime: '10 seconds',
    // Heartbeats carry shard and fine-tune progress to `flt watch`; they are not history events, so sending them
    // every few seconds (not the default 30-60 s) costs the server little.
    maxHeartbeatThrottleInterval: '3 seconds',
    defaultHeartbeatThrottleInterval: '3 seconds',
  });
  // Swept for after the worker is created: bundling the workflows keeps the main thread busy for seconds, and a sweep
  // beside it could outlast its deadline on a busy machine. The first sweep is done before the worker polls.
  const orphans = await retryOrphanedActivities(connectionOptions, namespace);
  await orphans.first;
  console.log(
    `worker: polling task queue "${taskQueue()}" in namespace "${namespace}" at ${connectionOptions.address}`,
  );
  // worker.run() returns after SIGINT/SIGTERM once in-flight tasks have drained (or the grace time has passed).
  try {
    await worker.run();
  } finally {
    await orphans.stop();
    await deps.gateway.close();
    await connection.close();
  }
}

/**
 * Activities that a crashed worker of this host left running are retried within seconds, not after their heartbeat
 * timeout: swept for before the worker polls and again every 15 s for 5 minutes (the shard heartbeat timeout).
 */
async function retryOrphanedActivities(
  connectionOptions: ReturnType<typeof temporalConnectConfig>['connectionOptions'],
  namespace: string,
): Promise<{ first: Promise<void>; stop: () => Promise<void> }> {
  const warn = (err: unknown) =>
    console.warn(
      `worker: could not look for activities of a dead worker (${err instanceof Error ? err.message : String(err)}); ` +
        'the next sweep tries again',
    );
  let connection: Connection;
  try {
    connection = await Connection.connect(connectionOptions);
  } catch (err) {
    warn(err);
    return { first: Promise.resolve(), stop: async () => undefined };
  }
  const client = new Client({ connection, namespace, dataConverter: dataConverter() });
  const sweep = sweepOrphanedActivities(client, taskQueue(), {
    everyMs: 15_000,
    forMs: 5 * 60_000,
    // Bounded, so a slow visibility store delays startup by seconds at most.
    deadlineMs: 10_000,
    self: workerIdentity(),
    onFreed: (freed) =>
      console.log(`worker: retrying ${freed} activities left running by a worker of this host that is gone`),
    onError: warn,
  });
  return {
    first: sweep.first,
    stop: async () => {
      await sweep.stop();
      await connection.close();
    },
  };
}
