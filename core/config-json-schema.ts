// The run config as a JSON Schema, for editors (the YAML language server) and other tools; generated from the zod
// schemas, so it never drifts from what `flt validate` accepts field by field. Cross-field rules (refinements,
// provider references, files that must exist) stay with `flt validate`.
import { z } from 'zod';
import { runConfigSchema } from './run-config';

/** Where `npm run schema` writes it, relative to the repository root; example configs point here. */
export const configJsonSchemaPath = 'schema/flt-config.schema.json';

export function configJsonSchema(): Record<string, unknown> {
  // `input`: what a user writes, so fields with defaults are optional rather than required.
  const generated = z.toJSONSchema(runConfigSchema, { io: 'input' });
  return { $schema: generated.$schema, title: 'flt run config', ...generated };
}

/** The committed file's text: stable key order from zod, two-space indentation, a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
