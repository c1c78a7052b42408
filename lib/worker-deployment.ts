// A Worker Deployment as the server sees it, and moving its current version (the version new runs start on): the
// worker's first deploy and `flt rollout` change it here, `flt workers` reads it.
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const { WorkerDeploymentVersionStatus, VersionDrainageStatus, RoutingConfigUpdateState } = temporal.api.enums.v1;
/** gRPC status codes: no such deployment yet; a conflict token that no longer matches. */
const notFound = 5;
const conflicts = [9, 10];

export interface DeploymentState {
  /** The build id new runs start on; undefined while unversioned workers take them (no current version). */
  current?: string;
  /** Every build id the server knows in this deployment, in its order, with its status (`current`, `draining`...). */
  versions: { buildId: string; status: string; drainage?: string }[];
  /** Whether every task queue partition routes by the current routing (servers before 1.28 do not say: true). */
  propagated: boolean;
  conflictToken: Uint8Array;
}

const enumWord = (name: string | undefined, prefix: string) => name?.slice(prefix.length).toLowerCase();

/** The deployment's versions and current version; undefined when no worker of it has polled yet. */
export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentState | undefined> {
  try {
    const { workerDeploymentInfo, conflictToken } = await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace,
      deploymentName,
    });
    return {
      current: workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined,
      versions: (workerDeploymentInfo?.versionSummaries ?? []).map((v) => ({
        buildId: v.deploymentVersion?.buildId ?? '',
        status: enumWord(WorkerDeploymentVersionStatus[v.status ?? 0], 'WORKER_DEPLOYMENT_VERSION_STATUS_') ?? '',
        drainage: v.drainageStatus
          ? enumWord(VersionDrainageStatus[v.drainageStatus], 'VERSION_DRAINAGE_STATUS_')
          : undefined,
      })),
      propagated:
        workerDeploymentInfo?.routingConfigUpdateState !==
        RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS,
      conflictToken,
    };
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === notFound) return undefined;
    throw err;
  }
}

/**
 * Makes `buildId` the deployment's current version. With the conflict token of a describe, it fails instead if the
 * deployment changed since. Resolves to the build id that was current before (undefined: none).
 */
export async function setCurrentVersion(
  client: Client,
  version: WorkerDeploymentVersion,
  conflictToken?: Uint8Array,
): Promise<string | undefined> {
  const { previousDeploymentVersion } = await client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: client.options.namespace,
    deploymentName: version.deploymentName,
    buildId: version.buildId,
    conflictToken,
    identity: client.options.identity,
  });
  return previousDeploymentVersion?.buildId || undefined;
}

/** `current`: the build id that stays current; undefined if the version was not listed in time (or `signal` fired). */
export type FirstDeploy = { promoted: true } | { promoted: false; current?: string };

/**
 * A worker's first deploy: once the server lists this worker's version (after its first poll), it becomes current if
 * the deployment has no current version yet. An existing current version is never replaced: that is `flt rollout`.
 */
export async function becomeCurrentIfNone(
  client: Client,
  version: WorkerDeploymentVersion,
  { pollMs = 500, waitMs = 60_000, signal }: { pollMs?: number; waitMs?: number; signal?: AbortSignal } = {},
): Promise<FirstDeploy> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && !signal?.aborted) {
    const state = await describeDeployment(client, version.deploymentName);
    if (state?.current) return { promoted: false, current: state.current };
    if (state?.versions.some((v) => v.buildId === version.buildId)) {
      try {
        await setCurrentVersion(client, version, state.conflictToken);
        return { promoted: true };
      } catch (err) {
        // Another worker or an operator changed the deployment in the meantime: look again.
        if (!isGrpcServiceError(err) || !conflicts.includes(err.code)) throw err;
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return { promoted: false };
}

/**
 * The task queues (`name/type`) whose pollers the server has seen from this version; none for a version it cannot
 * describe yet (a deployment may list a new version before the version itself is recorded).
 */
export async function versionTaskQueues(client: Client, version: WorkerDeploymentVersion): Promise<string[]> {
  try {
    const { versionTaskQueues } = await client.workflowService.describeWorkerDeploymentVersion({
      namespace: client.options.namespace,
      deploymentVersion: version,
    });
    return (versionTaskQueues ?? []).map((q) => `${q.name}/${q.type}`);
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === notFound) return [];
    throw err;
  }
}

/** Workflow-task pollers on `taskQueue` per build id of the deployment, as the server last saw them. */
export async function pollersByBuildId(
  client: Client,
  deploymentName: string,
  taskQueue: string,
): Promise<Map<string, number>> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const counts = new Map<string, number>();
  for (const { deploymentOptions: d } of pollers ?? [])
    if (d?.deploymentName === deploymentName && d.buildId) counts.set(d.buildId, (counts.get(d.buildId) ?? 0) + 1);
  return counts;
}

/** Open runs whose last workflow task ran on the version (visibility, so it lags a few seconds). */
export async function openRunsOn(client: Client, version: WorkerDeploymentVersion): Promise<number> {
  const { count } = await client.workflow.count(
    `TemporalWorkerDeploymentVersion = '${version.deploymentName}:${version.buildId}' AND ExecutionStatus = 'Running'`,
  );
  return count;
}
