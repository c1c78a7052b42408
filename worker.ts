// The worker: hosts every workflow and activity. Configuration comes from its environment (see README).
import { runWorker } from './lib/worker-main';

runWorker().catch((err) => {
  console.error(`worker: ${err?.message ?? err}`);
  process.exit(1);
});
