#!/usr/bin/env node
// The package bin: runs the compiled CLI (`npm run build`, which setup runs) when it is newer than every source file
// the CLI is built from, else the TypeScript source through tsx, so an edit is never run stale.
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'client.js');
const sourceDirs = ['cli', 'core', 'lib', 'activities', 'workflows'];

/** The newest modification time of the .ts files under `dir`, recursively (a few milliseconds for the whole tree). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

function compiledIsCurrent() {
  if (!fs.existsSync(compiled)) return false;
  const sources = sourceDirs.map((dir) => newestSource(path.join(root, dir)));
  return fs.statSync(compiled).mtimeMs >= Math.max(fs.statSync(path.join(root, 'client.ts')).mtimeMs, ...sources);
}

if (compiledIsCurrent()) {
  require(compiled);
} else {
  require('tsx/cjs');
  require(path.join(root, 'client.ts'));
}
