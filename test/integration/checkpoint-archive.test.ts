// Unpacking a downloaded checkpoint with the system's tar: an adapter appears whole with the list of its files, a
// damaged one is found out by that list, and an archive holding a link, no adapter, or no archive at all is refused
// with nothing left where the adapter would be.
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
  ['no adapter weights', { 'adapter_config.json': '{}' }, /no adapter weights/],
  ['a config that is not JSON', { ...adapter, 'adapter_config.json': '{' }, /is not JSON/],
])('refuses an archive with %s and leaves no adapter', async (_what, files, message) => {
  const target = path.join(root, `refused-${count}`);
  await expect(unpackCheckpoint(archiveOf(files), target)).rejects.toThrow(message);
  expect(fs.existsSync(target)).toBe(false);
  expect(fs.existsSync(`${target}.unpacking`)).toBe(false);
});

test('refuses a file that is no archive, naming its first bytes', async () => {
  const file = path.join(root, 'not-an-archive');
  fs.writeFileSync(file, '<html>Access denied</html>');
  await expect(unpackCheckpoint(file, path.join(root, 'none'))).rejects.toThrow(
    /is not a tar\.zst, tar\.gz, tar or zip archive \(it starts with 3c68746d6c3e4163\)/,
  );
});
