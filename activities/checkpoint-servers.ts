// The server a merged Together checkpoint is served by (`download.checkpoint: merged`): the configured command,
// started once as a detached process group whose pid is recorded in the job directory, as the `command` fine-tune
// backend records its trainer, so a retried attempt (a restarted worker) follows the running server instead of
// starting a second one; stopped by the run's end-of-run step, on failure and on cancel too. Each merged model of a
// run gets its own server, on the port its place in the run picks from `server.ports`.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StartCheckpointServerInput, TogetherDownload } from '../core/contracts';
import { InvalidConfig, InvalidInput } from '../core/errors';
import type { CheckpointServerRef } from '../core/types';
import { localHost } from '../lib/host-identity';
import type { ActivityDeps } from './context';
import { toActivityFailureIn } from './providers/errors';
import { openAiCompatibleProvider } from './providers/finetune/backend-common';
import { providerApiKey } from './providers/secrets';
import { JobProcesses, readOrNull, readPid, signalGroup, tailLines, writeWhole } from './process-groups';

const pollMs = 1000;
/** What a `GET /models` may take before the poll counts it as not answering yet. */
const listTimeoutMs = 10_000;

const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** The port a base URL is reached on, written or implied by its scheme. */
const portOf = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

/**
 * Where the server of the run's merged model at `position` answers: the provider's baseURL on `server.ports[position]`,
 * or as it is when no ports are listed (one model). Derived from the recorded input alone, so every attempt of the
 * start, a restarted worker's too, picks the same port.
 */
function serverBaseURL(
  providerBaseURL: string,
  server: NonNullable<TogetherDownload['server']>,
  position: number,
): string {
  if (!server.ports && position === 0) return providerBaseURL;
  const port = server.ports?.[position];
  if (port === undefined)
    throw ApplicationFailure.nonRetryable(
      `server.ports lists ${server.ports?.length ?? 0} port(s), one per merged model the run serves, but this is ` +
        `its merged model number ${position + 1}`,
      InvalidConfig,
    );
  const url = new URL(providerBaseURL);
  url.port = String(port);
  // URL adds a slash to a bare host; the provider's spelling is kept.
  return providerBaseURL.endsWith('/') ? url.href : url.href.replace(/\/$/, '');
}

/** The server's record and process group, by run and checkpoint (its processes carry both as FLT_JOB_NAME). */
class RecordedServer {
  private readonly processes: JobProcesses;
  private readonly host: string;

  constructor(
    readonly dir: string,
    readonly name: string,
    procRoot = '/proc',
  ) {
    this.processes = new JobProcesses(procRoot);
    this.host = localHost(procRoot);
  }

  /** The record of run `runId`'s server of checkpoint `name` among the worker's jobs (`procRoot`: for tests). */
  static of(jobsDir: string, { runId, name }: { runId: string; name: string }, procRoot?: string): RecordedServer {
    const [run, model] = [path.basename(runId), path.basename(name)];
    return new RecordedServer(path.join(jobsDir, 'checkpoint-servers', run, model), `${run}/${model}`, procRoot);
  }

  private get pid(): number | null {
    return readPid(path.join(this.dir, 'pid'));
  }

  /** Where the recorded server runs: here (alive), gone, or on another host this worker cannot see. */
  async whereabouts(): Promise<'here' | 'gone' | { elsewhere: string }> {
    const pid = this.pid;
    if (pid === null) return 'gone';
    const host = readOrNull(path.join(this.dir, 'host'));
    if (host !== null && host !== this.host) return { elsewhere: host };
    return (await this.processes.alive(pid, this.name)) ? 'here' : 'gone';
  }

  /** When the recorded server was started (its pid written), epoch milliseconds. */
  startedAt(): number {
    return fs.statSync(path.join(this.dir, 'pid')).mtimeMs;
  }

  logTail(): string {
    return tailLines(path.join(this.dir, 'server.log'), 10).join('\n');
  }

  start(command: string, env: NodeJS.ProcessEnv): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.rmSync(path.join(this.dir, 'pid'), { force: true });
    const log = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    try {
      const child = spawn('sh', ['-c', command], {
        cwd: this.dir,
        env: { ...env, FLT_JOB_NAME: this.name },
        detached: true,
        stdio: ['ignore', log, log],
      });
      // A failed spawn also emits 'error'; the missing pid below reports it.
      child.on('error', () => undefined);
      if (child.pid === undefined) throw new Error(`could not start the server of ${this.name}: ${command}`);
      child.unref();
      writeWhole(path.join(this.dir, 'host'), this.host);
      // Written last: its presence is what a retried attempt takes as "the server was started".
      writeWhole(path.join(this.dir, 'pid'), String(child.pid));
    } finally {
      fs.closeSync(log);
    }
  }

  /** SIGTERM to the whole group (the server's own workers too), SIGKILL after the grace. */
  async stop(graceMs: number): Promise<void> {
    const where = await this.whereabouts();
    if (where === 'gone') return;
    if (where !== 'here')
      throw new Error(`the server of ${this.name} runs on ${where.elsewhere}, where this worker cannot signal it`);
    const pgid = this.pid!;
    signalGroup(pgid, 'SIGTERM');
    if (await this.processes.waitGone(pgid, this.name, graceMs)) return;
    signalGroup(pgid, 'SIGKILL');
    await this.processes.waitGone(pgid, this.name, 5_000);
  }
}

