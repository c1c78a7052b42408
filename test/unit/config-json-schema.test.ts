// The committed JSON Schema is what the zod schemas generate today, and every example config satisfies it, as an
// editor using the YAML language server would check it.
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { configJsonSchemaPath, configJsonSchemaText } from '../../core/config-json-schema';

const root = path.resolve(__dirname, '../..');
const committed = fs.readFileSync(path.join(root, configJsonSchemaPath), 'utf8');
const examples = fs
  .readdirSync(path.join(root, 'examples'))
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => path.join('examples', name));

const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(committed) as object);

it('is up to date with the zod schemas (run `npm run schema` when this fails)', () => {
  expect(committed).toBe(configJsonSchemaText());
});

it.each(examples)('%s names the schema in its modeline and satisfies it', (example) => {
  const text = fs.readFileSync(path.join(root, example), 'utf8');
  const modeline = text.split('\n')[0];
  expect(modeline).toBe('# yaml-language-server: $schema=../schema/flt-config.schema.json');
  validate(parse(text));
  expect(validate.errors ?? []).toEqual([]);
});

it('rejects a config with a field no method has', () => {
  const config = parse(fs.readFileSync(path.join(root, 'examples/evaluate-fpb.yaml'), 'utf8')) as object;
  expect(validate({ ...config, temprature: 0 })).toBe(false);
});
