// Starting one of the project's TypeScript entry points as a process of its own. Node runs it directly with tsx's
// loader rather than through the `tsx` wrapper binary: the wrapper starts node as a child, so a SIGKILL of the
// wrapper (a crash test, an impatient operator) would leave the real process running.
import { spawn, spawnSync, type SpawnOptions, type SpawnSyncOptions } from 'node:child_process';
import * as path from 'node:path';

const tsxLoader = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');

export function tsArgs(script: string, args: string[] = []): string[] {
  return ['--import', tsxLoader, script, ...args];
}

export function spawnTs(script: string, args: string[], options: SpawnOptions) {
  return spawn(process.execPath, tsArgs(script, args), options);
}

export function spawnTsSync(script: string, args: string[], options: SpawnSyncOptions) {
  return spawnSync(process.execPath, tsArgs(script, args), options);
}
