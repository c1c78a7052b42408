// `npm run bench [-- --full] [-- --only overhead,saturation,...]`: runs the benchmarks on a throwaway Temporal dev
// server and the provider test double, then writes each one's figures into BENCHMARKS.md between its markers,
// with the machine, the date and the command. Nothing here is a test: timings are reported, never asserted.
import { Command } from 'commander';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { batch, batchReport, batchVerdict } from './batch';
import { cost, costReport, costVerdict } from './cost';
import {
  dataHome,
  goldOf,
  providersFor,
  root,
  runSemievol,
  semievolInput,
  spawnWorker,
  startDouble,
  startEnv,
  syntheticMcq,
  type BenchEnv,
  type Verdict,
} from './harness';
import { historyOf, historyReport, historyVerdict } from './history';
import { overhead, overheadReport, overheadVerdict } from './overhead';
import { resume, resumeReport, resumeVerdict } from './resume';
import { saturation, saturationReport, saturationVerdict } from './saturation';
import { workerHeapMb } from '../lib/ts-process';
import { scale, scaleReport, scaleVerdict } from './scale';
import { scaleOut, scaleOutReport, scaleOutVerdict } from './scale-out';
import { startup, startupReport, startupVerdict } from './startup';
import { semievolShardSize as shardSize } from '../core/semievol-config';

const names = ['overhead', 'saturation', 'history', 'cost', 'resume', 'scale', 'scaleout', 'batch', 'startup'] as const;
type Name = (typeof names)[number];

const program = new Command()
  .name('npm run bench --')
  .description('Runs the benchmarks and writes their figures into BENCHMARKS.md.')
  .option('--full', 'the scale benchmark on 100,000 questions (default: 10,000)')
  .option('--only <names>', `comma-separated subset of ${names.join(', ')}`)
  .option('--output <file>', 'the file to write', path.join(root, 'BENCHMARKS.md'))
  .option('--no-write', 'print the figures only');

