// `flt semievol select`: SemiEvol's stages 3 to 5 recomputed from recorded collaborator and self-justification
// outputs with any theta, without a model call, from a file or from a finished run's artifact.
import { createReadStream, writeFileSync } from 'node:fs';
import * as readline from 'node:readline';
import { z } from 'zod';
import type { AnswerReading } from '../core/answer-reading';
import {
  adaptiveSelection,
  countPseudoLabels,
  pseudoLabel,
  selectedLine,
  semievolPlan,
  type CollaborationRecord,
  type PseudoLabel,
} from '../core/semievol';
import type { SelectionOptions } from '../core/semievol-config';
import type { ArtifactRef } from '../core/types';
import { defaultArtifactStore } from '../lib/artifacts';
import type { SemievolRunInput, SemievolRunResult } from '../workflows/semievol';
import { connect, UserError } from './connection';
import { runInput } from './run-input';

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

/** A finished run's records artifact, from its result, and the selection and answer reading it applied. */
async function finishedRun(
  runId: string,
): Promise<{ records: ArtifactRef; selection: SelectionOptions; answers: AnswerReading }> {
  const client = await connect();
  try {
    const handle = client.workflow.getHandle(runId);
    const { type, status } = await handle.describe();
    if (type !== 'semievolRun') throw new Error(`Run ${runId} is a ${type}, not a SemiEvol run.`);
    if (status.name !== 'COMPLETED')
      throw new Error(`Run ${runId} is ${status.name}; its records are read from its result, once it has completed.`);
    const input = (await runInput(client, handle)) as unknown as SemievolRunInput;
    const plan = semievolPlan(input.options, input.sampling.seed);
    return {
      records: ((await handle.result()) as SemievolRunResult).pseudoLabels.records,
      // As the run applied it: an ablation of adaptive selection kept every pseudo-label.
      selection: plan.selection,
      answers: plan.answers ?? 'ours',
    };
  } finally {
    await client.connection.close();
  }
}

async function* artifactLines(ref: ArtifactRef, runId: string): AsyncIterable<{ text: string; where: string }> {
  let number = 0;
  for await (const record of defaultArtifactStore().readJsonl<unknown>(ref))
    yield { text: JSON.stringify(record), where: `run ${runId} record ${++number}` };
}

type SelectionFlags = Partial<SelectionOptions>;

/**
 * The selection to apply: each setting a flag gives, the rest from the run's own selection (`--run`) or the paper's
 * defaults (`--input`, which must give theta: a file says nothing about the run it came from).
 */
export function selectionFor(flags: SelectionFlags, run: SelectionOptions | undefined): SelectionOptions {
  if (!run && flags.theta === undefined)
    throw new UserError(
      '--theta is required with --input (the percentile of entropies to keep, 0 to 100); ' +
        "only --run takes the run's own.",
    );
  const base: Omit<SelectionOptions, 'theta'> = run ?? { among: 'all', strict: false, entropyOver: 'response' };
  return {
    theta: flags.theta ?? run!.theta,
    among: flags.among ?? base.among,
    strict: flags.strict ?? base.strict,
    entropyOver: flags.entropyOver ?? base.entropyOver,
  };
}

export async function selectCommand(
  opts: SelectionFlags & { input?: string; run?: string; output: string; answers?: AnswerReading },
): Promise<void> {
  if (!opts.input === !opts.run) throw new Error('Give exactly one of --input <file> and --run <runId>.');
  const run = opts.run ? await finishedRun(opts.run) : undefined;
  const selected = selectionFor(opts, run?.selection);
  const reading = { answers: opts.answers ?? run?.answers ?? 'ours', entropyOver: selected.entropyOver };
  const lines = run ? artifactLines(run.records, opts.run!) : fileLines(opts.input!);
  // Only each question's verdict is kept, so a D_U of 100,000 recorded questions fits in memory.
  const labels: PseudoLabel[] = [];
  const seen = new Set<string>();
  for await (const { text, where } of lines) {
    const record = parseRecord(text, where);
    if (seen.has(record.id)) throw new Error(`${where}: id "${record.id}" appears twice.`);
    seen.add(record.id);
    labels.push(pseudoLabel(record, reading));
  }
  const selection = adaptiveSelection(labels, selected);
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
      : `entropy ${selected.strict ? '<' : '<='} ${selection.threshold}`;
  console.log(`threshold: ${thresholdText} (theta ${selected.theta}, among ${selected.among})`);
  console.log(`selected: ${counts.selected}, written to ${opts.output}`);
}
