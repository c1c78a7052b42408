// Local trainer backend: runs a shell command (e.g. LLaMA-Factory with a LoRA config) on the worker host.
//
// The trainer is started detached, in its own process group, with its state kept in files under the job directory
// (pid, exitcode, cancelled, train.log). A worker crash therefore does not kill it, and a retried activity re-attaches
// to it through findJob instead of starting a second trainer. This assumes the retry lands on the same host.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FineTuneBackendConfig } from '../../../core/config';
import type { FineTuneJobState } from '../../../core/types';
import {
  endedWithoutModel,
  eventTail,
  tagName,
  type CreateJobArgs,
  type FineTuneBackend,
  type JobTag,
} from './backend-common';

type CommandConfig = Extract<FineTuneBackendConfig, { kind: 'command' }>;

// Wrapper run by `sh -c`: $1 is the user's command, $2 the exit code file. Passing both as arguments rather than
// splicing them into the script avoids any quoting. The rename makes the exit code appear atomically.
const wrapper = 'sh -c "$1"; echo $? > "$2.tmp" && mv "$2.tmp" "$2"';

// Linux's per-boot id: a pid recorded before a reboot says nothing about the process holding that number now.
const bootIdPath = '/proc/sys/kernel/random/boot_id';

const logTailBytes = 64 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function currentBootId(): string | null {
  try {
    return fs.readFileSync(bootIdPath, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Signals a whole process group; false when the group is already gone. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // EPERM: the group exists but belongs to someone else.
    if (code === 'EPERM') return true;
    if (code === 'ESRCH') return false;
    throw err;
  }
}

/** Whether the process runs with this job's FLT_JOB_NAME, which the trainer and its children inherit. */
function runsJob(pid: string, jobId: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`FLT_JOB_NAME=${jobId}`);
  } catch {
    return false; // exited, or not ours to read
  }
}

/**
 * Whether any process of the job's group still runs. On Linux a member must carry the job's name in its environment:
 * pids wrap (at 32,768 here), so once the trainer is gone its number can lead a stranger's group, which must never be
 * taken for the trainer or signalled. Zombies do not count either: where PID 1 does not reap orphans (containers
 * without an init), a dead trainer's children linger as zombies and kill(-pgid, 0) keeps succeeding.
 */
function groupAlive(pgid: number, jobId: string): boolean {
  if (!fs.existsSync('/proc/self/stat')) return signalGroup(pgid, 0);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited during the scan
    }
    // After the parenthesised command name come state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X' && runsJob(entry, jobId)) return true;
  }
  return false;
}

async function waitGone(pgid: number, jobId: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupAlive(pgid, jobId)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** The last `count` non-empty lines of a log, reading only its end (trainer logs can be large). */
function tailLines(file: string, count: number): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, logTailBytes);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    // Progress bars redraw with \r, so it separates lines too.
    const lines = buffer
      .toString('utf8')
      .split(/\r\n|\r|\n/)
      .filter((line) => line.trim() !== '');
    return lines.slice(-count);
  } finally {
    fs.closeSync(fd);
  }
}

function fileSha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export class CommandFineTuneBackend implements FineTuneBackend {
  private readonly workDir: string;
  private readonly env: NodeJS.ProcessEnv;
  /** How long a cancelled trainer gets between SIGTERM and SIGKILL. */
  private readonly killGraceMs: number;

  constructor(
    private readonly config: CommandConfig,
    options: { workDir: string; env: NodeJS.ProcessEnv; killGraceMs?: number },
  ) {
    this.workDir = path.resolve(options.workDir);
    this.env = options.env;
    this.killGraceMs = options.killGraceMs ?? 10_000;
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
    // A second trainer on the same job directory would corrupt the first one's output.
    const existing = await this.findJob(args.tag);
    const jobId = tagName(args.tag);
    const dir = this.jobDir(jobId);
    if (existing && !endedWithoutModel(existing)) return existing;
    if (existing) {
      // A new attempt after a failed or cancelled one: its markers go, its log and training file stay.
      for (const marker of ['pid', 'exitcode', 'cancelled', 'boot-id'])
        fs.rmSync(path.join(dir, marker), { force: true });
      fs.rmSync(path.join(dir, 'adapter'), { recursive: true, force: true });
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
      FLT_BASE_MODEL: args.baseModel,
      FLT_EPOCHS: h.epochs?.toString(),
      FLT_LEARNING_RATE: h.learningRate?.toString(),
      FLT_LORA: h.lora === false ? '0' : '1',
      FLT_JOB_NAME: jobId,
      FLT_BATCH_SIZE: h.batchSize?.toString(),
      FLT_INIT_ADAPTER: args.initAdapter,
    };
    const env: NodeJS.ProcessEnv = { ...this.env };
    // Unset hyperparameters are removed rather than inherited from the worker, so the trainer's defaults apply.
    for (const [key, value] of Object.entries(vars)) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const log = fs.openSync(path.join(dir, 'train.log'), 'a');
    try {
      const child = spawn('sh', ['-c', wrapper, 'flt-trainer', this.config.command, path.join(dir, 'exitcode')], {
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
      const bootId = currentBootId();
      if (bootId) fs.writeFileSync(path.join(dir, 'boot-id'), bootId);
      // Written last: its presence is what findJob takes as "this job exists".
      fs.writeFileSync(path.join(dir, 'pid'), String(child.pid));
    } finally {
      fs.closeSync(log);
    }
    return this.getJob(jobId);
  }

  /** The trainer's process group, or null when nothing of it runs (or the host rebooted since it started). */
  private liveGroup(dir: string, jobId: string): number | null {
    const pid = readOrNull(path.join(dir, 'pid'));
    if (pid === null) throw new Error(`Command fine-tune backend: no job in ${dir}.`);
    const bootId = readOrNull(path.join(dir, 'boot-id'));
    if (bootId !== null && bootId !== currentBootId()) return null;
    const pgid = Number(pid);
    return groupAlive(pgid, jobId) ? pgid : null;
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
    // Liveness before the exit code: the wrapper writes the exit code before it exits, so a group found dead
    // here has already left its exit code if it ever will.
    const alive = this.liveGroup(dir, jobId) !== null;
    const exitCode = readOrNull(path.join(dir, 'exitcode'));
    if (exitCode === '0') {
      const adapterPath = path.join(dir, 'adapter');
      const resultModel = this.config.servedModel.replaceAll('{job}', jobId).replaceAll('{adapter}', adapterPath);
      return { ...state('succeeded'), resultModel, adapterPath };
    }
    if (exitCode !== null) {
      const tail = tailLines(logFile, 5).join('\n');
      return state('failed', `trainer exited with code ${exitCode}${tail ? `:\n${tail}` : ''}`);
    }
    if (alive) return state('running');
    return state('failed', 'trainer process vanished (worker host restarted?)');
  }

  async cancelJob(jobId: string): Promise<void> {
    const dir = this.jobDir(jobId);
    if (!fs.existsSync(path.join(dir, 'pid')) || fs.existsSync(path.join(dir, 'exitcode'))) return;
    // The marker goes first so that getJob says cancelled, not failed, however the trainer's exit looks.
    fs.writeFileSync(path.join(dir, 'cancelled'), new Date().toISOString());
    const pgid = this.liveGroup(dir, jobId);
    if (pgid === null) return;
    // The whole group, so the trainer's own children (data loaders, torchrun workers) go too.
    signalGroup(pgid, 'SIGTERM');
    if (await waitGone(pgid, jobId, this.killGraceMs)) return;
    signalGroup(pgid, 'SIGKILL');
    await waitGone(pgid, jobId, 5_000);
  }
}
