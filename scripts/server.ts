// `npm run server`: the Temporal dev server in the foreground, SQLite file under the data directory, UI on 8233.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { dataHome } from '../lib/artifacts';
import { devServerArgs, requireTemporalCli } from '../lib/dev-server';

// The CLI creates the SQLite file but not its folder, which a fresh clone does not have yet.
mkdirSync(dataHome(), { recursive: true });
const args = devServerArgs({
  port: Number(process.env.FLT_TEMPORAL_PORT ?? 7233),
  uiPort: Number(process.env.FLT_UI_PORT ?? 8233),
  dbFile: path.join(dataHome(), 'temporal.sqlite'),
});
console.log(`temporal ${args.join(' ')}`);
const child = spawn(requireTemporalCli(), args, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
