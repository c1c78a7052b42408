// `--id` of `flt run` and `flt resume` is checked when the command line is read: the id becomes the workflow id and
// part of every artifact name, so one that cannot be an artifact name would fail the first activity for ever.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const flt = (...args: string[]) =>
  spawnSync(
    path.resolve(__dirname, '../../node_modules/.bin/tsx'),
    [path.resolve(__dirname, '../../client.ts'), ...args],
    {
      encoding: 'utf8',
      // Nothing may be reached: the id must be refused before the config is read or a server is called.
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    },
  );

it.each([
  ['run', 'no-such-config.yaml', '--id', 'my run'],
  ['run', 'no-such-config.yaml', '--id', '../escape'],
  ['resume', 'some-run', '--id', 'résumé'],
])('flt %s %s %s %j is refused in one sentence', (...args) => {
  const result = flt(...args);
  expect(result.stderr).toContain(
    `option '--id <runId>' argument '${args[3]}' is invalid. ` +
      'A run id must be 1 to 200 ASCII letters, digits, "_", "." or "-", and not "." or "..".',
  );
  expect(result.status).not.toBe(0);
});
