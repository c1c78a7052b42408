// Benchmark 9, CLI start-up: how long `flt` takes to answer, built (`npm run build`, which setup runs) as the package
// bin runs it, against `node -e 0` on the same machine at the same moment. The commands are interleaved (node, help,
// validate, list, node, ...) so a change of load hits all alike; medians of the repetitions are reported.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fmt, root, type BenchEnv, type Verdict } from './harness';

export interface StartupOptions {
  repetitions: number;
}

interface Timed {
  name: string;
  /** Median wall time in milliseconds. */
  medianMs: number;
  /** The median over `node -e 0`'s. */
  ratio: number;
}

export interface StartupResult {
  repetitions: number;
  commands: Timed[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export async function startup(env: BenchEnv, opts: StartupOptions): Promise<StartupResult> {
  const build = spawnSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: root });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  const bin = path.join(root, 'bin/flt.js');
  const temporal = { TEMPORAL_ADDRESS: env.server.address, FLT_HOME: path.join(env.dir, 'startup') };
  const commands: { name: string; args: string[] }[] = [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: 'flt --help', args: [bin, '--help'] },
    { name: 'flt validate (semievol-test-double.yaml)', args: [bin, 'validate', 'examples/semievol-test-double.yaml'] },
    { name: 'flt list (no runs)', args: [bin, 'list'] },
  ];
  const times = commands.map(() => [] as number[]);
  for (let rep = 0; rep < opts.repetitions; rep++) {
    commands.forEach(({ name, args }, i) => {
      const started = process.hrtime.bigint();
      const run = spawnSync(process.execPath, args, { cwd: root, env: { ...process.env, ...temporal } });
      times[i].push(Number(process.hrtime.bigint() - started) / 1e6);
      if (run.status !== 0) throw new Error(`${name} exited ${run.status}:\n${run.stdout}${run.stderr}`);
    });
  }
  const nodeMs = median(times[0]);
  env.log(`startup: node -e 0 takes ${fmt(nodeMs)} ms (median of ${opts.repetitions})`);
  return {
    repetitions: opts.repetitions,
    commands: commands.map(({ name }, i) => ({ name, medianMs: median(times[i]), ratio: median(times[i]) / nodeMs })),
  };
}

export function startupReport(r: StartupResult): string[] {
  return [
    `Each command ${r.repetitions} times, interleaved, through \`node bin/flt.js\` on the compiled CLI (\`dist/\`).`,
    '',
    '| command | median | x `node -e 0` |',
    '|---|---|---|',
    ...r.commands.map((c) => `| ${c.name} | ${fmt(c.medianMs)} ms | ${c.ratio.toFixed(2)} |`),
  ];
}

export function startupVerdict(r: StartupResult): Verdict {
  const help = r.commands.find((c) => c.name === 'flt --help')!;
  return {
    benchmark: '9. CLI start-up',
    target: '`flt --help` within 3x `node -e 0`',
    measured: `${help.ratio.toFixed(2)}x (${fmt(help.medianMs)} ms against ${fmt(r.commands[0].medianMs)} ms)`,
    met: help.ratio <= 3,
  };
}
