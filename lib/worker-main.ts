// The worker process: hosts the workflows and activities of its role. Configuration comes from its environment and
// `--role` (see README).
import { Client, Connection } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import {
  bundleWorkflowCode,
  NativeConnection,
  Worker,
  type ActivityInterceptorsFactory,
  type WorkerOptions,
} from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createActivities } from '../activities';
import { defaultActivityDeps } from '../activities/context';
import { dataHome, defaultArtifactStore, LocalArtifactStore } from './artifacts';
import { workerIdentity } from './host-identity';
import { sweepOrphanedActivities } from './orphaned-activities';
import { dataConverter } from './payload-codec';
import { taskQueue, temporalConnectConfig } from './temporal';
import { maxWorkerCrashes, workerCrashLimit } from './worker-crashes';
import { becomeCurrentIfNone } from './worker-deployment';
import { polledQueues, workerRole } from './worker-roles';
import { versionedWorker, workerDeploymentName, workerVersion } from './worker-version';

/**
 * The crash ledger lives next to a local artifact store, which every worker of a deployment then shares; with an S3
 * store it is this host's own (`$FLT_HOME/attempts`), so each host counts the crashes it saw.
 */
function crashLedgerDir(): string {
  const store = defaultArtifactStore();
  return path.join(store instanceof LocalArtifactStore ? store.root : dataHome(), 'attempts');
}

/**
 * Runs the worker until SIGINT/SIGTERM: one Worker per task queue its role polls (`--role`, FLT_WORKER_ROLE; see
 * lib/worker-roles.ts), run and shut down together. `activityInterceptors` run inside the project's own (tests add
 * theirs).
 */
export async function runWorker(activityInterceptors: ActivityInterceptorsFactory[] = []): Promise<void> {
  // First: a bad setting of the worker's environment (FLT_PROVIDER_SHARE) stops it before it connects.
  const deps = defaultActivityDeps();
  const { connectionOptions, namespace } = temporalConnectConfig();
  const role = workerRole();
  const connection = await NativeConnection.connect(connectionOptions);
  const queues = polledQueues(role, deps.jobsDir);
  // A trainer hosts no workflows, so it bundles none.
  const { workflows, version } = role === 'trainer' ? { workflows: {}, version: undefined } : await workflowCode();
  const options: WorkerOptions = {
    connection,
    namespace,
    taskQueue: taskQueue(),
    // Names the host by boot and pid namespace too, so a restarted worker frees only its own host's orphans.
    identity: workerIdentity(),
    activities: createActivities(deps),
    interceptors: {
      activity: [workerCrashLimit(crashLedgerDir(), maxWorkerCrashes()), ...activityInterceptors],
    },
    dataConverter: dataConverter(),
    // Model calls are throttled per provider by the gateway; this caps activity slots (shards, polls) per worker.
    maxConcurrentActivityTaskExecutions: Number(process.env.FLT_MAX_CONCURRENT_ACTIVITIES ?? 32),
    shutdownGraceTime: '10 seconds',
    // Heartbeats carry shard and fine-tune progress to `flt watch`; they are not history events, so sending them
    // every few seconds (not the default 30-60 s) costs the server little.
    maxHeartbeatThrottleInterval: '3 seconds',
    defaultHeartbeatThrottleInterval: '3 seconds',
  };
  // Only the run's queue joins the deployment: the server promotes a version once it polls every queue the current
  // one does, and a host's own queue is polled from that host alone. Trainer queues stay unversioned.
  const versioned = version && { workerDeploymentOptions: versionedWorker(version) };
  const workers = await Promise.all(
    queues.map((queue) =>
      Worker.create({ ...options, taskQueue: queue.taskQueue, ...(queue.workflows && { ...workflows, ...versioned }) }),
    ),
  );
  // Swept for after the workers are created: bundling the workflows keeps the main thread busy for seconds, and a
  // sweep beside it could outlast its deadline on a busy machine. The first sweep is done before the workers poll.
  // Every activity, a trainer's too, belongs to a workflow on the run's task queue, which is where the sweep looks.
  const orphans = retryOrphanedActivities(connectionOptions, namespace);
  await orphans.first;
  console.log(
    `worker (${role}): polling task queues ${queues.map((q) => `"${q.taskQueue}"`).join(', ')} in namespace ` +
      `"${namespace}" at ${connectionOptions.address}` +
      (version ? ` as build ${version.buildId} of deployment "${version.deploymentName}"` : ''),
  );
  // The server lists this worker's version only once it polls, so the first deploy is settled beside the run.
  const stopped = new AbortController();
  const deployed = version && firstDeploy(connectionOptions, namespace, version, stopped.signal);
  // Each run() returns after SIGINT/SIGTERM once in-flight tasks have drained (or the grace time has passed).
  try {
    await runTogether(workers);
  } finally {
    stopped.abort();
    await deployed;
    await orphans.stop();
    await deps.gateway.close();
    await connection.close();
  }
}

