// Local trainer backend: runs a shell command (e.g. LLaMA-Factory with a LoRA config) on the worker host.
//
// The trainer is started detached, in its own process group, with its state kept in files under the job directory
// (pid, host, heartbeat, exitcode, cancelled, train.log). A worker crash therefore does not kill it, and a retried
// activity re-attaches to it through findJob instead of starting a second trainer. A worker that shares the job
// directory but not the starter's process table (another container or host) judges the trainer by its heartbeat and
// cancels it through the `cancelled` marker, which the trainer's own wrapper acts on.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FineTuneBackendConfig } from '../../../core/config';
import type { FineTuneJobState } from '../../../core/types';
import { localHost, rebootedSince } from '../../../lib/host-identity';
import {
  JobProcesses,
  processRuns,
  readOrNull,
  readPid,
  signalGroup,
  tailLines,
  writeWhole,
} from '../../process-groups';
import {
  endedWithoutModel,
  eventTail,
  tagName,
  type CreateJobArgs,
  type FineTuneBackend,
  type JobTag,
} from './backend-common';

type CommandConfig = Extract<FineTuneBackendConfig, { kind: 'command' }>;

// Wrapper run by `sh -c` in the job directory, leading the trainer's process group: $1 is the user's command, $2 the
// exit code file, $3 the seconds between heartbeats, $4 the seconds a cancelled trainer gets between TERM and KILL, $5
// the seconds the trainer runs on without a poll. Passing them as arguments rather than splicing them into the script
// avoids any quoting. While the trainer runs, a background loop touches `heartbeat` and, once a `cancelled` marker
// appears (from any worker sharing the directory) or no worker has polled the job (rewritten `polled`) for $5 s,
// signals the whole group, ignoring the TERM itself so as to follow up with the KILL: a trainer whose worker is gone
// for good (its host's queue is not served, its run was terminated) stops rather than train for nobody. The renames
// make the exit code and the `abandoned` reason appear atomically.
const wrapper = [
  '(seen=; since=$(date +%s); while :; do',
  '  touch heartbeat',
  '  now=$(date +%s); polled=$(cat polled 2>/dev/null)',
  '  if [ "$polled" != "$seen" ]; then seen=$polled; since=$now; fi',
  '  if [ $((now - since)) -gt "$5" ] && [ ! -e abandoned ]; then',
  '    echo "no worker polled this job for $5 s: stopping the trainer" > abandoned.tmp && mv abandoned.tmp abandoned',
  '    cat abandoned',
  '  fi',
  '  if [ -e cancelled ] || [ -e abandoned ]; then',
  '    trap "" TERM; kill -s TERM -- -$$; sleep "$4"; kill -s KILL -- -$$',
  '  fi',
  '  sleep "$3"',
  'done) &',
  'watcher=$!',
  'sh -c "$1"; code=$?',
  'kill $watcher',
  'echo $code > "$2.tmp" && mv "$2.tmp" "$2"',
].join('\n');

// Without a heartbeat for this long, a trainer started where this worker cannot see its processes is taken for dead.
const defaultHeartbeatGraceSeconds = 60;

// How long a trainer host may leave a job's next activity untaken (workflows/trainer-hosts.ts has the same default).
const defaultTrainerHostGraceSeconds = 600;

// A launch lock older than this was left by a start that crashed: a start holds it for the milliseconds of a spawn.
const staleLaunchMs = 60_000;

/** Where a job's trainer runs, seen from this worker: among its processes, nowhere (host rebooted), or elsewhere. */
type Whereabouts = { kind: 'here' } | { kind: 'gone' } | { kind: 'elsewhere'; host: string };

/** Where a trainer may leave one adapter per epoch, as `epoch-<N>` folders (FLT_CHECKPOINT_DIR). */
export const checkpointDirName = 'checkpoints';

/** The trainer's folder of epoch `epoch`'s adapter, beside its final adapter folder `adapterPath`. */
export const epochAdapterPath = (adapterPath: string, epoch: number): string =>
  path.join(path.dirname(adapterPath), checkpointDirName, `epoch-${epoch}`);

