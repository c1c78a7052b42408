// The crash ledger: an attempt that never ended in its process counts as a crash, one that failed (a provider error)
// does not, and once the limit is reached the next attempt fails for good instead of running.
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkerCrashLoop, workerCrashLimit } from '../../lib/worker-crashes';

describe('worker crash limit', () => {
  let dir = mkdtempSync(path.join(os.tmpdir(), 'flt-attempts-'));
  const ctx = (attempt: number) =>
    ({
      info: {
        namespace: 'default',
        workflowExecution: { workflowId: 'wf', runId: 'run' },
        activityId: '7',
        activityType: 'collaborateOnShard',
        attempt,
      },
    }) as unknown as Context;
  const attempt = (n: number, work: () => Promise<unknown>) =>
    workerCrashLimit(dir, 2)(ctx(n)).inbound!.execute!({ args: [{ shard: { index: 2, of: 6 } }], headers: {} }, work);
  /** An attempt whose worker dies once it runs: the work starts (the ledger is written first) and never ends. */
  const dies = (n: number) =>
    new Promise<void>((started) => {
      void attempt(n, () => {
        started();
        return new Promise<never>(() => undefined);
      });
    });

  it('counts attempts that died with their worker, not those that failed, and stops at the limit', async () => {
    await expect(attempt(1, () => Promise.reject(new Error('500 from the provider')))).rejects.toThrow('500');
    await expect(attempt(2, () => Promise.reject(new Error('500 again')))).rejects.toThrow('500 again');
    // Provider failures leave nothing behind: they keep their own retry policy.
    expect(readdirSync(dir)).toEqual([]);
    await dies(3);
    await dies(4);
    const failed = await attempt(5, () => Promise.resolve('ran')).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(ApplicationFailure);
    expect(failed).toMatchObject({ type: WorkerCrashLoop, nonRetryable: true });
    expect((failed as Error).message).toMatch(
      /^collaborateOnShard \(shard 3 of 6\): its worker died 2 times running it .*maxItemChars.*FLT_WORKER_HEAP_MB/,
    );
  });

  it('counts an entry torn by a kill while it was written as that crash, and runs the next attempt', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flt-attempts-'));
    await dies(1);
    // A worker SIGKILLed while writing its entry left the file empty (a run once retried for ever on the parse error).
    const [entry] = readdirSync(dir);
    writeFileSync(path.join(dir, entry), '');
    await expect(attempt(2, () => Promise.resolve('ran'))).resolves.toBe('ran');
    // The torn entry's crash counts toward the limit of 2.
    await dies(3);
    writeFileSync(path.join(dir, entry), '{"crashes": 0, "run');
    await dies(4);
    await expect(attempt(5, () => Promise.resolve('ran'))).rejects.toMatchObject({ type: WorkerCrashLoop });
  });
});