/** History and cost read one whole SemiEvol run (D_U of 2,000 as in the overhead benchmark, 1,000 test questions). */
async function semievolFixture<T>(
  env: BenchEnv,
  use: (
    run: Awaited<ReturnType<typeof runSemievol>>,
    double: Awaited<ReturnType<typeof startDouble>>,
    taskQueue: string,
  ) => Promise<T>,
): Promise<T> {
  const unlabeled = syntheticMcq(2000, 'run-u', 51);
  const labeled = syntheticMcq(100, 'run-l', 52);
  const test = syntheticMcq(1000, 'run-t', 53);
  const double = await startDouble(
    { latencyMs: 20, fineTune: { stepMs: 100 } },
    goldOf([...unlabeled, ...labeled, ...test]),
  );
  const { home, store } = dataHome(env, 'semievol');
  const taskQueue = 'bench-semievol';
  const worker = spawnWorker(env, { home, taskQueue });
  try {
    await worker.ready;
    const input = await semievolInput({
      store,
      runId: 'bench-semievol',
      unlabeled,
      labeled,
      test,
      providers: providersFor(double, { maxConcurrency: 8 }),
      shardSize,
      parallelShards: 4,
      seed: 5,
    });
    const run = await runSemievol(env, taskQueue, input);
    env.log(`semievol: whole run on ${unlabeled.length} questions in ${(run.ms / 1000).toFixed(1)} s`);
    return await use(run, double, taskQueue);
  } finally {
    await worker.stop();
    await double.stop();
  }
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{ full?: boolean; only?: string; output: string; write: boolean }>();
  const only = opts.only ? opts.only.split(',').map((s) => s.trim()) : [...names];
  const unknown = only.filter((n) => !names.includes(n as Name));
  if (unknown.length) program.error(`Unknown benchmark ${unknown.join(', ')}: expected some of ${names.join(', ')}.`);
  const want = (name: Name) => only.includes(name);

  const started = Date.now();
  const loadAtStart = os.loadavg()[0];
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const sections: Record<string, string[]> = {};
  const verdicts: Verdict[] = [];
  const record = <R>(name: string, result: R, report: (r: R) => string[], verdict: (r: R) => Verdict) => {
    sections[name] = report(result);
    verdicts.push(verdict(result));
  };
  const env = await startEnv(log);
  try {
    if (want('overhead'))
      record(
        'overhead',
        await overhead(env, { questions: 2000, concurrency: 8, latencyMs: 20, shardSize, parallelShards: 4 }, 3),
        overheadReport,
        overheadVerdict,
      );
    if (want('saturation'))
      record(
        'saturation',
        await saturation(env, { requestsPerMinute: 600, windowMs: 120_000, concurrency: 8 }),
        saturationReport,
        saturationVerdict,
      );
    if (want('history') || want('cost')) {
      await semievolFixture(env, async (run, double, taskQueue) => {
        if (want('history')) record('history', await historyOf(env, run), historyReport, historyVerdict);
        if (want('cost')) record('cost', await cost(env, run, double, taskQueue), costReport, costVerdict);
      });
    }
    if (want('resume'))
      record(
        'resume',
        await resume(env, { questions: 1000, concurrency: 8, latencyMs: 20, killAt: 0.4, timeoutMs: 120_000 }),
        resumeReport,
        resumeVerdict,
      );
    if (want('scale')) {
      const questions = opts.full ? 100_000 : 10_000;
      const results = [];
      // With node's default heap, and with the heap limit `npm run worker` starts workers with.
      for (const heapMb of [null, workerHeapMb({})])
        results.push(
          await scale(env, {
            questions,
            workerHeapMb: heapMb,
            test: 500,
            concurrency: 32,
            shardSize,
            parallelShards: 4,
          }),
        );
      record(opts.full ? 'scale-full' : 'scale', results, scaleReport, scaleVerdict);
    }
    if (want('scaleout'))
      record(
        'scaleout',
        await scaleOut(env, {
          requestsPerMinute: 300,
          calls: 330,
          latencyMs: 250,
          workers: [1, 2, 4],
          shardSize: 4,
          parallelShards: 8,
        }),
        scaleOutReport,
        scaleOutVerdict,
      );
    if (want('batch'))
      record(
        'batch',
        await batch(env, {
          questions: 10_000,
          concurrency: 32,
          shardSize,
          parallelShards: 4,
          pollIntervalSeconds: 5,
          stepMs: 3000,
        }),
        batchReport,
        batchVerdict,
      );
    if (want('startup')) record('startup', await startup(env, { repetitions: 15 }), startupReport, startupVerdict);
  } finally {
    await env.close();
  }

  const machine =
    `${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${os.type()} ${os.release()}, Node ${process.version}`;
  const stamp =
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`${command}\` on ${machine}; ` +
    `1-minute load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end; ` +
    `the whole command took ${((Date.now() - started) / 60_000).toFixed(1)} min.`;
  for (const [name, lines] of Object.entries(sections)) {
    console.log(`\n## ${name}\n${lines.join('\n')}`);
  }
  // The summary is rewritten only by a run of every benchmark, so its figures always come from one run.
  if (verdicts.length === names.length) {
    sections.summary = [
      '| benchmark | target | measured | |',
      '|---|---|---|---|',
      ...verdicts
        .sort((a, b) => a.benchmark.localeCompare(b.benchmark))
        .map((v) => `| ${v.benchmark} | ${v.target} | ${v.measured} | ${v.met ? 'met' : '**NOT met**'} |`),
    ];
  }
  if (opts.write) writeSections(opts.output, sections, stamp);
}

/** Replaces each section's block between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, appending missing ones. */
function writeSections(file: string, sections: Record<string, string[]>, stamp: string): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  for (const [name, lines] of Object.entries(sections)) {
    const block = `<!-- bench:${name} -->\n${[...lines, '', `_${stamp}_`].join('\n')}\n<!-- /bench:${name} -->`;
    const pattern = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
    text = pattern.test(text) ? text.replace(pattern, () => block) : `${text.trimEnd()}\n\n## ${name}\n\n${block}\n`;
  }
  writeFileSync(file, text);
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