/** Stops a server `startCheckpointServer` started (or may have); one already gone, or never started, is left be. */
export async function stopCheckpointServer(
  jobsDir: string,
  ref: CheckpointServerRef,
  procRoot?: string,
): Promise<void> {
  await RecordedServer.of(jobsDir, ref, procRoot).stop(ref.stopGraceSeconds * 1000);
}

export function checkpointServerActivities({ jobsDir, env }: ActivityDeps) {
  /** The models the provider's server lists, or null while nothing answers there. */
  async function listedModels(baseURL: string, apiKey: string, signal: AbortSignal): Promise<string[] | null> {
    try {
      const response = await fetch(`${baseURL.replace(/\/$/, '')}/models`, {
        headers: { Authorization: `Bearer ${apiKey}` },
        signal: AbortSignal.any([signal, AbortSignal.timeout(listTimeoutMs)]),
      });
      if (!response.ok) return null;
      const body = (await response.json()) as { data?: { id?: unknown }[] };
      return (body.data ?? []).map((m) => String(m.id));
    } catch (err) {
      if (signal.aborted) throw err;
      return null;
    }
  }

  return {
    async startCheckpointServer({
      runId,
      server,
      providers,
      checkpoint,
      position = 0,
    }: StartCheckpointServerInput): Promise<CheckpointServerRef> {
      const what = `start the server of ${checkpoint.name}`;
      try {
        const provider = openAiCompatibleProvider(providers, server.provider);
        if (!provider.baseURL)
          throw ApplicationFailure.nonRetryable(`provider "${server.provider}" has no baseURL`, InvalidConfig);
        const apiKey = providerApiKey(provider, env);
        const baseURL = serverBaseURL(provider.baseURL, server, position);
        const port = portOf(new URL(baseURL));
        const ref = { runId, name: checkpoint.name, stopGraceSeconds: server.stopGraceSeconds, baseURL };
        const recorded = RecordedServer.of(jobsDir, ref);
        const ctx = Context.current();
        const where = await recorded.whereabouts();
        if (typeof where === 'object')
          throw ApplicationFailure.nonRetryable(
            `it was started on ${where.elsewhere}, where this worker cannot see it`,
            InvalidConfig,
          );
        if (where === 'gone') {
          // Nothing of this run's holds the port: whatever answers there is another server, never to be shadowed.
          const answering = await listedModels(baseURL, apiKey, ctx.cancellationSignal);
          if (answering !== null)
            throw ApplicationFailure.nonRetryable(
              `${baseURL} already answers (listing ${answering.join(', ') || 'no model'}): the server ` +
                `of a merged checkpoint needs port ${port} ` +
                `(${server.ports ? 'server.ports' : `the port of "${server.provider}"`}) to itself`,
              InvalidConfig,
            );
          const command = server.command
            .replaceAll('{dir}', shellQuote(checkpoint.path))
            .replaceAll('{model}', shellQuote(checkpoint.name))
            .replaceAll('{port}', port);
          recorded.start(command, env);
        }
        // From the server's start, not this attempt's: a worker that restarted does not give it a new timeout.
        const deadline = recorded.startedAt() + server.startTimeoutSeconds * 1000;
        for (;;) {
          ctx.heartbeat();
          const listed = await listedModels(baseURL, apiKey, ctx.cancellationSignal);
          if (listed?.includes(checkpoint.name)) return ref;
          if ((await recorded.whereabouts()) === 'gone') {
            const tail = recorded.logTail();
            throw ApplicationFailure.nonRetryable(
              `the server exited before listing ${checkpoint.name}${tail ? `:\n${tail}` : ''}`,
              InvalidInput,
            );
          }
          if (Date.now() > deadline) {
            await recorded.stop(server.stopGraceSeconds * 1000);
            throw ApplicationFailure.nonRetryable(
              `the server did not list ${checkpoint.name} within ${server.startTimeoutSeconds} s ` +
                `(startTimeoutSeconds); its log ends:\n${recorded.logTail()}`,
              InvalidInput,
            );
          }
          await ctx.sleep(pollMs);
        }
      } catch (err) {
        // A cancelled wait ends as a cancellation: the workflow then stops the server.
        if (Context.current().cancellationSignal.aborted) throw err;
        throw toActivityFailureIn(err, what);
      }
    },
  };
}
