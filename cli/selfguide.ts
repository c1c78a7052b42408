// `flt selfguide filter`: SELF-GUIDE's input filters (stage 2) over recorded inputs, with no model call.
import { Command, InvalidArgumentError } from 'commander';
import { writeFileSync } from 'node:fs';
import { countReasons, filterInputsBy, type FilterRules, type RoundInput } from '../core/selfguide-filters';
import { DatasetError, loadSelfGuideTaskDefinition, readJsonlLines } from '../lib/datasets';

function onOff(value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new InvalidArgumentError('expected "on" or "off".');
  return value === 'on';
}

function filterRules(value: string): FilterRules {
  if (value !== 'ours' && value !== 'authors') throw new InvalidArgumentError('expected "ours" or "authors".');
  return value;
}

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

export function registerSelfguideCommands(program: Command): void {
  const selfguide = program.command('selfguide').description('SELF-GUIDE tools');
  selfguide
    .command('filter')
    .description('apply the input filters (empty, noise, length, duplicate) to recorded inputs, in generation order')
    .requiredOption('--task <dir>', 'task folder (only its task.json is read: the gold examples and noise terms)')
    .requiredOption('--inputs <file>', 'JSONL, one {"input", "round"?} per line, in generation order')
    .requiredOption('--length-filter <on|off>', 'apply the length rule (mean ± 2 std of the gold inputs)', onOff)
    .requiredOption('--output <file>', 'JSONL written with one {"input", "kept", "reason"} per input')
    .option('--filters <ours|authors>', "whose rules apply, as generation.filters (the authors' by round)", filterRules)
    .action((opts: { task: string; inputs: string; lengthFilter: boolean; output: string; filters?: FilterRules }) => {
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
    });
}
