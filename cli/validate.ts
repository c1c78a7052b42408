// `flt validate`: a config and its datasets checked as `flt run` checks them, with nothing started or written.
import { DryRunArtifactStore } from '../lib/artifacts';
import { loadRunConfig } from '../lib/config-file';
import { methodOf } from '../lib/methods';

/** The lines `flt validate` prints for a valid config; a bad one throws its ConfigError or DatasetError. */
export async function validateConfigFile(file: string): Promise<string[]> {
  const config = loadRunConfig(file);
  // Everything a run would store is checked and hashed, and nothing is written.
  const prepared = await methodOf(config).prepare(config, new DryRunArtifactStore());
  return [`${file}: valid ${config.method} config for task "${config.task}"`, ...prepared.notes.map((n) => `  ${n}`)];
}

/** `flt validate <config>`. */
export async function validateCommand(file: string): Promise<void> {
  for (const line of await validateConfigFile(file)) console.log(line);
}
