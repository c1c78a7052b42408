import { readFileSync } from 'node:fs';
import { startEnv, spawnWorker, dataHome, startDouble, providersFor, collaborateInput, syntheticMcq, execute, mapLimited } from '../harness';
import { OpenAiCompatibleChat } from '../../activities/providers/openai-compatible';
import { fewShotMessages } from '../../core/prompts';
import type { ChatRequest, McqItem } from '../../core/types';
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
async function main() {
  const env = await startEnv(console.log);
  const double = await startDouble({ latencyMs: 20 });
  const providers = providersFor(double, { maxConcurrency: 8 });
  const { home, store } = dataHome(env, 'cpu');
  const w = spawnWorker(env, { home, taskQueue: 'cpu', nodeArgs: process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bx/prof'] : [] }); await w.ready;
  const dpid = Number((await (await fetch(double.url + '/_admin/health')).json() as any).pid ?? 0);
  const input = await collaborateInput(env, { store, taskQueue: 'cpu', runId: 'cpu', unlabeled: syntheticMcq(1000, 'c', 1), labeled: syntheticMcq(100, 'l', 2), providers, shardSize: Number(process.argv[2] ?? 100), parallelShards: 4, seed: 5 });
  // plain
  const labeled = await store.readAll<McqItem>(input.labeled);
  const reqs: ChatRequest[] = [];
  for (const shard of input.shards) { const items = await store.readAll<McqItem>(shard.items); const nb = await store.readAll<any>(input.neighbours![shard.index]);
    items.forEach((item, i) => input.collaborators.forEach((s, j) => reqs.push({ model: s.model === 'warm' ? 'sim-model-2' : 'sim-model', messages: fewShotMessages(item, nb[i].neighbours.slice(0, s.examples).map((p: number) => labeled[p])), temperature: 1, max_tokens: 1024, seed: 77 + j, logprobs: true }))); }
  const chat = new OpenAiCompatibleChat(providers.double as any, { FLT_BENCH_KEY: 'x' });
  let c0 = process.cpuUsage(); let t0 = Date.now();
  await mapLimited(reqs, 8, (r) => chat.complete(r));
  let c1 = process.cpuUsage(c0); console.log('plain', Date.now() - t0, 'ms; client cpu ms', (c1.user + c1.system) / 1000);
  const wc0 = cpu(w.pid); t0 = Date.now(); c0 = process.cpuUsage();
  await execute(env, 'collaborate', { taskQueue: 'cpu', workflowId: 'cpu--collaborate', args: [input] }, 600000);
  c1 = process.cpuUsage(c0);
  console.log('pipeline', Date.now() - t0, 'ms; worker cpu ms', cpu(w.pid) - wc0, 'bench cpu', (c1.user + c1.system) / 1000);
  await w.stop(); await double.stop(); await env.close();
}
main();