/** Runs the workers until all have stopped; one that fails shuts the others down, and its error is thrown. */
async function runTogether(workers: Worker[]): Promise<void> {
  const runs = workers.map((worker) => worker.run());
  try {
    await Promise.all(runs);
  } catch (err) {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled(runs);
    throw err;
  }
}

/**
 * The workflow code to run and, when FLT_WORKER_DEPLOYMENT names a deployment, this worker's version in it. A versioned
 * worker bundles the code itself, since its default build id is the bundle's hash.
 */
async function workflowCode(): Promise<{
  workflows: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  version?: WorkerDeploymentVersion;
}> {
  // A prebuilt bundle (bundleWorkflowCode's code in a file) spares a restarted worker seconds of bundling.
  const prebuilt = process.env.FLT_WORKFLOW_BUNDLE;
  const workflowsPath = require.resolve('../workflows');
  const deploymentName = workerDeploymentName();
  if (!deploymentName) return { workflows: prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath } };
  const { code } = prebuilt ? { code: await readFile(prebuilt, 'utf8') } : await bundleWorkflowCode({ workflowsPath });
  return { workflows: { workflowBundle: { code } }, version: workerVersion(deploymentName, code) };
}

/** Makes this worker's version current when its deployment has none yet, and says in the log what it found. */
async function firstDeploy(
  connectionOptions: ReturnType<typeof temporalConnectConfig>['connectionOptions'],
  namespace: string,
  version: WorkerDeploymentVersion,
  signal: AbortSignal,
): Promise<void> {
  const { buildId, deploymentName } = version;
  try {
    const connection = await Connection.connect(connectionOptions);
    try {
      const outcome = await becomeCurrentIfNone(new Client({ connection, namespace }), version, { signal });
      if (outcome.promoted)
        console.log(`worker: deployment "${deploymentName}" had no current version; build ${buildId} is now current`);
      else if (outcome.current === buildId)
        console.log(`worker: build ${buildId} is the current version of deployment "${deploymentName}"`);
      else if (outcome.current)
        console.log(
          `worker: deployment "${deploymentName}" runs new work on build ${outcome.current}; this build ` +
            `(${buildId}) takes new runs after \`flt rollout ${buildId}\``,
        );
      else if (!signal.aborted)
        console.warn(`worker: the server did not list build ${buildId} within a minute; see \`flt workers\``);
    } finally {
      await connection.close();
    }
  } catch (err) {
    console.warn(`worker: could not check deployment "${deploymentName}": ${err instanceof Error ? err.message : err}`);
  }
}

/**
 * Activities that a crashed worker of this host left running are retried within seconds, not after their heartbeat
 * timeout: swept for before the worker polls and again every 15 s for 5 minutes (the shard heartbeat timeout).
 */
function retryOrphanedActivities(
  connectionOptions: ReturnType<typeof temporalConnectConfig>['connectionOptions'],
  namespace: string,
): { first: Promise<void>; stop: () => Promise<void> } {
  const warn = (err: unknown) =>
    console.warn(
      `worker: could not look for activities of a dead worker (${err instanceof Error ? err.message : String(err)}); ` +
        'the next sweep tries again',
    );
  let client: Client | undefined;
  // Kept once made; until then each sweep tries again.
  const connect = async () =>
    (client ??= new Client({
      connection: await Connection.connect(connectionOptions),
      namespace,
      dataConverter: dataConverter(),
    }));
  const sweep = sweepOrphanedActivities(connect, taskQueue(), {
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
      await client?.connection.close();
    },
  };
}
