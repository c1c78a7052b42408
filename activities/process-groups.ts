// Processes a job leaves running detached in its own process group (a trainer, a model server), recorded by pid in a
// job directory: whether they still run, signalling the whole group, and the tail of their log.
import * as fs from 'node:fs';
import * as path from 'node:path';

// Linux's per-boot id, under the process table: a pid recorded before a reboot says nothing about the process
// holding that number now.
const bootIdFile = 'sys/kernel/random/boot_id';

// How many /proc entries are read at once: enough to scan thousands of processes quickly, few enough to leave the
// worker's file descriptors and libuv threads to its activities.
const scanConcurrency = 16;

const logTailBytes = 64 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function readQuietly(file: string, encoding: BufferEncoding): Promise<string | null> {
  try {
    return await fs.promises.readFile(file, encoding);
  } catch {
    return null; // exited, or not ours to read
  }
}

/**
 * A recorded pid, or null when there is none or it is not a positive number: a worker killed while it wrote the file
 * left it empty, and an empty pid read as 0 names the reader's own process group.
 */
export function readPid(file: string): number | null {
  const text = readOrNull(file);
  return text !== null && /^[1-9]\d*$/.test(text) ? Number(text) : null;
}

/** Writes `file` whole or not at all (beside it, then renamed over it), so no reader finds it half written. */
export function writeWhole(file: string, content: string): void {
  const partial = `${file}.${process.pid}.partial`;
  fs.writeFileSync(partial, content);
  fs.renameSync(partial, file);
}

/** Signals a whole process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
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

export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `visit` over every item, at most `limit` at a time. */
async function forEachLimited<T>(items: T[], limit: number, visit: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await visit(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * A job's processes (a trainer, a model server) as a process table (`/proc`, or a copy of one in tests) shows them,
 * read without blocking the worker's event loop. On Linux a member must carry the job's name in its environment: pids
 * wrap (at 32,768 here), so once the job's leader is gone its number can lead a stranger's group, which must never be
 * taken for the job's or signalled. Zombies do not count either: where PID 1 does not reap orphans (containers without
 * an init), a dead job's children linger as zombies and kill(-pgid, 0) keeps succeeding.
 */
export class JobProcesses {
  constructor(private readonly procRoot: string) {}

  bootId(): string | null {
    try {
      return fs.readFileSync(path.join(this.procRoot, bootIdFile), 'utf8').trim();
    } catch {
      return null;
    }
  }

  /**
   * The pids of the group's live members that run the job. `among` limits the look to pids already known, so that
   * waiting for a group to exit reads a few files per poll rather than the whole table.
   */
  async members(pgid: number, jobId: string, among?: string[]): Promise<string[]> {
    const candidates = among ?? (await fs.promises.readdir(this.procRoot)).filter((entry) => /^\d+$/.test(entry));
    const found: string[] = [];
    await forEachLimited(candidates, scanConcurrency, async (pid) => {
      if (await this.runsJobInGroup(pid, pgid, jobId)) found.push(pid);
    });
    return found;
  }

  private async runsJobInGroup(pid: string, pgid: number, jobId: string): Promise<boolean> {
    const stat = await readQuietly(path.join(this.procRoot, pid, 'stat'), 'utf8');
    if (stat === null) return false;
    // After the parenthesised command name come state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) !== pgid || state === 'Z' || state === 'X') return false;
    const environ = await readQuietly(path.join(this.procRoot, pid, 'environ'), 'latin1');
    return environ !== null && environ.split('\0').includes(`FLT_JOB_NAME=${jobId}`);
  }

  /** Whether any process of the job's group still runs (without a process table: whether the group exists). */
  async alive(pgid: number, jobId: string): Promise<boolean> {
    if (!fs.existsSync(path.join(this.procRoot, 'self', 'stat'))) return signalGroup(pgid, 0);
    return (await this.members(pgid, jobId)).length > 0;
  }

  /** Waits up to `ms` for the group to exit: polls the members it had, then one full scan confirms none is left. */
  async waitGone(pgid: number, jobId: string, ms: number): Promise<boolean> {
    if (!fs.existsSync(path.join(this.procRoot, 'self', 'stat'))) {
      const deadline = Date.now() + ms;
      while (signalGroup(pgid, 0)) {
        if (Date.now() >= deadline) return false;
        await sleep(50);
      }
      return true;
    }
    const deadline = Date.now() + ms;
    let members = await this.members(pgid, jobId);
    while (members.length > 0) {
      if (Date.now() >= deadline) return false;
      await sleep(50);
      members = await this.members(pgid, jobId, members);
      // A child forked since the last full scan would be missed by the known pids alone.
      if (members.length === 0) members = await this.members(pgid, jobId);
    }
    return true;
  }
}

/** The last `count` non-empty lines of a log, reading only its end (trainer logs can be large). */
export function tailLines(file: string, count: number): string[] {
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
