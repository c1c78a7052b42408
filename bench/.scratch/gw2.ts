import { mkdtempSync } from 'node:fs';
import * as os from 'node:os'; import * as path from 'node:path';
import Bottleneck from 'bottleneck';
import { startDouble, providersFor, mapLimited, syntheticMcq } from '../harness';
import { OpenAiCompatibleChat } from '../../activities/providers/openai-compatible';
import { ResponseCache } from '../../lib/response-cache';
import { zeroShotMessages } from '../../core/prompts';
async function main() {
  const double = await startDouble({ latencyMs: 20 });
  const providers = providersFor(double, { maxConcurrency: 8 });
  const items = syntheticMcq(2000, 'g', 3);
  let seed = 100;
  const mk = () => { seed++; return items.map((it) => ({ model: 'sim-model', messages: zeroShotMessages(it), temperature: 1, max_tokens: 1024, seed, logprobs: true })); };
  const env = { FLT_BENCH_KEY: 'x' };
  const chat = new OpenAiCompatibleChat(providers.double as any, env);
  const time = async (name: string, f: () => Promise<unknown>) => { const c0 = process.cpuUsage(); const t0 = Date.now(); await f(); const c = process.cpuUsage(c0); console.log(name.padEnd(20), Date.now() - t0, 'ms cpu', ((c.user + c.system) / 1000).toFixed(0)); };
  for (const round of [0, 1]) {
    await time('plain', () => mapLimited(mk(), 8, (r) => chat.complete(r)));
    const b = new Bottleneck({ maxConcurrent: 8, minTime: 0 });
    await time('bottleneck', () => Promise.all(mk().map((r) => b.schedule(() => chat.complete(r)))));
    const cache = new ResponseCache(mkdtempSync(path.join(os.tmpdir(), 'gwc-')));
    await time('plain+cache', () => mapLimited(mk(), 8, async (r) => { const k = ResponseCache.key(r); const g = await cache.get(k); if (g) return g; const x = await chat.complete(r); await cache.set(k, x); return x; }));
    const ac = new AbortController();
    await time('plain+signal', () => mapLimited(mk(), 8, (r) => chat.complete(r, ac.signal)));
  }
  await double.stop();
}
main();
