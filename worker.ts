// The worker: hosts the workflows and activities of its role (`--role inference|trainer|all`, default all).
// Configuration comes from its environment (see README).
import { runWorker } from './lib/worker-main';

runWorker().catch((err) => {
  console.error(`worker: ${err?.message ?? err}`);
  process.exit(1);
});
