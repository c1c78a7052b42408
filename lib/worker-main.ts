// The worker process: hosts every workflow and activity. Configuration comes from its environment (see README).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import * as path from 'node:path';
import { createActivities } from '../activities';
import { defaultActivityDeps } from '../activities/context';
import { defaultArtifactStore } from './artifacts';
import { failOrphanedActivities, workerIdentity } from './orphaned-activities';
import { dataConverter } from './payload-codec';
import { taskQueue, temporalConnectConfig } from './temporal';
import { maxWorkerCrashes, workerCrashLimit } from './worker-crashes';

/** Runs the worker until SIGINT/SIGTERM; `activityInterceptors` run inside the project's own (tests add theirs). */
export async function runWorker(activityInterceptors: ActivityInterceptorsFactory[] = []): Promise<void> {
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  // Looked for while the worker is created, done before it polls (see lib/orphaned-activities.ts).
  const orphans = retryOrphanedActivities(connectionOptions, namespace);
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
  await orphans;
  console.log(
    `worker: polling task queue "${taskQueue()}" in namespace "${namespace}" at ${connectionOptions.address}`,
  );
  // worker.run() returns after SIGINT/SIGTERM once in-flight tasks have drained (or the grace time has passed).
  try {
    await worker.run();
  } finally {
    await deps.gateway.close();
    await connection.close();
  }
}

/** Activities that a crashed worker of this host left running are retried now, not after their heartbeat timeout. */
async function retryOrphanedActivities(
  connectionOptions: ReturnType<typeof temporalConnectConfig>['connectionOptions'],
  namespace: string,
): Promise<void> {
  try {
    const connection = await Connection.connect(connectionOptions);
    try {
      const client = new Client({ connection, namespace, dataConverter: dataConverter() });
      // Bounded, so a slow visibility store delays startup by seconds at most (the rest then waits for its timeout).
      const freed = await client.withDeadline(Date.now() + 10_000, () => failOrphanedActivities(client, taskQueue()));
      if (freed) console.log(`worker: retrying ${freed} activities left running by a worker of this host that is gone`);
    } finally {
      await connection.close();
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    console.warn(
      `worker: could not look for activities of a dead worker (${reason}); they resume after their heartbeat timeout`,
    );
  }
}
