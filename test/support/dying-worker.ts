// The project's worker, except that its process exits the moment it starts the activity named by FLT_TEST_DIE_IN, as
// a worker that runs out of heap there would: for tests of an activity that keeps killing its worker. With
// FLT_TEST_DIE_AFTER it instead exits once that activity has done its work but before its completion reaches the
// server, the first time only (FLT_TEST_DIE_MARKER is the file that says it has died already).
import { writeFileSync } from 'node:fs';
import { runWorker } from '../../lib/worker-main';

const dieIn = process.env.FLT_TEST_DIE_IN;
const dieAfter = process.env.FLT_TEST_DIE_AFTER;
const marker = process.env.FLT_TEST_DIE_MARKER;

/** True the first time only, across processes: the marker file is created exclusively. */
function firstDeath(): boolean {
  if (!marker) return true;
  try {
    writeFileSync(marker, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

runWorker([
  (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        if (ctx.info.activityType === dieIn) process.exit(134);
        const result = await next(input);
        if (ctx.info.activityType === dieAfter && firstDeath()) process.exit(137);
        return result;
      },
    },
  }),
]).catch((err) => {
  console.error(`dying worker: ${err?.message ?? err}`);
  process.exit(1);
});
