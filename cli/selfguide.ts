// `flt selfguide filter`: SELF-GUIDE's input filters (stage 2) over recorded inputs, with no model call.
import { writeFileSync } from 'node:fs';
import { countReasons, filterInputsBy, type FilterRules, type RoundInput } from '../core/selfguide-filters';
import { DatasetError, loadSelfGuideTaskDefinition, readJsonlLines } from '../lib/datasets';

/** `{"input", "round"?}` lines, as a run's generated inputs are recorded; a line without a round is in round 1. */
function readInputFile(file: string): RoundInput[] {
  return readJsonlLines(file).map(({ line, value }) => {
    const { input, round = 1 } = (value ?? {}) as { input?: unknown; round?: unknown };
    if (typeof input !== 'string') throw new DatasetError({ file, line, field: 'input' }, 'must be a string');
    if (!Number.isInteger(round) || (round as number) < 1)
      throw new DatasetError({ file, line, field: 'round' }, 'must be a positive integer');
    return { input, round: round as number };
  });
}

export interface FilterOptions {
  task: string;
  inputs: string;
  lengthFilter: boolean;
  output: string;
  filters?: FilterRules;
}

/** `flt selfguide filter`. */
export function filterCommand(opts: FilterOptions): void {
  const task = loadSelfGuideTaskDefinition(opts.task);
  const filtered = filterInputsBy(opts.filters ?? 'ours', readInputFile(opts.inputs), {
    exampleInputs: task.examples.map((e) => e.input),
    noiseTerms: task.noise_terms,
    lengthFilter: opts.lengthFilter,
  });
  writeFileSync(opts.output, filtered.map((f) => `${JSON.stringify(f)}\n`).join(''));
  const c = countReasons(filtered);
  console.log(
    `${opts.output}: kept ${c.kept} of ${filtered.length} ` +
      `(removed: ${c.empty} empty, ${c.noise} noise, ${c.length} length, ${c.duplicate} duplicate)`,
  );
}
