// The project's worker, except that its process exits the moment it starts the activity named by FLT_TEST_DIE_IN, as
// a worker that runs out of heap there would: for tests of an activity that keeps killing its worker.
import { runWorker } from '../../lib/worker-main';

const dieIn = process.env.FLT_TEST_DIE_IN;

runWorker([
  (ctx) => ({
    inbound: {
      execute: (input, next) => (ctx.info.activityType === dieIn ? process.exit(134) : next(input)),
    },
  }),
]).catch((err) => {
  console.error(`dying worker: ${err?.message ?? err}`);
  process.exit(1);
});
