// One real Temporal dev server (CLI binary, SQLite file, free ports) for the whole test run.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startDevServer } from '../../lib/dev-server';

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-test-temporal-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.sqlite'),
  });
  (globalThis as { __fltTemporal?: unknown }).__fltTemporal = { server, dir };
  process.env.FLT_TEST_TEMPORAL_ADDRESS = server.address; // inherited by jest's test workers
  process.env.FLT_TEST_TEMPORAL_UI = server.uiUrl;
}
