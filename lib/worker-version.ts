// Which Worker Deployment version a worker declares, from its environment: none unless FLT_WORKER_DEPLOYMENT names a
// deployment (so single-machine use and the tests stay unversioned); the build id is FLT_BUILD_ID or a hash of the
// workflow bundle the worker runs, so changed workflow code is a new version by construction.
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { createHash } from 'node:crypto';

/** The deployment the worker joins, or undefined for an unversioned worker. */
export const workerDeploymentName = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  env.FLT_WORKER_DEPLOYMENT || undefined;

/** A short hash of the bundled workflow code: the same bundle always gives the same id. */
export const buildIdOf = (bundleCode: string): string =>
  createHash('sha256').update(bundleCode).digest('hex').slice(0, 12);

export function workerVersion(
  deploymentName: string,
  bundleCode: string,
  env: NodeJS.ProcessEnv = process.env,
): WorkerDeploymentVersion {
  return { deploymentName, buildId: env.FLT_BUILD_ID || buildIdOf(bundleCode) };
}

/**
 * Runs that can wait on fine-tune jobs for hours are pinned to the version they started on; the workflows that say
 * nothing about it (workflows/index.ts declares every one of the project's) are pinned too, the safe default.
 */
export const versionedWorker = (version: WorkerDeploymentVersion): WorkerDeploymentOptions => ({
  useWorkerVersioning: true,
  version,
  defaultVersioningBehavior: 'PINNED',
});
