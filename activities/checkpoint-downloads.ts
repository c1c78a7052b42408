// Together checkpoints as an activity: downloaded once into the job directory (a retried attempt continues the bytes
// an earlier one left, or finds the checkpoint already unpacked and re-verifies it), unpacked whole or not at all.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DownloadCheckpointInput, DownloadedCheckpoint } from '../core/contracts';
import { InvalidConfig, InvalidInput } from '../core/errors';
import { unpackCheckpoint, unpackedAdapter } from './checkpoint-archive';
import type { ActivityDeps } from './context';
import { toActivityFailureIn } from './providers/errors';
import { checkpointKey, TogetherCheckpoints } from './providers/finetune/together-checkpoints';
import { downloadResumably } from './resumable-download';

/** Heartbeats carry the bytes on disk; more often than this adds history-free noise only. */
const heartbeatEveryMs = 1000;

export function checkpointDownloadActivities({ jobsDir, env }: ActivityDeps) {
  return {
    async downloadTogetherCheckpoint({
      backend,
      providers,
      jobId,
    }: DownloadCheckpointInput): Promise<DownloadedCheckpoint> {
      const choice = backend.download;
      if (!choice)
        throw ApplicationFailure.nonRetryable('serve: download needs download: {engine, provider}', InvalidConfig);
      const key = checkpointKey(choice);
      const what = `download the ${key} checkpoint of Together job ${jobId}`;
      const dir = path.join(jobsDir, 'together-checkpoints', path.basename(jobId), key);
      const checkpointDir = path.join(dir, 'checkpoint');
      const name = `${jobId}-${key}`;
      try {
        const unpacked = unpackedAdapter(checkpointDir);
        if (unpacked) return { name, path: unpacked };
        fs.mkdirSync(dir, { recursive: true });
        const archive = path.join(dir, 'archive');
        const together = new TogetherCheckpoints(backend, providers, env);
        const ctx = Context.current();
        let lastBeat = 0;
        await downloadResumably(archive, (from, signal) => together.open(jobId, choice, from, signal), {
          signal: ctx.cancellationSignal,
          idleTimeoutMs: together.idleTimeoutMs,
          progress: (bytes, total) => {
            if (Date.now() - lastBeat < heartbeatEveryMs) return;
            lastBeat = Date.now();
            ctx.heartbeat({ bytes, total });
          },
        });
        try {
          const adapter = await unpackCheckpoint(archive, checkpointDir, choice.checkpoint);
          // Unpacked and listed: the archive is no longer needed, and a merged one is as large as the model.
          fs.rmSync(archive, { force: true });
          return { name, path: adapter };
        } catch (err) {
          if (err instanceof Error && err.name === InvalidInput) throw err;
          // An archive the tools cannot read is fetched again by the next attempt, never served half-unpacked.
          fs.rmSync(archive, { force: true });
          throw ApplicationFailure.retryable(`could not unpack it: ${String(err)}`, 'CheckpointArchiveUnreadable');
        }
      } catch (err) {
        throw toActivityFailureIn(err, what);
      }
    },
  };
}
