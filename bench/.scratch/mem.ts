import { startEnv, spawnWorker, dataHome, sleep } from '../harness';
async function main() {
  const env = await startEnv(console.log);
  const { home } = dataHome(env, 'm');
  const w = spawnWorker(env, { home, taskQueue: 'm', extraEnv: process.env.XENV ? JSON.parse(process.env.XENV) : {} }); await w.ready;
  for (let i = 0; i < 4; i++) { console.log(w.memory()); await sleep(1000); }
  await w.stop(); await env.close();
}
main();
