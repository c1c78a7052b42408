// The download step of a Together fine-tune (`serve: download`): the completed job's checkpoint is downloaded onto
// the worker, once. An adapter is served by the local engine exactly as a locally trained adapter is
// (workflows/serving.ts); a merged checkpoint gets a server of its own, started here and stopped by the run's
// end-of-run step. Later stages call either there.
import { ActivityCancellationType, ApplicationFailure, CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ProvidersConfig } from '../core/config';
import type { DownloadedCheckpoint, TogetherBackendConfig, TogetherDownload } from '../core/contracts';
import { InvalidConfig } from '../core/errors';
import type { CheckpointServerRef, ModelRef } from '../core/types';
import { adapterUnloadStep, checkpointDownload, checkpointServerStart } from './activity-options';
import { serveTrainedAdapter } from './serving';

export async function serveDownloadedCheckpoint(
  backend: TogetherBackendConfig,
  providers: ProvidersConfig,
  stage: string,
  jobId: string,
  runId: string,
  serverPosition: number,
): Promise<ModelRef> {
  const { download } = backend;
  if (!download)
    throw ApplicationFailure.nonRetryable('serve: download needs download: {engine, provider}', InvalidConfig);
  const { downloadTogetherCheckpoint } = proxyActivities<Activities>({
    ...checkpointDownload,
    summary: `download the ${stage} checkpoint (${download.checkpointStep ?? download.checkpoint}) of ${jobId}`,
  });
  const checkpoint = await downloadTogetherCheckpoint({ backend, providers, jobId });
  if (download.server) return serveOnStartedServer(runId, download.server, providers, checkpoint, serverPosition);
  return serveTrainedAdapter(providers, stage, checkpoint, { engine: download.engine!, provider: download.provider! });
}

/**
 * Starts the merged checkpoint's server and waits until it lists the model. The server's record is known before the
 * start (it is named by the run and the checkpoint), so a start that fails or is cancelled stops whatever it started.
 * `position`, the model's place among the run's merged models, picks its port.
 */
async function serveOnStartedServer(
  runId: string,
  server: NonNullable<TogetherDownload['server']>,
  providers: ProvidersConfig,
  checkpoint: DownloadedCheckpoint,
  position: number,
): Promise<ModelRef> {
  // Cancelled, the start ends (its heartbeat learns of the cancel) before the stop below runs, not racing it.
  const { startCheckpointServer } = proxyActivities<Activities>({
    ...checkpointServerStart,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary: `start a server on ${checkpoint.name} answering through ${server.provider}`,
  });
  let started: CheckpointServerRef | undefined;
  try {
    // Left out for the first model, so its start's input is as runs recorded before positions existed.
    started = await startCheckpointServer({ runId, server, providers, checkpoint, ...(position ? { position } : {}) });
    return { provider: server.provider, model: checkpoint.name, server: started };
  } finally {
    if (!started) {
      const { unloadAdapters } = proxyActivities<Activities>({
        ...adapterUnloadStep,
        summary: `stop the server of ${checkpoint.name}`,
      });
      const model = {
        provider: server.provider,
        model: checkpoint.name,
        server: { runId, name: checkpoint.name, stopGraceSeconds: server.stopGraceSeconds },
      };
      await CancellationScope.nonCancellable(() => unloadAdapters({ providers, models: [model] }));
    }
  }
}
