// A downloaded checkpoint archive (tar.zst as Together sends it, or zip, tar.gz, tar) unpacked into a directory that
// appears whole or not at all: unpacked beside it, checked, then renamed into place with a list of its files, which a
// later attempt re-verifies instead of unpacking again. Unpacking uses the system's tar (with zstd) and unzip, which
// read these formats better than anything this project would write.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { InvalidInput, typedError } from '../core/errors';

const run = promisify(execFile);

/** Written last into an unpacked checkpoint: every file it holds and its size. */
const manifestName = '.flt-unpacked.json';

interface Manifest {
  /** The checkpoint's folder (an adapter's or a merged model's; named when only adapters were), relative to it. */
  adapterDir: string;
  files: { path: string; bytes: number }[];
}

/** The command that unpacks `archive` into `into`, chosen by the archive's first bytes. */
function unpackCommand(archive: string, into: string): [string, string[]] {
  const head = Buffer.alloc(262);
  const fd = fs.openSync(archive, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  // GNU tar and unzip skip members named with `..` or an absolute path; as root, tar would also restore owners.
  const tar = (...how: string[]): [string, string[]] => [
    'tar',
    [...how, '--no-same-owner', '-xf', archive, '-C', into],
  ];
  if (head.readUInt32LE(0) === 0xfd2fb528) return tar('--zstd');
  if (head[0] === 0x1f && head[1] === 0x8b) return tar('--gzip');
  if (head.toString('latin1', 0, 4) === 'PK\u0003\u0004') return ['unzip', ['-q', archive, '-d', into]];
  if (head.toString('latin1', 257, 262) === 'ustar') return tar();
  throw typedError(
    InvalidInput,
    `${archive} is not a tar.zst, tar.gz, tar or zip archive (it starts with ${head.subarray(0, 8).toString('hex')})`,
  );
}

/** Every file under `dir`, relative to it; a link or anything but a file or folder is refused. */
function listFiles(dir: string, under = ''): { path: string; bytes: number }[] {
  return fs.readdirSync(path.join(dir, under), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(under, entry.name);
    if (entry.isDirectory()) return listFiles(dir, relative);
    if (!entry.isFile())
      throw typedError(InvalidInput, `the checkpoint archive holds ${relative}, which is not a plain file or folder`);
    return [{ path: relative, bytes: fs.statSync(path.join(dir, relative)).size }];
  });
}

/** What a checkpoint holds: a PEFT adapter, or a whole model with the adapter merged in. */
export type CheckpointKind = 'adapter' | 'merged';

/** Each kind's config file, the weights that must sit beside it, and what the config is. */
const layouts: Record<CheckpointKind, { config: string; weights: RegExp; what: string }> = {
  adapter: { config: 'adapter_config.json', weights: /^adapter_model\.(safetensors|bin)$/, what: 'a LoRA adapter' },
  merged: { config: 'config.json', weights: /\.(safetensors|bin)$/, what: 'a merged model' },
};

/**
 * The shallowest folder holding the checkpoint, relative to `dir`: a PEFT adapter (`adapter_config.json` beside
 * `adapter_model.safetensors` or `.bin`) or a merged model (`config.json` beside `*.safetensors` or `*.bin` weights).
 */
function checkpointFolder(dir: string, files: { path: string }[], kind: CheckpointKind): string {
  const { config, weights, what } = layouts[kind];
  const configs = files
    .filter((f) => path.basename(f.path) === config)
    .map((f) => path.dirname(f.path))
    .sort((a, b) => a.split(path.sep).length - b.split(path.sep).length);
  const folder = configs[0];
  if (folder === undefined)
    throw typedError(InvalidInput, `the checkpoint archive holds no ${config}: it is not ${what}`);
  if (!files.some((f) => path.dirname(f.path) === folder && weights.test(path.basename(f.path))))
    throw typedError(InvalidInput, `the checkpoint archive's ${folder}/ has ${config} but no weights beside it`);
  try {
    JSON.parse(fs.readFileSync(path.join(dir, folder, config), 'utf8'));
  } catch {
    throw typedError(InvalidInput, `the checkpoint archive's ${config} is not JSON`);
  }
  return folder;
}

/** The folder of a checkpoint (adapter or merged model) unpacked earlier, all its files still there; else null. */
export function unpackedAdapter(checkpointDir: string): string | null {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(checkpointDir, manifestName), 'utf8')) as Manifest;
  } catch {
    return null;
  }
  const intact = manifest.files.every((f) => sizeOrNull(path.join(checkpointDir, f.path)) === f.bytes);
  return intact ? path.join(checkpointDir, manifest.adapterDir) : null;
}

const sizeOrNull = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : null);

/**
 * Unpacks `archive` into `checkpointDir` and returns the folder of the `kind` checkpoint in it. A partly unpacked or
 * tampered earlier result is replaced. An archive the tools cannot read fails (the caller decides whether to fetch it
 * again).
 */
export async function unpackCheckpoint(archive: string, checkpointDir: string, kind: CheckpointKind): Promise<string> {
  const staging = `${checkpointDir}.unpacking`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    const [command, args] = unpackCommand(archive, staging);
    await run(command, args);
    const files = listFiles(staging);
    const manifest: Manifest = { adapterDir: checkpointFolder(staging, files, kind), files };
    fs.writeFileSync(path.join(staging, manifestName), JSON.stringify(manifest));
    fs.rmSync(checkpointDir, { recursive: true, force: true });
    fs.renameSync(staging, checkpointDir);
    return path.join(checkpointDir, manifest.adapterDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
