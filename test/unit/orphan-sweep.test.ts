// The worker's sweep for a dead predecessor's activities, apart from the server: a sweep that runs for minutes leaves
// nothing behind on the worker, and a server it cannot reach at first is tried again at the next sweep.
import type { Client } from '@temporalio/client';
import { getEventListeners } from 'node:events';
import { sweepOrphanedActivities } from '../../lib/orphaned-activities';

/** Waits until `done` holds; the bound only keeps a broken sweep from hanging the suite, it never ends a slow one. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 60_000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A client whose server lists no running workflow, counting how often it was asked. */
function emptyServer(): { client: Client; lists: () => number } {
  let lists = 0;
  const client = {
    withDeadline: (_deadline: number, fn: () => Promise<unknown>) => fn(),
    workflow: {
      list: () => {
        lists++;
        return [];
      },
    },
  } as unknown as Client;
  return { client, lists: () => lists };
}

describe('sweepOrphanedActivities', () => {
  afterEach(() => jest.restoreAllMocks());

  it('waits between sweeps without piling up listeners on its stop signal', async () => {
    const signals: AbortSignal[] = [];
    const RealAbortController = AbortController;
    jest.spyOn(global, 'AbortController').mockImplementation(() => {
      const controller = new RealAbortController();
      signals.push(controller.signal);
      return controller;
    });
    const { client, lists } = emptyServer();
    const sweep = sweepOrphanedActivities(async () => client, 'q', {
      everyMs: 1,
      forMs: 60_000,
      deadlineMs: 1_000,
      self: '1@h',
    });
    await until(() => lists() >= 20);
    // At most the one wait in progress listens.
    expect(signals.map((signal) => getEventListeners(signal, 'abort').length <= 1)).toEqual([true]);
    await sweep.stop();
  });

  it('connects again at the next sweep when the server could not be reached', async () => {
    const { client, lists } = emptyServer();
    let connects = 0;
    const errors: unknown[] = [];
    const connect = async () => {
      if (++connects === 1) throw new Error('connection refused');
      return client;
    };
    const sweep = sweepOrphanedActivities(connect, 'q', {
      everyMs: 1,
      forMs: 60_000,
      deadlineMs: 1_000,
      self: '1@h',
      onError: (err) => errors.push(err),
    });
    await sweep.first;
    await until(() => lists() >= 2);
    await sweep.stop();
    expect(lists()).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([new Error('connection refused')]);
    expect(connects).toBeGreaterThanOrEqual(2);
  });
});
