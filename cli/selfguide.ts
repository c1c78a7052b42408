// `flt selfguide filter`: SELF-GUIDE's input filters (stage 2) over recorded inputs, with no model call.
import { Command, InvalidArgumentError } from 'commander';
import { writeFileSync } from 'node:fs';
import { applyInputFilters, countReasons } from '../core/selfguide-filters';
import { DatasetError, loadSelfGuideTaskDefinition, readJsonlLines } from '../lib/datasets';

function onOff(value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new InvalidArgumentError('expected "on" or "off".');
  return value === 'on';
}

function readInputFile(file: string): string[] {
  return readJsonlLines(file).map(({ line, value }) => {
    const input = (value as { input?: unknown } | null)?.input;
    if (typeof input !== 'string') throw new DatasetError({ file, line, field: 'input' }, 'must be a string');
    return input;
  });
}

export function registerSelfguideCommands(program: Command): void {
  const selfguide = program.command('selfguide').description('SELF-GUIDE tools');
  selfguide
    .command('filter')
    .description('apply the input filters (empty, noise, length, duplicate) to recorded inputs, in generation order')
    .requiredOption('--task <dir>', 'task folder (only its task.json is read: the gold examples and noise terms)')
    .requiredOption('--inputs <file>', 'JSONL, one {"input"} per line, in generation order')
    .requiredOption('--length-filter <on|off>', 'apply the length rule (mean ± 2 std of the gold inputs)', onOff)
    .requiredOption('--output <file>', 'JSONL written with one {"input", "kept", "reason"} per input')
    .action((opts: { task: string; inputs: string; lengthFilter: boolean; output: string }) => {
      const task = loadSelfGuideTaskDefinition(opts.task);
      const filtered = applyInputFilters(readInputFile(opts.inputs), {
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
