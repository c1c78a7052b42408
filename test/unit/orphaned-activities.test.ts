// Which activity attempts a starting worker may fail at once: only those of a worker of this host that is gone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deadLocalWorker, localHost, rebootedSince, workerIdentity } from '../../lib/host-identity';

/** A process table as a container with this boot id and pid namespace sees it. */
function fakeProcRoot(bootId: string, pidNamespace: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-fake-proc-'));
  fs.mkdirSync(path.join(root, 'sys/kernel/random'), { recursive: true });
  fs.writeFileSync(path.join(root, 'sys/kernel/random/boot_id'), `${bootId}\n`);
  fs.mkdirSync(path.join(root, 'self/ns'), { recursive: true });
  fs.symlinkSync(pidNamespace, path.join(root, 'self/ns/pid'));
  return root;
}

describe('deadLocalWorker', () => {
  const alive = (pid: number) => pid === 4000;
  const check = (identity: string) => deadLocalWorker(identity, 'host-a', 5000, alive);

  it('is true for a worker of this host whose process is gone', () => {
    expect(check('1234@host-a')).toBe(true);
  });

  it('is false for a running process, another host, or an identity not in the default form', () => {
    expect(check('4000@host-a')).toBe(false);
    expect(check('1234@host-b')).toBe(false);
    expect(check('worker-7')).toBe(false);
    expect(check('')).toBe(false);
  });

  it("is true for this process's own pid: a worker yet to poll owns no attempt (a restarted container)", () => {
    expect(check('5000@host-a')).toBe(true);
  });

  it('checks real processes by default', () => {
    expect(deadLocalWorker(`${process.pid}@elsewhere`)).toBe(false);
    expect(deadLocalWorker(workerIdentity(undefined, process.ppid))).toBe(false);
  });

  it('never takes a worker of a container that shares the hostname but not the pid namespace for its own', () => {
    const bootId = 'f9ab9dd5-21d3-4d6a-b920-d08287718a35';
    const here = localHost(fakeProcRoot(bootId, 'pid:[4026532001]'), 'worker');
    const there = localHost(fakeProcRoot(bootId, 'pid:[4026532002]'), 'worker');
    expect(here).not.toBe(there);
    // Both containers run their worker as pid 1; the other's pid 7 does not run in this namespace.
    const noneRun = () => false;
    expect(deadLocalWorker(workerIdentity(there, 1), here, 1, noneRun)).toBe(false);
    expect(deadLocalWorker(workerIdentity(there, 7), here, 1, noneRun)).toBe(false);
    expect(deadLocalWorker(workerIdentity(here, 7), here, 1, noneRun)).toBe(true);
    // A host rebooted since (another boot id) numbers its processes afresh as well.
    expect(localHost(fakeProcRoot('0d7c2a3e-0000-4000-8000-000000000000', 'pid:[4026532001]'), 'worker')).not.toBe(
      here,
    );
  });
});

describe('rebootedSince', () => {
  it('is true only for one hostname under two boot ids', () => {
    const before = localHost(fakeProcRoot('f9ab9dd5-21d3-4d6a-b920-d08287718a35', 'pid:[4026531836]'), 'worker');
    const after = localHost(fakeProcRoot('0d7c2a3e-0000-4000-8000-000000000000', 'pid:[4026531836]'), 'worker');
    const otherNamespace = localHost(
      fakeProcRoot('f9ab9dd5-21d3-4d6a-b920-d08287718a35', 'pid:[4026532001]'),
      'worker',
    );
    expect(rebootedSince(before, after)).toBe(true);
    expect(rebootedSince(before, otherNamespace)).toBe(false);
    expect(rebootedSince(before.replace('worker', 'elsewhere'), after)).toBe(false);
    // Without a boot id (not Linux) the hostname alone says nothing about a reboot.
    expect(rebootedSince('worker', 'worker')).toBe(false);
  });
});
