import { mkdtempSync } from 'node:fs';
import * as os from 'node:os'; import * as path from 'node:path';
import { startDouble, providersFor, mapLimited, syntheticMcq } from '../harness';
import { ModelGateway } from '../../activities/providers/gateway';
import { OpenAiCompatibleChat } from '../../activities/providers/openai-compatible';
import { ResponseCache } from '../../lib/response-cache';
import { zeroShotMessages } from '../../core/prompts';
async function main() {
  const double = await startDouble({ latencyMs: 20 });
  const providers = providersFor(double, { maxConcurrency: 8 });
  const items = syntheticMcq(2000, 'g', 3);
  const mk = (seed: number) => items.map((it) => ({ model: 'sim-model', messages: zeroShotMessages(it), temperature: 1, max_tokens: 1024, seed, logprobs: true }));
  const env = { FLT_BENCH_KEY: 'x' };
  for (const round of [0, 1]) {
    const chat = new OpenAiCompatibleChat(providers.double as any, env);
    let c0 = process.cpuUsage(); let t0 = Date.now();
    await mapLimited(mk(round * 10 + 1), 8, (r) => chat.complete(r));
    let c = process.cpuUsage(c0); console.log('plain', Date.now() - t0, 'ms cpu', ((c.user + c.system) / 1000).toFixed(0));
    const gw = new ModelGateway(new ResponseCache(mkdtempSync(path.join(os.tmpdir(), 'gwc-'))), env);
    c0 = process.cpuUsage(); t0 = Date.now();
    await Promise.all(mk(round * 10 + 2).map((r) => gw.chat(providers, 'double', r)));
    c = process.cpuUsage(c0); console.log('gateway', Date.now() - t0, 'ms cpu', ((c.user + c.system) / 1000).toFixed(0));
    await gw.close();
  }
  await double.stop();
}
main();
