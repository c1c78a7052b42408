// Starting one of the project's TypeScript entry points as a process of its own. Node runs it directly with tsx's
// loader rather than through the `tsx` wrapper binary: the wrapper starts node as a child, so a SIGKILL of the
// wrapper (a crash test, an impatient operator) would leave the real process running.
import { spawn, spawnSync, type SpawnOptions, type SpawnSyncOptions } from 'node:child_process';
import * as path from 'node:path';

const tsxLoader = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');

export function tsArgs(script: string, args: string[] = []): string[] {
  return ['--import', tsxLoader, script, ...args];
}

/** Options for node itself, before the script: `workerNodeArgs` for workers. */
export function spawnTs(script: string, args: string[], options: SpawnOptions, nodeArgs: string[] = []) {
  return spawn(process.execPath, [...nodeArgs, ...tsArgs(script, args)], options);
}

/**
 * A worker's V8 old-space limit, as `npm run worker` sets it: with node's default the old generation grows to a few
 * hundred MB between collections while calls stream through, though the live heap stays under 70 MB (BENCHMARKS.md).
 * FLT_WORKER_HEAP_MB raises it for workers that hold large in-context demonstration pools.
 */
export function workerHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.FLT_WORKER_HEAP_MB) || 256;
}

export function workerNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return [`--max-old-space-size=${workerHeapMb(env)}`];
}

export function spawnTsSync(script: string, args: string[], options: SpawnSyncOptions) {
  return spawnSync(process.execPath, tsArgs(script, args), options);
}
