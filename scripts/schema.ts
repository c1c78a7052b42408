// `npm run schema`: writes the run config's JSON Schema (core/config-json-schema.ts) where the examples reference it.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { configJsonSchemaPath, configJsonSchemaText } from '../core/config-json-schema';

const file = path.resolve(__dirname, '..', configJsonSchemaPath);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, configJsonSchemaText());
console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
