// `flt semievol select`: SemiEvol's stages 3 to 5 recomputed from recorded collaborator and self-justification
// outputs with any theta, without a model call, from a file or from a finished run's artifact.
import { Client, Connection } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { createReadStream, writeFileSync } from 'node:fs';
import * as readline from 'node:readline';
import { z } from 'zod';
import {
  adaptiveSelection,
  countPseudoLabels,
  pseudoLabel,
  selectedLine,
  type CollaborationRecord,
  type PseudoLabel,
} from '../core/semievol';
import type { SelectionOptions } from '../core/semievol-config';
import type { ArtifactRef } from '../core/types';
import { defaultArtifactStore } from '../lib/artifacts';
import { dataConverter } from '../lib/payload-codec';
import { temporalConnectConfig } from '../lib/temporal';
import type { SemievolRunResult } from '../workflows/semievol';

const responseSchema = z.object({
  response: z.string(),
  logprobs: z.array(z.number().nullable()).nullable().default(null),
  /** The tokens' texts, for the answer-span entropy. */
  tokens: z.array(z.string()).optional(),
  /** "length" marks a response cut off by max tokens. */
  finishReason: z.string().optional(),
});

/**
 * One input line: `{id, question, options, collaborators: [{response, logprobs, tokens?, finishReason?}], reflection:
 * {...} | null}`, as a run records it; `options: []` is an open question, whose answers are read from the "Answer:"
 * line.
 */
const recordSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  question: z.string(),
  options: z.array(z.string()).max(26),
  collaborators: z.array(responseSchema).min(1),
  reflection: responseSchema.nullable().default(null),
});

function parseRecord(line: string, where: string): CollaborationRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`${where}: not valid JSON.`);
  }
  const parsed = recordSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  throw new Error(
    `${where}: field "${field || '(line)'}" ${issue.message.replace(/^Invalid input: expected/, 'expected')}.`,
  );
}

async function* fileLines(file: string): AsyncIterable<{ text: string; where: string }> {
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let number = 0;
  for await (const text of lines) {
    number++;
    if (text.trim()) yield { text, where: `${file} line ${number}` };
  }
}

/** The records artifact of a finished run, from its result through the Temporal client. */
async function runRecords(runId: string): Promise<ArtifactRef> {
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await Connection.connect({ ...connectionOptions, connectTimeout: '5 seconds' });
  try {
    const handle = new Client({ connection, namespace, dataConverter: dataConverter() }).workflow.getHandle(runId);
    const { type, status } = await handle.describe();
    if (type !== 'semievolRun') throw new Error(`Run ${runId} is a ${type}, not a SemiEvol run.`);
    if (status.name !== 'COMPLETED')
      throw new Error(`Run ${runId} is ${status.name}; its records are read from its result, once it has completed.`);
    return ((await handle.result()) as SemievolRunResult).pseudoLabels.records;
  } finally {
    await connection.close();
  }
}

async function* artifactLines(ref: ArtifactRef, runId: string): AsyncIterable<{ text: string; where: string }> {
  let number = 0;
  for await (const record of defaultArtifactStore().readJsonl<unknown>(ref))
    yield { text: JSON.stringify(record), where: `run ${runId} record ${++number}` };
}

function parseTheta(value: string): number {
  const theta = Number(value);
  if (value.trim() === '' || !(theta >= 0 && theta <= 100))
    throw new InvalidArgumentError('expected a number from 0 to 100.');
  return theta;
}

function parseAmong(value: string): SelectionOptions['among'] {
  if (value !== 'all' && value !== 'self-justified')
    throw new InvalidArgumentError('expected "all" or "self-justified".');
  return value;
}

function parseEntropyOver(value: string): SelectionOptions['entropyOver'] {
  if (value !== 'response' && value !== 'answer-span')
    throw new InvalidArgumentError('expected "response" or "answer-span".');
  return value;
}

interface SelectOptions {
  input?: string;
  run?: string;
  theta: number;
  output: string;
  among: SelectionOptions['among'];
  strict?: boolean;
  entropyOver: SelectionOptions['entropyOver'];
}

async function selectCommand(opts: SelectOptions): Promise<void> {
  if (!opts.input === !opts.run) throw new Error('Give exactly one of --input <file> and --run <runId>.');
  const lines = opts.input ? fileLines(opts.input) : artifactLines(await runRecords(opts.run!), opts.run!);
  // Only each question's verdict is kept, so a D_U of 100,000 recorded questions fits in memory.
  const labels: PseudoLabel[] = [];
  const seen = new Set<string>();
  for await (const { text, where } of lines) {
    const record = parseRecord(text, where);
    if (seen.has(record.id)) throw new Error(`${where}: id "${record.id}" appears twice.`);
    seen.add(record.id);
    labels.push(pseudoLabel(record, opts.entropyOver));
  }
  const selection = adaptiveSelection(labels, { theta: opts.theta, among: opts.among, strict: !!opts.strict });
  writeFileSync(opts.output, selection.selected.map((q) => `${JSON.stringify(selectedLine(q))}\n`).join(''));

  const counts = countPseudoLabels(labels, selection);
  console.log(
    `${counts.questions} questions: ${counts.consistent} consistent, ${counts.pseudoLabeled} pseudo-labeled ` +
      `(dropped: ${counts.droppedNoAnswer} without an answer, ${counts.droppedCutOff} cut off before an answer, ` +
      `${counts.droppedNoLogprobs} without log-probabilities)`,
  );
  const thresholdText =
    selection.threshold === null
      ? 'none (no entropy to threshold)'
      : `entropy ${opts.strict ? '<' : '<='} ${selection.threshold}`;
  console.log(`threshold: ${thresholdText} (theta ${opts.theta}, among ${opts.among})`);
  console.log(`selected: ${counts.selected}, written to ${opts.output}`);
}

export function registerSemievolCommands(program: Command): void {
  const semievol = program.command('semievol').description("SemiEvol's own commands");
  semievol
    .command('select')
    .description(
      'recompute consistency, pseudo-labels, entropies and the selection from recorded outputs, calling no model',
    )
    .option('--input <file>', 'recorded outputs: one {id, question, options, collaborators, reflection} per line')
    .option('--run <runId>', 'a finished SemiEvol run: its recorded outputs, from the artifact store')
    .requiredOption('--theta <theta>', 'keep entropies up to this percentile (0-100)', parseTheta)
    .requiredOption(
      '--output <file>',
      'where to write the selected questions, one {id, pseudo_label, entropy, consistent} per line',
    )
    .option(
      '--among <which>',
      '"all" pseudo-labels are thresholded (paper), or only the "self-justified" ones (authors\' code)',
      parseAmong,
      'all',
    )
    .option('--strict', "keep entropies strictly below the threshold (authors' code)")
    .option(
      '--entropy-over <span>',
      'entropy over the deciding "response" or its last "answer-span" line',
      parseEntropyOver,
      'response',
    )
    .action(selectCommand);
}
