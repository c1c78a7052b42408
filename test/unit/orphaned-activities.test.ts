// Which activity attempts a starting worker may fail at once: only those of a worker of this host that is gone.
import * as os from 'node:os';
import { deadLocalWorker } from '../../lib/orphaned-activities';

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
    expect(deadLocalWorker(`${process.ppid}@${os.hostname()}`)).toBe(false);
  });
});
