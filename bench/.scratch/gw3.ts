import Bottleneck from 'bottleneck';
import { startDouble, providersFor, mapLimited, syntheticMcq } from '../harness';
import { OpenAiCompatibleChat } from '../../activities/providers/openai-compatible';
import { zeroShotMessages } from '../../core/prompts';
class Sem { private active = 0; private q: (() => void)[] = []; constructor(private max: number) {}
  async run<T>(f: () => Promise<T>): Promise<T> { if (this.active >= this.max) await new Promise<void>((r) => this.q.push(r)); else this.active++; try { return await f(); } finally { const n = this.q.shift(); if (n) n(); else this.active--; } } }
async function main() {
  const double = await startDouble({ latencyMs: 20 });
  const providers = providersFor(double, { maxConcurrency: 8 });
  const items = syntheticMcq(2000, 'g', 3);
  let seed = 100;
  const mk = () => { seed++; return items.map((it) => ({ model: 'sim-model', messages: zeroShotMessages(it), temperature: 1, max_tokens: 1024, seed, logprobs: true })); };
  const chat = new OpenAiCompatibleChat(providers.double as any, { FLT_BENCH_KEY: 'x' });
  const time = async (name: string, f: () => Promise<unknown>) => { const c0 = process.cpuUsage(); const t0 = Date.now(); await f(); const c = process.cpuUsage(c0); console.log(name.padEnd(20), Date.now() - t0, 'ms cpu', ((c.user + c.system) / 1000).toFixed(0)); };
  for (const round of [0, 1]) {
    await time('plain', () => mapLimited(mk(), 8, (r) => chat.complete(r)));
    const b = new Bottleneck({ maxConcurrent: 8, minTime: 0 });
    await time('bottleneck-all', () => Promise.all(mk().map((r) => b.schedule(() => chat.complete(r)))));
    const b2 = new Bottleneck({ maxConcurrent: 8, minTime: 0 });
    await time('bottleneck-fed16', () => mapLimited(mk(), 16, (r) => b2.schedule(() => chat.complete(r))));
    const s = new Sem(8);
    await time('semaphore-all', () => Promise.all(mk().map((r) => s.run(() => chat.complete(r)))));
  }
  await double.stop();
}
main();
