// `flt init <method>`: writes a commented starter config for one provider, on the bundled demo data.
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { configJsonSchemaPath } from '../core/config-json-schema';
import { UserError } from './connection';
import {
  starterConfig,
  testDoublePort,
  type StarterMethod,
  type StarterPaths,
  type StarterProvider,
} from './starter-config';

/** The repository root: the folder above this file's that holds the bundled demo data (also from a `dist/` build). */
function projectRoot(): string {
  for (let dir = path.resolve(__dirname, '..'); dir !== path.dirname(dir); dir = path.dirname(dir))
    if (existsSync(path.join(dir, 'demo', 'fpb'))) return dir;
  throw new UserError(`flt init: the bundled demo data (demo/fpb) is not in any folder above ${__dirname}.`);
}

/** The paths a starter config at `out` writes, relative to its folder. */
export function starterPaths(out: string, modelPath: string, root = projectRoot()): StarterPaths {
  const relative = (target: string) =>
    path
      .relative(path.dirname(path.resolve(out)), target)
      .split(path.sep)
      .join('/');
  const fpb = (split: string) => relative(path.join(root, 'demo', 'fpb', `${split}.csv`));
  return {
    schema: relative(path.join(root, configJsonSchemaPath)),
    fpb: { labeled: fpb('labeled'), unlabeled: fpb('unlabeled'), test: fpb('test') },
    selfguideTask: relative(path.join(root, 'demo', 'selfguide', 'task190')),
    modelPath: relative(path.resolve(modelPath)),
  };
}

/** What to do next, by provider. */
function nextSteps(out: string, method: StarterMethod, provider: StarterProvider, modelPath: string): string[] {
  const steps = [`check it: flt validate ${out}`];
  if (provider === 'test-double')
    steps.unshift(
      `start the double from the repository root: npm run provider:fake -- --port ${testDoublePort}` +
        (method === 'semievol' ? ' --gold demo/fpb/gold.jsonl' : ''),
    );
  if (provider === 'llama-cpp' && !existsSync(modelPath))
    steps.unshift(`put a GGUF model at ${modelPath} (or write again with --model-path FILE)`);
  if (provider === 'openai') steps.unshift("set OPENAI_API_KEY in the worker's environment");
  if (provider === 'openai-compatible') steps.unshift('start your server and set baseURL and model to match it');
  return steps;
}

/** `flt init <method>`: never overwrites a file. */
export function initCommand(
  method: StarterMethod,
  opts: { provider: StarterProvider; out?: string; modelPath?: string },
): void {
  const out = opts.out ?? `${method}-${opts.provider}.yaml`;
  const modelPath = opts.modelPath ?? process.env.FLT_MODEL_PATH ?? 'models/model.gguf';
  const text = starterConfig(method, opts.provider, starterPaths(out, modelPath));
  try {
    writeFileSync(out, text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new UserError(`${out} already exists, and flt init never overwrites a file: choose another --out.`);
  }
  console.log(`wrote ${out}: a ${method} starter config for ${opts.provider}`);
  for (const step of nextSteps(out, method, opts.provider, path.resolve(modelPath))) console.log(`  next: ${step}`);
}
