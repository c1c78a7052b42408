// `flt workers` and `flt rollout`: the versions of a Worker Deployment (README, "Changing a workflow safely") and
// moving new runs to one of them. Pinned runs stay on the version they started on whatever is current.
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { taskQueue } from '../lib/temporal';
import { describeDeployment, openRunsOn, pollersByBuildId, setCurrentVersion } from '../lib/worker-deployment';
import { workerDeploymentName } from '../lib/worker-version';
import { connect, UserError } from './connection';

function deploymentOption(name: string | undefined): string {
  const deploymentName = name ?? workerDeploymentName();
  if (!deploymentName)
    throw new UserError('Name the worker deployment with --deployment or FLT_WORKER_DEPLOYMENT, as the workers do.');
  return deploymentName;
}

/** A header line, then one line per version: status, drainage, workflow pollers on `queue`, open runs on it. */
export async function workersLines(client: Client, deploymentName: string, queue: string): Promise<string[]> {
  const state = await describeDeployment(client, deploymentName);
  if (!state) throw new UserError(`No worker of deployment "${deploymentName}" has polled this namespace yet.`);
  const pollers = await pollersByBuildId(client, deploymentName, queue);
  const routing = state.current ? `new runs start on build ${state.current}` : 'no current version';
  const lines = [
    `deployment "${deploymentName}": ${routing}`,
    ['build', 'status', 'drainage', 'pollers', 'open runs'].join('\t'),
  ];
  for (const { buildId, status, drainage } of state.versions) {
    const open = await openRunsOn(client, { deploymentName, buildId });
    lines.push([buildId, status, drainage ?? '', pollers.get(buildId) ?? 0, open].join('\t'));
  }
  return lines;
}

/** Makes `buildId` current; one line saying what changed and what happens to the version it replaces. */
export async function rollout(client: Client, deploymentName: string, buildId: string): Promise<string> {
  const state = await describeDeployment(client, deploymentName);
  const known = state?.versions.map((v) => v.buildId) ?? [];
  if (!known.includes(buildId))
    throw new UserError(
      `Build ${buildId} is not a version of deployment "${deploymentName}" (` +
        (known.length ? `its versions: ${known.join(', ')}` : 'no worker has polled yet') +
        '); start its workers first.',
    );
  if (state?.current === buildId) return `deployment "${deploymentName}": build ${buildId} is already current`;
  const previous = await setCurrentVersion(client, { deploymentName, buildId }, state?.conflictToken).catch((err) => {
    // The server refuses a version that has not yet polled every task queue the current one serves.
    if (isGrpcServiceError(err) && /missing active task queues/.test(err.details))
      throw new UserError(
        `Build ${buildId} has not polled every task queue that build ${state?.current} serves yet (${err.details}); ` +
          'wait until its workers are all up, then run `flt rollout` again.',
      );
    throw err;
  });
  // The change reaches the task queues' partitions shortly after; once it has, every new run starts on the new build.
  const deadline = Date.now() + 30_000;
  const propagated = async () => (await describeDeployment(client, deploymentName))?.propagated ?? false;
  let reached = await propagated();
  while (!reached && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    reached = await propagated();
  }
  return (
    `deployment "${deploymentName}": new runs start on build ${buildId}` +
    (reached ? '' : ' once the change reaches every task queue (still under way)') +
    (previous
      ? `; runs pinned to ${previous} finish there: stop its workers once \`flt workers\` shows it drained and ` +
        'no open runs'
      : '')
  );
}

/** `flt workers`. */
export async function workersCommand(opts: { deployment?: string }): Promise<void> {
  const lines = await workersLines(await connect(), deploymentOption(opts.deployment), taskQueue());
  for (const line of lines) console.log(line);
}

/** `flt rollout <buildId>`. */
export async function rolloutCommand(buildId: string, opts: { deployment?: string }): Promise<void> {
  console.log(await rollout(await connect(), deploymentOption(opts.deployment), buildId));
}
