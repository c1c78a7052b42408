import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { defaultActivityDeps } from '../../activities/context';
import { startDevServer, freePort } from '../../lib/dev-server';
const mb = () => { const m = process.memoryUsage(); return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v / 2 ** 20)])); };
async function main() {
  console.log('start', mb());
  const server = await startDevServer({ port: await freePort(), uiPort: await freePort(), dbFile: '/tmp/bx/base.sqlite' });
  const connection = await NativeConnection.connect({ address: server.address });
  console.log('connected', mb());
  const worker = await Worker.create({ connection, taskQueue: 'b', workflowBundle: { codePath: process.argv[2] }, activities: createActivities(defaultActivityDeps({ FLT_HOME: '/tmp/bx/basehome' })), ...(process.env.POOL ? { workflowThreadPoolSize: Number(process.env.POOL) } : {}), ...(process.env.CACHE ? { maxCachedWorkflows: Number(process.env.CACHE) } : {}) });
  console.log('created', mb());
  await worker.runUntil(new Promise((r) => setTimeout(r, 3000)));
  console.log('ran', mb());
  const fs = require('fs'); console.log('threads', fs.readdirSync('/proc/self/task').length);
  await server.stop();
}
main();
