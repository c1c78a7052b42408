// Unpacking a downloaded checkpoint with the system's tar: an adapter or a merged model appears whole with the list of
// its files, a damaged one is found out by that list, and an archive holding a link, no adapter (or model), or no
// archive at all is refused with nothing left where the checkpoint would be.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unpackCheckpoint, unpackedAdapter } from '../../activities/checkpoint-archive';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-checkpoint-archive-'));
let count = 0;

/** A tar.zst of `files` (path → content; a content starting with `->` makes a symbolic link to the rest). */
function archiveOf(files: Record<string, string>): string {
  const dir = path.join(root, `src-${++count}`);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    if (content.startsWith('->')) fs.symlinkSync(content.slice(2), path.join(dir, name));
    else fs.writeFileSync(path.join(dir, name), content);
  }
  const archive = path.join(root, `archive-${count}`);
  execFileSync('tar', ['--zstd', '-cf', archive, '-C', dir, '.']);
  return archive;
}

const adapter = { 'adapter_config.json': '{"peft_type":"LORA","r":8}', 'adapter_model.safetensors': 'weights' };

test('unpacks an adapter in a subfolder whole, and a file damaged afterwards is found by its listed size', async () => {
  const target = path.join(root, 'ok');
  const folder = await unpackCheckpoint(
    archiveOf(Object.fromEntries(Object.entries(adapter).map(([k, v]) => [`out/${k}`, v]))),
    target,
    'adapter',
  );
  expect(folder).toBe(path.join(target, 'out'));
  expect(fs.readFileSync(path.join(folder, 'adapter_model.safetensors'), 'utf8')).toBe('weights');
  expect(unpackedAdapter(target)).toBe(folder);
  expect(fs.existsSync(`${target}.unpacking`)).toBe(false);

  fs.writeFileSync(path.join(folder, 'adapter_model.safetensors'), 'weigh');
  expect(unpackedAdapter(target)).toBeNull();
});

test.each([
  ['a symbolic link', { ...adapter, 'extra.bin': '->/etc/passwd' }, /extra\.bin, which is not a plain file/],
  ['no adapter config', { 'model.safetensors': 'w' }, /holds no adapter_config\.json/],
  ['no adapter weights', { 'adapter_config.json': '{}' }, /has adapter_config\.json but no weights beside it/],
  ['a config that is not JSON', { ...adapter, 'adapter_config.json': '{' }, /is not JSON/],
])('refuses an archive with %s and leaves no adapter', async (_what, files, message) => {
  const target = path.join(root, `refused-${count}`);
  await expect(unpackCheckpoint(archiveOf(files), target, 'adapter')).rejects.toThrow(message);
  expect(fs.existsSync(target)).toBe(false);
  expect(fs.existsSync(`${target}.unpacking`)).toBe(false);
});

const merged = {
  'config.json': '{"architectures":["LlamaForCausalLM"]}',
  'model-00001-of-00002.safetensors': 'half',
  'model-00002-of-00002.safetensors': 'other half',
  'tokenizer.json': '{}',
};

test('unpacks a merged model whole: its config beside sharded weights', async () => {
  const target = path.join(root, 'merged');
  const folder = await unpackCheckpoint(archiveOf(merged), target, 'merged');
  expect(folder).toBe(target);
  expect(fs.readFileSync(path.join(folder, 'model-00002-of-00002.safetensors'), 'utf8')).toBe('other half');
  expect(unpackedAdapter(target)).toBe(folder);
});

test.each([
  ['an adapter only', adapter, /holds no config\.json: it is not a merged model/],
  ['no weights', { 'config.json': '{}', 'tokenizer.json': '{}' }, /has config\.json but no weights beside it/],
  ['a symbolic link', { ...merged, 'model.bin': '->/etc/passwd' }, /model\.bin, which is not a plain file/],
])('refuses a merged checkpoint with %s and leaves nothing', async (_what, files, message) => {
  const target = path.join(root, `refused-merged-${count}`);
  await expect(unpackCheckpoint(archiveOf(files), target, 'merged')).rejects.toThrow(message);
  expect(fs.existsSync(target)).toBe(false);
});

test('refuses a file that is no archive, naming its first bytes', async () => {
  const file = path.join(root, 'not-an-archive');
  fs.writeFileSync(file, '<html>Access denied</html>');
  await expect(unpackCheckpoint(file, path.join(root, 'none'), 'adapter')).rejects.toThrow(
    /is not a tar\.zst, tar\.gz, tar or zip archive \(it starts with 3c68746d6c3e4163\)/,
  );
});
