// `npm run server` on a fresh clone: the data directory (.flt) does not exist yet, and the script must create it
// before the Temporal CLI, which cannot create the SQLite file's folder, starts.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-server-script-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('creates the data directory before it starts the Temporal CLI', () => {
  // A stand-in for the CLI that fails as the real one does when the SQLite file's folder is missing.
  const fakeCli = path.join(dir, 'temporal');
  fs.writeFileSync(
    fakeCli,
    [
      '#!/bin/sh',
      'while [ "$#" -gt 0 ]; do [ "$1" = "--db-filename" ] && db="$2"; shift; done',
      'folder=$(dirname "$db")',
      '[ -d "$folder" ] || { echo "stat $folder: no such file or directory" >&2; exit 1; }',
      'echo "would start with $db"',
    ].join('\n'),
    { mode: 0o755 },
  );
  const dataHome = path.join(dir, 'fresh-clone', '.flt');
  const result = spawnSync(
    path.resolve(__dirname, '../../node_modules/.bin/tsx'),
    [path.resolve(__dirname, '../../scripts/server.ts')],
    { encoding: 'utf8', env: { ...process.env, TEMPORAL_CLI: fakeCli, FLT_HOME: dataHome } },
  );
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain(`would start with ${path.join(dataHome, 'temporal.sqlite')}`);
  expect(result.status).toBe(0);
  expect(fs.statSync(dataHome).isDirectory()).toBe(true);
});
