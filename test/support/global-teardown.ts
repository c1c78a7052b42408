import { rmSync } from 'node:fs';
import type { DevServer } from '../../lib/dev-server';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as { __fltTemporal?: { server: DevServer; dir: string } }).__fltTemporal;
  if (!state) return;
  await state.server.stop();
  rmSync(state.dir, { recursive: true, force: true });
}
