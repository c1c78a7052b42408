import { startEnv } from '../harness';
import { overhead, overheadReport } from '../overhead';
async function main() {
  const env = await startEnv((l) => console.log(l));
  try {
    const r = await overhead(env, { questions: Number(process.argv[2] ?? 2000), concurrency: Number(process.argv[3] ?? 8), latencyMs: 20, shardSize: Number(process.argv[4] ?? 100), parallelShards: 4 }, 2);
    console.log(overheadReport(r).join('\n'));
  } finally { await env.close(); }
}
main().catch((e) => { console.error(e); process.exit(1); });
