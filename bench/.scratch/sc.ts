import { createWriteStream } from 'node:fs';
import { startEnv, dataHome, goldOf, providersFor, runSemievol, semievolInput, startDouble, syntheticMcq, sleep } from '../harness';
import { spawn } from 'node:child_process'; import * as path from 'node:path';
import { tsArgs } from '../../lib/ts-process';
import { procMemory, root } from '../harness';
async function main() {
  const n = Number(process.argv[2] ?? 10000);
  const env = await startEnv(console.log);
  const unlabeled = syntheticMcq(n, 'scale-u', 41), labeled = syntheticMcq(200, 'scale-l', 42), test = syntheticMcq(500, 'scale-t', 43);
  const double = await startDouble({ latencyMs: 0, fineTune: { stepMs: 100 } }, goldOf([...unlabeled, ...labeled, ...test]));
  const providers = providersFor(double, { maxConcurrency: 32 });
  const { home, store } = dataHome(env, 'scale');
  const out = createWriteStream('/tmp/bx/worker.log');
  const child = spawn(process.execPath, [...(process.env.NODEARGS ?? '').split(' ').filter(Boolean), ...tsArgs(path.join(root, 'worker.ts'))], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TEMPORAL_ADDRESS: env.server.address, FLT_HOME: home, FLT_TASK_QUEUE: 'sc', FLT_WORKFLOW_BUNDLE: env.bundlePath, FLT_BENCH_KEY: 'k', ...(process.env.XENV ? JSON.parse(process.env.XENV) : {}) } });
  child.stdout!.pipe(out); child.stderr!.pipe(out);
  await sleep(4000);
  console.log('idle', procMemory(child.pid!));
  const input = await semievolInput({ store, runId: 'sc', unlabeled, labeled, test, providers, shardSize: Number(process.env.SHARD ?? 250), parallelShards: 4, seed: 3 });
  let stop = false; const timeline: string[] = [];
  const t0 = Date.now();
  (async () => { while (!stop) { const m = procMemory(child.pid!); const stage = (await env.client.workflow.getHandle('sc').describe().catch(() => null))?.searchAttributes?.FltStage; timeline.push(`${((Date.now() - t0) / 1000).toFixed(0)}s ${m?.rssMb.toFixed(0)} ${stage}`); await sleep(2000); } })();
  const run = await runSemievol(env, 'sc', input);
  stop = true;
  console.log('done', run.ms, procMemory(child.pid!));
  console.log(timeline.join('\n'));
  child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r));
  await double.stop(); await env.close();
}
main();