/** The epochs a finished job left an adapter for, in order, read from the folder beside its final adapter. */
export function epochsWithAdapters(adapterPath: string): number[] {
  const dir = path.join(path.dirname(adapterPath), checkpointDirName);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((entry) => /^epoch-(\d+)$/.exec(entry)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fileSha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export class CommandFineTuneBackend implements FineTuneBackend {
  private readonly workDir: string;
  private readonly env: NodeJS.ProcessEnv;
  /** How long a cancelled trainer gets between SIGTERM and SIGKILL. */
  private readonly killGraceMs: number;
  private readonly processes: JobProcesses;
  /** This worker's host identity (hostname, boot id, pid namespace): who can see a trainer's processes. */
  private readonly host: string;
  private readonly heartbeatGraceMs: number;
  /** Seconds without a poll after which the trainer stops itself: the trainer host's grace and two poll intervals. */
  private readonly unpolledSeconds: number;

  constructor(
    private readonly config: CommandConfig,
    options: { workDir: string; env: NodeJS.ProcessEnv; killGraceMs?: number; procRoot?: string; hostname?: string },
  ) {
    this.workDir = path.resolve(options.workDir);
    this.env = options.env;
    this.killGraceMs = options.killGraceMs ?? 10_000;
    const procRoot = options.procRoot ?? '/proc';
    this.processes = new JobProcesses(procRoot);
    this.host = localHost(procRoot, options.hostname);
    this.heartbeatGraceMs = (config.heartbeatGraceSeconds ?? defaultHeartbeatGraceSeconds) * 1000;
    const graceSeconds = config.trainerHostGraceSeconds ?? defaultTrainerHostGraceSeconds;
    this.unpolledSeconds = Math.ceil(graceSeconds + 2 * config.pollIntervalSeconds);
  }

  /** A few heartbeats per grace, so that one late beat is no silence; at most every 5 s. */
  private get heartbeatEveryMs(): number {
    return Math.min(5_000, this.heartbeatGraceMs / 4);
  }

  private jobDir(jobId: string): string {
    // Job ids come back from workflow state; refuse anything but a tag name before touching files or pids.
    if (!/^[a-z0-9-]+$/.test(jobId)) throw new Error(`Command fine-tune backend: invalid job id "${jobId}".`);
    return path.join(this.workDir, jobId);
  }

  async uploadTrainingFile(args: { tag: JobTag; localPath: string; sha256: string }): Promise<string> {
    const dir = this.jobDir(tagName(args.tag));
    const target = path.join(dir, 'train.jsonl');
    if (fs.existsSync(target) && fileSha256(target) === args.sha256) return target;
    fs.mkdirSync(dir, { recursive: true });
    // Copy then rename, so a crash mid-copy never leaves a truncated train.jsonl behind.
    const partial = `${target}.partial`;
    fs.copyFileSync(args.localPath, partial);
    fs.renameSync(partial, target);
    return target;
  }

  async findJob(tag: JobTag): Promise<FineTuneJobState | null> {
    const jobId = tagName(tag);
    return fs.existsSync(path.join(this.jobDir(jobId), 'pid')) ? this.getJob(jobId) : null;
  }

  async createJob(args: CreateJobArgs): Promise<FineTuneJobState> {
    const dir = this.jobDir(tagName(args.tag));
    fs.mkdirSync(dir, { recursive: true });
    // A second trainer on the same job directory would corrupt the first one's output: look and start under a lock.
    return this.whileLaunching(dir, () => this.findOrStart(args));
  }

  /**
   * Runs `start` holding the job directory's launch lock, an exclusively created file naming its holder, so that of
   * concurrent creates (activities of this worker, or of another on this host) one starts the trainer and the others
   * then find it. A lock whose holder died before releasing it (its process gone, or older than any start takes) is
   * taken over.
   */
  private async whileLaunching<T>(dir: string, start: () => Promise<T>): Promise<T> {
    const lock = path.join(dir, 'launch.lock');
    for (;;) {
      try {
        fs.writeFileSync(lock, `${process.pid} ${this.processes.bootId() ?? ''}`, { flag: 'wx' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      this.removeIfStale(lock);
      await sleep(50);
    }
    try {
      return await start();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }

  private removeIfStale(lock: string): void {
    let held: fs.Stats;
    let holder: string;
    try {
      held = fs.statSync(lock);
      holder = fs.readFileSync(lock, 'utf8');
    } catch {
      return; // released meanwhile
    }
    const [pid, bootId] = holder.split(' ');
    const sameBoot = bootId === (this.processes.bootId() ?? '');
    const stale = Date.now() - held.mtimeMs > staleLaunchMs || (sameBoot && !processRuns(Number(pid)));
    // Only the lock that was judged: one taken since by another start (a new inode) stays.
    if (stale && fs.statSync(lock, { throwIfNoEntry: false })?.ino === held.ino) fs.rmSync(lock, { force: true });
  }

  private async findOrStart(args: CreateJobArgs): Promise<FineTuneJobState> {
    const existing = await this.findJob(args.tag);
    const jobId = tagName(args.tag);
    const dir = this.jobDir(jobId);
    if (existing && !endedWithoutModel(existing)) return existing;
    if (existing) {
      // A new attempt after a failed or cancelled one: its markers go, its log and training file stay.
      for (const marker of ['pid', 'exitcode', 'cancelled', 'abandoned', 'polled', 'host', 'heartbeat', 'boot-id'])
        fs.rmSync(path.join(dir, marker), { force: true });
      fs.rmSync(path.join(dir, 'adapter'), { recursive: true, force: true });
      fs.rmSync(path.join(dir, checkpointDirName), { recursive: true, force: true });
      fs.appendFileSync(
        path.join(dir, 'train.log'),
        `--- new attempt after the previous one ended ${existing.status} ---\n`,
      );
    }
    fs.mkdirSync(dir, { recursive: true });
    const h = args.hyperparameters;
    const vars: Record<string, string | undefined> = {
      FLT_TRAIN_FILE: args.trainingFileId,
      FLT_OUTPUT_DIR: path.join(dir, 'adapter'),
      FLT_CHECKPOINT_DIR: path.join(dir, checkpointDirName),
      FLT_BASE_MODEL: args.baseModel,
      FLT_EPOCHS: h.epochs?.toString(),
      FLT_LEARNING_RATE: h.learningRate?.toString(),
      FLT_LORA: h.lora === false ? '0' : '1',
      FLT_JOB_NAME: jobId,
      FLT_BATCH_SIZE: h.batchSize?.toString(),
      FLT_INIT_ADAPTER: args.initAdapter,
    };
    // The trainer settings the config gives; one it leaves out keeps the worker's variable (or the recipe's default).
    const settings: Record<string, number | undefined> = {
      FLT_LORA_RANK: h.loraRank,
      FLT_LORA_ALPHA: h.loraAlpha,
      FLT_GRADIENT_ACCUMULATION: h.gradientAccumulation,
      FLT_CUTOFF_LEN: h.cutoffTokens,
      FLT_VAL_SIZE: h.validationShare,
    };
    const env: NodeJS.ProcessEnv = { ...this.env };
    // Unset hyperparameters are removed rather than inherited from the worker, so the trainer's defaults apply.
    for (const [key, value] of Object.entries(vars)) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[key] = String(value);
    const log = fs.openSync(path.join(dir, 'train.log'), 'a');
    try {
      const seconds = (ms: number) => String(ms / 1000);
      const wrapperArgs = [
        this.config.command,
        path.join(dir, 'exitcode'),
        seconds(this.heartbeatEveryMs),
        seconds(this.killGraceMs),
        String(this.unpolledSeconds),
      ];
      const child = spawn('sh', ['-c', wrapper, 'flt-trainer', ...wrapperArgs], {
        cwd: dir,
        env,
        detached: true,
        stdio: ['ignore', log, log],
      });
      // A failed spawn also emits 'error' later; the missing pid below already reports it.
      child.on('error', () => undefined);
      if (child.pid === undefined)
        throw new Error(`Command fine-tune backend: could not start the trainer for ${jobId}.`);
      child.unref();
      writeWhole(path.join(dir, 'host'), this.host);
      // Written last: its presence is what findJob takes as "this job exists".
      writeWhole(path.join(dir, 'pid'), String(child.pid));
    } finally {
      fs.closeSync(log);
    }
    return this.getJob(jobId);
  }

  private whereabouts(dir: string): Whereabouts {
    const host = readOrNull(path.join(dir, 'host'));
    if (host === null) {
      // Started by code that recorded only a boot id: judged by this worker's processes, as then.
      const bootId = readOrNull(path.join(dir, 'boot-id'));
      return bootId !== null && bootId !== this.processes.bootId() ? { kind: 'gone' } : { kind: 'here' };
    }
    if (host === this.host) return { kind: 'here' };
    return rebootedSince(host, this.host) ? { kind: 'gone' } : { kind: 'elsewhere', host };
  }

  /** The trainer's process group when it runs among this worker's processes; null otherwise. */
  private async liveGroup(dir: string, jobId: string): Promise<number | null> {
    if (!fs.existsSync(path.join(dir, 'pid'))) throw new Error(`Command fine-tune backend: no job in ${dir}.`);
    const pgid = readPid(path.join(dir, 'pid'));
    if (pgid === null || this.whereabouts(dir).kind !== 'here') return null;
    return (await this.processes.alive(pgid, jobId)) ? pgid : null;
  }

  /** How long the trainer has given no sign of life: since its last heartbeat, or its start before the first. */
  private silentMs(dir: string): number {
    const sign =
      fs.statSync(path.join(dir, 'heartbeat'), { throwIfNoEntry: false }) ?? fs.statSync(path.join(dir, 'pid'));
    return Date.now() - sign.mtimeMs;
  }

  /** Null while the trainer runs; otherwise why it is taken for dead. */
  private async whyNotRunning(dir: string, jobId: string): Promise<string | null> {
    const where = this.whereabouts(dir);
    if (where.kind === 'elsewhere') {
      const silentMs = this.silentMs(dir);
      if (silentMs <= this.heartbeatGraceMs) return null;
      return (
        `trainer started on ${where.host} has been silent for ${Math.round(silentMs / 1000)} s ` +
        '(no heartbeat in its job directory: that host or container is gone?)'
      );
    }
    if (where.kind === 'here' && (await this.liveGroup(dir, jobId)) !== null) return null;
    return 'trainer process vanished (worker host restarted?)';
  }

  async getJob(jobId: string): Promise<FineTuneJobState> {
    const dir = this.jobDir(jobId);
    const logFile = path.join(dir, 'train.log');
    const state = (status: FineTuneJobState['status'], error: string | null = null): FineTuneJobState => ({
      jobId,
      status,
      resultModel: null,
      adapterPath: null,
      error,
      events: tailLines(logFile, eventTail),
    });
    if (fs.existsSync(path.join(dir, 'cancelled'))) return state('cancelled');
    this.markPolled(dir);
    // Liveness before the exit code: the wrapper writes the exit code before it exits, so a group found dead
    // here has already left its exit code if it ever will.
    const notRunning = await this.whyNotRunning(dir, jobId);
    const exitCode = readOrNull(path.join(dir, 'exitcode'));
    if (exitCode === '0') {
      const adapterPath = path.join(dir, 'adapter');
      const resultModel = this.config.servedModel.replaceAll('{job}', jobId).replaceAll('{adapter}', adapterPath);
      return { ...state('succeeded'), resultModel, adapterPath };
    }
    const abandoned = readOrNull(path.join(dir, 'abandoned'));
    if (abandoned !== null) return state('failed', `trainer stopped itself: ${abandoned}`);
    if (exitCode !== null) {
      const tail = tailLines(logFile, 5).join('\n');
      return state('failed', `trainer exited with code ${exitCode}${tail ? `:\n${tail}` : ''}`);
    }
    return notRunning === null ? state('running') : state('failed', notRunning);
  }

  /** Tells the trainer's wrapper that a worker still follows the job (any new content counts). */
  private markPolled(dir: string): void {
    try {
      fs.writeFileSync(path.join(dir, 'polled'), String(Date.now()));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // no such job: getJob says so below
    }
  }

  async cancelJob(jobId: string): Promise<void> {
    const dir = this.jobDir(jobId);
    if (!fs.existsSync(path.join(dir, 'pid')) || fs.existsSync(path.join(dir, 'exitcode'))) return;
    // The marker goes first so that getJob says cancelled, not failed, however the trainer's exit looks.
    fs.writeFileSync(path.join(dir, 'cancelled'), new Date().toISOString());
    if (this.whereabouts(dir).kind === 'elsewhere') return this.awaitStopElsewhere(dir);
    const pgid = await this.liveGroup(dir, jobId);
    if (pgid === null) return;
    // The whole group, so the trainer's own children (data loaders, torchrun workers) go too.
    signalGroup(pgid, 'SIGTERM');
    if (await this.processes.waitGone(pgid, jobId, this.killGraceMs)) return;
    signalGroup(pgid, 'SIGKILL');
    await this.processes.waitGone(pgid, jobId, 5_000);
  }

  /**
   * Waits, bounded, for a trainer this worker cannot signal to stop on its `cancelled` marker: until its exit code
   * appears or its heartbeat falls silent (its wrapper stops beating once it acts on the marker).
   */
  private async awaitStopElsewhere(dir: string): Promise<void> {
    const deadline = Date.now() + this.heartbeatGraceMs + this.killGraceMs + 2 * this.heartbeatEveryMs;
    while (Date.now() < deadline) {
      if (fs.existsSync(path.join(dir, 'exitcode')) || this.silentMs(dir) > this.heartbeatGraceMs) return;
      await sleep(Math.min(1_000, this.heartbeatEveryMs));
    }
  }
}
