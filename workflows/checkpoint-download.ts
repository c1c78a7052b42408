// The download step of a Together fine-tune (`serve: download`): the completed job's checkpoint is downloaded onto
// the worker, once, and served by the local engine exactly as a locally trained adapter is (workflows/serving.ts),
// so later stages call it there and the run unloads it at its end.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ProvidersConfig } from '../core/config';
import type { TogetherBackendConfig } from '../core/contracts';
import { InvalidConfig } from '../core/errors';
import type { ModelRef } from '../core/types';
import { checkpointDownload } from './activity-options';
import { serveTrainedAdapter } from './serving';

export async function serveDownloadedCheckpoint(
  backend: TogetherBackendConfig,
  providers: ProvidersConfig,
  stage: string,
  jobId: string,
): Promise<ModelRef> {
  const { download } = backend;
  if (!download)
    throw ApplicationFailure.nonRetryable('serve: download needs download: {engine, provider}', InvalidConfig);
  const { downloadTogetherCheckpoint } = proxyActivities<Activities>({
    ...checkpointDownload,
    summary: `download the ${stage} checkpoint (${download.checkpointStep ?? download.checkpoint}) of ${jobId}`,
  });
  const checkpoint = await downloadTogetherCheckpoint({ backend, providers, jobId });
  return serveTrainedAdapter(providers, stage, checkpoint, { engine: download.engine, provider: download.provider });
}
