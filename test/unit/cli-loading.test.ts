// Each `flt` command loads only the libraries it uses: help loads none of the heavy ones, and a command that never
// reaches the server loads no Temporal client (its native module is most of a second of start-up; bench 9 times it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-cli-loading-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The npm packages `flt <args>` loaded, run from the source as `npm run flt` runs it without a build. */
function packagesLoadedBy(...args: string[]): string[] {
  const trace = path.join(dir, `${args.join('-').replace(/[^a-z-]/g, '')}.txt`);
  const run = spawnSync(
    process.execPath,
    ['-r', 'tsx/cjs', '-r', path.join(root, 'test/support/package-trace.ts'), path.join(root, 'client.ts'), ...args],
    { cwd: root, encoding: 'utf8', env: { ...process.env, FLT_PACKAGE_TRACE: trace, FLT_HOME: dir } },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return readFileSync(trace, 'utf8').split('\n');
}

const heavy = ['@temporalio/client', '@temporalio/proto', '@aws-sdk/client-s3', 'zod', 'yaml', 'openai'];

it('flt --help loads commander and none of the libraries that commands use', () => {
  const loaded = packagesLoadedBy('--help');
  expect(loaded).toContain('commander');
  expect(loaded.filter((p) => heavy.includes(p))).toEqual([]);
});

it('flt validate reads the config with zod and yaml, and loads no Temporal or S3 client', () => {
  const loaded = packagesLoadedBy('validate', 'examples/semievol-test-double.yaml');
  expect(loaded).toEqual(expect.arrayContaining(['zod', 'yaml']));
  expect(loaded.filter((p) => ['@temporalio/client', '@aws-sdk/client-s3'].includes(p))).toEqual([]);
});
