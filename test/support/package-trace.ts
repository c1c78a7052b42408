// Required with `node -r` ahead of a CLI command: at exit, writes the npm packages the process loaded, one per line,
// to $FLT_PACKAGE_TRACE, so a test can see what a command loads.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const packages = new Set<string>();
  for (const file of Object.keys(require.cache)) {
    const parts = file.split('/node_modules/');
    if (parts.length < 2) continue;
    const [scope, name] = parts.at(-1)!.split('/');
    packages.add(scope.startsWith('@') ? `${scope}/${name}` : scope);
  }
  writeFileSync(process.env.FLT_PACKAGE_TRACE!, [...packages].sort().join('\n'));
});
