import { startEnv, spawnWorker, dataHome, startDouble } from '../harness';
async function main() {
  const t = Date.now(); const lap = (s: string) => console.log(s, Date.now() - t);
  const env = await startEnv(console.log); lap('env');
  const d = await startDouble({}); lap('double');
  const { home } = dataHome(env, 'x');
  const w = spawnWorker(env, { home, taskQueue: 'x' }); console.log('ready', await w.ready); lap('worker');
  await w.stop(); lap('worker stop');
  await d.stop(); lap('double stop');
  await env.close(); lap('env close');
}
main();
