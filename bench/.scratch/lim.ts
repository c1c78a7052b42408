import { mkdtempSync } from 'node:fs'; import * as os from 'node:os'; import * as path from 'node:path';
import { ModelGateway } from '../../activities/providers/gateway';
import { ResponseCache } from '../../lib/response-cache';
import { startDouble, providersFor } from '../harness';
async function main() {
  const double = await startDouble({ latencyMs: 50 });
  const gw = new ModelGateway(new ResponseCache(mkdtempSync(path.join(os.tmpdir(), 'c-'))), { FLT_BENCH_KEY: 'k' });
  const p = providersFor(double, { maxConcurrency: 2 });
  const ask = (i: number) => ({ model: 'sim-model', messages: [{ role: 'user' as const, content: `Say something about item ${i}.` }], max_tokens: 16 });
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 12 }, (_, i) => gw.chat(p, 'double', ask(i))));
  const log = await double.requests();
  for (const r of log) console.log(r.seq, r.time - t0, r.durationMs, r.time + r.durationMs - t0);
  const p2 = providersFor(double, { maxConcurrency: 8, requestsPerMinute: 300 });
  await double.clearRequests();
  await Promise.all(Array.from({ length: 6 }, (_, i) => gw.chat(p2, 'double', ask(100 + i))));
  const s = (await double.requests()).map((r) => r.time).sort((a, b) => a - b);
  console.log(s.map((x, i) => i ? x - s[i - 1] : 0));
  await gw.close(); await double.stop();
}
main();
