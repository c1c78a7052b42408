// Who a worker is and whether it still runs: a host named by hostname, boot and pid namespace, and a worker by its pid
// on that host. Apart from Temporal, so the response cache can tell its ended writers without loading the client.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readOrEmpty(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

/**
 * Where a pid means one process: the hostname, the kernel's boot id and the pid namespace. Two containers can share a
 * hostname (and a kernel) yet number their processes apart, so a hostname alone would let one worker fail the live
 * attempts of another whose pid happens not to run here. Without a process table (not Linux), the hostname alone.
 */
export function localHost(procRoot = '/proc', hostname = os.hostname()): string {
  const bootId = readOrEmpty(() => fs.readFileSync(path.join(procRoot, 'sys/kernel/random/boot_id'), 'utf8'));
  // e.g. "pid:[4026531836]": the namespace's inode, the same for every process in it.
  const pidNamespace = readOrEmpty(() => fs.readlinkSync(path.join(procRoot, 'self/ns/pid'))).replace(/\D/g, '');
  return bootId || pidNamespace ? `${hostname}/${bootId.slice(0, 8)}/${pidNamespace}` : hostname;
}

/** True when two identities from localHost name one machine (same hostname) under different boots: it rebooted. */
export function rebootedSince(recorded: string, current: string): boolean {
  const [recordedName, recordedBoot] = recorded.split('/');
  const [currentName, currentBoot] = current.split('/');
  return recordedName === currentName && !!recordedBoot && !!currentBoot && recordedBoot !== currentBoot;
}

let thisHost: string | undefined;
/** This process's localHost(), read once. */
export const cachedLocalHost = () => (thisHost ??= localHost());

/** The identity the worker polls under; an attempt it leaves behind when it dies names it. */
export const workerIdentity = (host = cachedLocalHost(), pid = process.pid) => `${pid}@${host}`;

/**
 * True when `identity` is a worker of this host whose process is gone. A worker that has not polled yet owns no
 * activity, so its own pid in an identity (a restarted container reusing the pid) also means a dead predecessor.
 */
export function deadLocalWorker(
  identity: string,
  host = cachedLocalHost(),
  self = process.pid,
  alive = running,
): boolean {
  const match = /^(\d+)@(.+)$/.exec(identity);
  if (!match || match[2] !== host) return false;
  const pid = Number(match[1]);
  return pid === self || !alive(pid);
}
