// `flt validate` checks a config and its data and writes nothing: no dataset blob lands in the artifact store.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-validate-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('validates the SemiEvol example without writing to the data directory', () => {
  const dataHome = path.join(dir, '.flt');
  const env: NodeJS.ProcessEnv = { ...process.env, FLT_HOME: dataHome };
  delete env.FLT_ARTIFACT_ROOT;
  const result = spawnSync(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(root, 'client.ts'), 'validate', path.join(root, 'examples/semievol-fpb.yaml')],
    { encoding: 'utf8', env },
  );
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain('valid semievol config for task "fpb"');
  expect(result.stdout).toContain('labeled: 40 items from');
  expect(fs.existsSync(dataHome)).toBe(false);
});
