// Workflows run in Temporal's deterministic sandbox: everything they import, transitively, must be free of I/O,
// clocks and randomness. This walks the real import graph from workflows/ and fails on the first offender.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const allowedPackages = new Set(['@temporalio/workflow', '@temporalio/common', 'zod']);
const forbiddenCalls = [
  /\bMath\.random\(/,
  /\bDate\.now\(/,
  /\bnew Date\(\s*\)/,
  /\bprocess\./,
  /\bsetTimeout\(/,
  /\brequire\(/,
];

/** Value imports only: `import type` and `export type` vanish at compile time. */
function valueImports(source: string): string[] {
  const specifiers: string[] = [];
  const pattern = /^\s*(import|export)\s+(?!type\b)([^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(pattern)) specifiers.push(match[3]);
  return specifiers;
}

function resolveLocal(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  throw new Error(`cannot resolve ${specifier} from ${from}`);
}

function sandboxedFiles(): Map<string, string[]> {
  const problems = new Map<string, string[]>();
  const seen = new Set<string>();
  const queue = readdirSync(path.join(root, 'workflows'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(root, 'workflows', f));
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const found: string[] = [];
    for (const specifier of valueImports(source)) {
      if (specifier.startsWith('.')) queue.push(resolveLocal(file, specifier));
      else if (!allowedPackages.has(specifier)) found.push(`imports ${specifier}`);
    }
    const code = source.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const call of forbiddenCalls) if (call.test(code)) found.push(`uses ${call.source.replace(/\\/g, '')}`);
    problems.set(path.relative(root, file), found);
  }
  return problems;
}

describe('workflow sandbox', () => {
  const files = sandboxedFiles();

  it('reaches the workflows and the pure modules they use', () => {
    expect([...files.keys()]).toEqual(
      expect.arrayContaining(['workflows/index.ts', 'workflows/evaluate.ts', 'core/types.ts']),
    );
    expect([...files.keys()].some((f) => f.startsWith('activities/') || f.startsWith('lib/'))).toBe(false);
  });

  it('imports nothing that can do I/O and never reads clocks or randomness directly', () => {
    const offenders = [...files.entries()]
      .filter(([, found]) => found.length)
      .map(([file, found]) => `${file}: ${found.join(', ')}`);
    expect(offenders).toEqual([]);
  });

  it('catches a forbidden import (the check itself can fail)', () => {
    expect(valueImports("import { readFileSync } from 'node:fs';\nimport type { X } from 'openai';")).toEqual([
      'node:fs',
    ]);
  });
});
