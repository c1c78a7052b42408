// Finding and starting the Temporal CLI's dev server (SQLite-backed, with its Web UI) for `npm run server`,
// the demo and the tests. Nothing here downloads a server: the CLI is installed by scripts/setup.sh.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import * as path from 'node:path';
import { searchAttributeFlags } from '../core/search-attributes';

const projectRoot = path.resolve(__dirname, '..');

/** $TEMPORAL_CLI, then the project's .tools/bin, then PATH, then Go's bin folder. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [env.TEMPORAL_CLI, path.join(projectRoot, '.tools', 'bin', 'temporal')];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'temporal'));
  try {
    candidates.push(path.join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim(), 'bin', 'temporal'));
  } catch {
    // no Go: fine when the CLI came another way
  }
  return candidates.find((c): c is string => !!c && existsSync(c)) ?? null;
}

export function requireTemporalCli(): string {
  const cli = findTemporalCli();
  if (!cli)
    throw new Error(
      'The Temporal CLI is not installed: run `npm run setup` (needs Go) or put `temporal` on PATH (see README).',
    );
  return cli;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

export interface DevServerOptions {
  port: number;
  uiPort: number;
  /** SQLite file: state survives a restart of the server. */
  dbFile: string;
  namespace?: string;
  /** Server dynamic config, e.g. `limit.historyCount.suggestContinueAsNew` (tests lower it to force rollovers). */
  dynamicConfig?: Record<string, string | number | boolean>;
}

export function devServerArgs(opts: DevServerOptions): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--db-filename',
    opts.dbFile,
    '--namespace',
    opts.namespace ?? 'default',
    '--log-level',
    'warn',
    ...searchAttributeFlags.flatMap((flag) => ['--search-attribute', flag]),
    ...Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ];
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the dev server in the background and resolves once its frontend accepts connections. */
export async function startDevServer(opts: DevServerOptions, log: 'inherit' | 'ignore' = 'ignore'): Promise<DevServer> {
  mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const child = spawn(requireTemporalCli(), devServerArgs(opts), { stdio: ['ignore', log, log] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(opts.port))) {
    if (child.exitCode !== null) throw new Error(`temporal server start-dev exited with code ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal server start-dev did not listen on port ${opts.port} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `127.0.0.1:${opts.port}`,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
