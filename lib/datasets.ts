// Dataset loaders. Every problem in a file becomes a DatasetError whose one-sentence message names the
// file, the physical line where the record starts, the field, and what was expected.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { taskNameSchema } from '../core/config';
import { optionLetter } from '../core/prompts';
import type { SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import type { IoExample, McqItem } from '../core/types';

export interface DatasetLocation {
  file: string;
  line?: number;
  field?: string;
}

export class DatasetError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly field: string | null;
  readonly problem: string;

  /** `problem` is the rest of the sentence, e.g. `must be a JSON list of at least 2 strings, got "[A, B]"`. */
  constructor({ file, line, field }: DatasetLocation, problem: string) {
    const where = line === undefined ? file : `${file} line ${line}`;
    super(`${where}: ${field === undefined ? '' : `field "${field}" `}${problem}.`);
    this.name = 'DatasetError';
    this.file = file;
    this.line = line ?? null;
    this.field = field ?? null;
    this.problem = problem;
  }

  /** The first of several bad rows, in full, followed by how many more there are and their lines. */
  static ofRows(errors: DatasetError[], unit: 'row' | 'line' = 'row'): DatasetError {
    const [first, ...more] = errors;
    if (more.length === 0) return first;
    const lines = more.map((e) => e.line).filter((line): line is number => line !== null);
    const listed = lines.slice(0, 10).join(', ') + (lines.length > 10 ? `, and ${lines.length - 10} more` : '');
    const location = { file: first.file, line: first.line ?? undefined, field: first.field ?? undefined };
    const rows = `${more.length} more ${unit}${more.length === 1 ? ' is' : 's are'} invalid`;
    return new DatasetError(location, `${first.problem}; ${rows} (line${lines.length === 1 ? '' : 's'} ${listed})`);
  }
}

/**
 * A value from a data row as it appears in an error message: quoted, cut short, with control and invisible
 * formatting characters (a right-to-left override, a terminal escape) escaped, so that a message shows at most a
 * short, inert excerpt of a row and never a page of whatever the file really holds.
 */
export function excerpt(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const short = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return escapeInvisible(typeof value === 'string' ? JSON.stringify(short) : short);
}

/** An unquoted excerpt, for warnings that show a raw field as it is written (`["a", NaN, "c"]`). */
function rawExcerpt(text: string): string {
  return escapeInvisible(text.length > 40 ? `${text.slice(0, 37)}...` : text);
}

function escapeInvisible(text: string): string {
  return text.replace(
    /[\p{Cc}\p{Cf}\u2028\u2029]/gu,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** How much a dataset file may hold; both can be set per dataset in a config (`maxBytes`, `maxItemChars`). */
export interface ReadLimits {
  /** Bytes per file. */
  maxBytes: number;
  /** Characters per question, option, input or output. */
  maxItemChars: number;
}

/**
 * 256 MiB per file: V8 cannot hold a string much over 512 MiB, and a file is parsed in memory, so a larger file
 * could not be loaded anyway; it is over 200 times the largest split the SemiEvol and SELF-GUIDE authors publish
 * (about 1 MiB). 100,000 characters per item: about 25,000 tokens, over 30 times the longest question in those
 * splits (under 3,000 characters), and more than a prompt that leaves the model room to answer could hold.
 */
export const defaultReadLimits: ReadLimits = { maxBytes: 256 * 1024 * 1024, maxItemChars: 100_000 };

function limitsOf(limits: Partial<ReadLimits> | undefined): ReadLimits {
  return {
    ...defaultReadLimits,
    ...Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined)),
  };
}

function fileKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'not a plain file';
}

/** What a file is read as: named in its errors, with the setting that raises its size limit if there is one. */
export interface FileRole {
  /** "dataset" or "config". */
  noun: string;
  limitSetting?: string;
}

const datasetFile: FileRole = { noun: 'dataset', limitSetting: 'maxBytes' };

const notRegular = (kind: string, role: FileRole) =>
  `is ${kind}, not a regular file; a ${role.noun} must be a regular file`;

/**
 * A regular file's bytes, at most `maxBytes` of them. The file is opened without blocking (a FIFO would otherwise
 * wait for a writer for ever) and checked on the open descriptor; a device, a FIFO, a socket or a directory is
 * refused before a byte is read, and so is a kernel pseudo-file (/proc/self/environ), which says it is a regular
 * file of size 0 and then yields more.
 */
export function readRegularFile(file: string, maxBytes: number, role: FileRole = datasetFile): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new DatasetError(
      { file },
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new DatasetError({ file }, notRegular(fileKind(stat), role));
    if (stat.size > maxBytes)
      throw new DatasetError(
        { file },
        `is ${stat.size} bytes, more than the limit of ${maxBytes} bytes for a ${role.noun} file` +
          (role.limitSetting ? ` (setting "${role.limitSetting}")` : ''),
      );
    // One byte more than the size says, to notice a file that yields more than its size.
    const buffer = Buffer.alloc(stat.size + 1);
    let filled = 0;
    for (let read = -1; read !== 0 && filled < buffer.length; filled += read)
      read = fs.readSync(fd, buffer, filled, buffer.length - filled, null);
    if (filled > stat.size)
      throw new DatasetError(
        { file },
        notRegular('a pseudo-file whose size changes as it is read (such as one under /proc)', role),
      );
    return buffer.subarray(0, filled);
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError(
      { file },
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  } finally {
    fs.closeSync(fd);
  }
}

const readText = (file: string, maxBytes?: number) =>
  readRegularFile(file, maxBytes ?? defaultReadLimits.maxBytes)
    .toString('utf8')
    .replace(/^\uFEFF/, '');

/** The parser's own message quotes the text it choked on, which may be anything: only the kind of failure is kept. */
function jsonProblem(error: unknown): string {
  return /end of JSON input/i.test((error as Error).message) ? ' (it ends too early)' : '';
}

function checkItemLength(text: string, limit: number, location: DatasetLocation & { field: string }): void {
  if (text.length > limit)
    throw new DatasetError(
      location,
      `is ${text.length} characters long, more than the limit of ${limit} (setting "maxItemChars")`,
    );
}

// ---------------------------------------------------------------------------------------------------------
// JSON, JSONL and zod validation

function formatPath(keys: readonly PropertyKey[]): string {
  return keys.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`)).join('');
}

function valueAt(value: unknown, keys: readonly PropertyKey[]): unknown {
  return keys.reduce<unknown>(
    (v, key) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined),
    value,
  );
}

/**
 * Validates with a zod schema whose messages read as sentence ends ("must be a string"); the first issue is
 * reported.
 */
function validate<T>(schema: z.ZodType<T>, value: unknown, file: string, line?: number): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.length ? formatPath(issue.path) : undefined;
  const actual = valueAt(value, issue.path);
  const problem =
    actual === undefined ? `is missing (it ${issue.message})` : `${issue.message}, got ${excerpt(actual)}`;
  throw new DatasetError({ file, line, field }, problem);
}

export interface JsonlLine {
  /** 1-based physical line number. */
  line: number;
  value: unknown;
}

/** Every line's problem is found before the file is refused, so that one pass over the data fixes them all. */
function eachLine<T, R>(items: T[], read: (item: T) => R, unit: 'row' | 'line' = 'line'): R[] {
  const results: R[] = [];
  const errors: DatasetError[] = [];
  for (const item of items) {
    try {
      results.push(read(item));
    } catch (error) {
      if (!(error instanceof DatasetError)) throw error;
      errors.push(error);
    }
  }
  if (errors.length) throw DatasetError.ofRows(errors, unit);
  return results;
}

/** One JSON value per non-blank line. */
export function readJsonlLines(file: string, maxBytes?: number): JsonlLine[] {
  const texts = readText(file, maxBytes)
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }))
    .filter(({ text }) => text.trim() !== '');
  return eachLine(texts, ({ text, line }) => {
    try {
      return { line, value: JSON.parse(text) as unknown };
    } catch (error) {
      throw new DatasetError({ file, line }, `the line is not valid JSON${jsonProblem(error)}`);
    }
  });
}

function readJsonFile(file: string, maxBytes?: number): unknown {
  try {
    return JSON.parse(readText(file, maxBytes));
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError({ file }, `is not valid JSON${jsonProblem(error)}`);
  }
}

const string = z.string({ error: 'must be a string' });
const nonEmptyString = string.min(1, { error: 'must not be empty' });
const stringList = z.array(string, { error: 'must be a list of strings' });

const ioExampleSchema = z.object(
  { input: string, output: string },
  { error: 'must be an object with string fields "input" and "output"' },
);

export function loadIoJsonl(file: string, limits?: Partial<ReadLimits>): IoExample[] {
  const { maxBytes, maxItemChars } = limitsOf(limits);
  return eachLine(readJsonlLines(file, maxBytes), ({ line, value }) => {
    const example = validate(ioExampleSchema, value, file, line);
    checkItemLength(example.input, maxItemChars, { file, line, field: 'input' });
    checkItemLength(example.output, maxItemChars, { file, line, field: 'output' });
    return example;
  });
}

/** A split that is scored or trained on must hold something: an empty one would make a run that evaluates nothing. */
export function requireJsonlItems<T>(items: T[], file: string): T[] {
  if (items.length === 0) throw new DatasetError({ file }, 'has no data lines; a split needs at least one item');
  return items;
}

/**
 * task.json of a SELF-GUIDE task; absent or null `labels`/`noise_terms` mean none (generation tasks have null
 * labels).
 */
export const selfGuideTaskSchema = z
  .object(
    {
      name: z.string({ error: 'must be a string' }).pipe(taskNameSchema),
      kind: z.enum(['classification', 'generation'], { error: 'must be "classification" or "generation"' }),
      metric: z.enum(['exact_match', 'rouge'], { error: 'must be "exact_match" or "rouge"' }),
      instruction: nonEmptyString,
      examples: z
        .array(ioExampleSchema, { error: 'must be a list of {input, output} objects' })
        .min(1, { error: 'must hold at least one example' }),
      labels: stringList.nullish().transform((labels) => labels ?? []),
      noise_terms: stringList.nullish().transform((terms) => terms ?? []),
    },
    { error: 'must be a JSON object' },
  )
  .refine((task) => task.kind !== 'classification' || task.labels.length > 0, {
    path: ['labels'],
    error: 'must list at least one label for a classification task',
  });

/** A task as a run uses it: its definition and the split it scores (`test` whichever split that is). */
export interface SelfGuideTask extends SelfGuideTaskDefinition {
  test: IoExample[];
}

/** task.json of a task folder, alone: all that the input filters need (`flt selfguide filter`). */
export function loadSelfGuideTaskDefinition(dir: string, limits?: Partial<ReadLimits>): SelfGuideTaskDefinition {
  const { maxBytes, maxItemChars } = limitsOf(limits);
  const taskFile = path.join(dir, 'task.json');
  const spec: SelfGuideTaskDefinition = validate(selfGuideTaskSchema, readJsonFile(taskFile, maxBytes), taskFile);
  spec.examples.forEach((example, i) => {
    checkItemLength(example.input, maxItemChars, { file: taskFile, field: `examples[${i}].input` });
    checkItemLength(example.output, maxItemChars, { file: taskFile, field: `examples[${i}].output` });
  });
  return spec;
}

/**
 * A task folder as a run reads it: task.json and the split it scores, test.jsonl or (the campaign's grid)
 * validation.jsonl, the SELF-GUIDE authors' 10% split. The other split is never read, so it may be absent and a bad
 * line in it blocks nothing.
 */
export function loadSelfGuideTask(
  dir: string,
  limits?: Partial<ReadLimits>,
  split: 'test' | 'validation' = 'test',
): SelfGuideTask {
  return { ...loadSelfGuideTaskDefinition(dir, limits), test: loadSelfGuideSplit(dir, limits, split) };
}

/** One split of a task folder: its lines, at least one. */
export function loadSelfGuideSplit(
  dir: string,
  limits: Partial<ReadLimits> | undefined,
  split: 'test' | 'validation',
): IoExample[] {
  const splitFile = path.join(dir, `${split}.jsonl`);
  return requireJsonlItems(loadIoJsonl(splitFile, limits), splitFile);
}

// ---------------------------------------------------------------------------------------------------------
// Mojibake. Policy: a run of characters that is really UTF-8 bytes decoded as Windows-1252/Latin-1
// ("Ã©", "â€™") or as GBK ("掳" for "°", seen in arc/test.csv) is repaired when re-encoding the run and
// decoding it as strict UTF-8 succeeds; anything else that still looks like mojibake (a lead character
// followed by a continuation character, a U+FFFD, or Financial PhraseBank's lossy "+ñ" for "ä", whose
// first byte was flattened to "+"/"-" upstream) is kept as is and reported.

/** Windows-1252's characters for bytes 0x80–0x9F; 0xA0–0xFF are the same code points as the bytes. */
const windows1252High = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

const singleByteOf = new Map<string, number>();
for (let byte = 0x80; byte <= 0xff; byte++) singleByteOf.set(String.fromCharCode(byte), byte);
[...windows1252High].forEach((char, i) => singleByteOf.set(char, 0x80 + i));

const singleByteRun = new RegExp(`[\\u0080-\\u00ff${windows1252High}]+`, 'g');
const hanRun = /\p{Script=Han}+/gu;
const leadThenContinuation = new RegExp(`[\\u00c2-\\u00f4][\\u0080-\\u00bf${windows1252High}]`);
/**
 * Financial PhraseBank's lead byte flattened to "+" or "-" ("+ñ" for "ä", "-¦" for "’", "-á" for a no-break
 * space). Spared: a price ("-£93") and a hyphen inside a word ("Saint-Étienne").
 */
const flattenedLeadByte = /\+[\u00a0-\u00ff](?!\d)|-[\u00a0-\u00bf](?!\d)|(?<!\p{L})-[\u00c0-\u00ff]/u;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: number[]): string | null {
  try {
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

let gbkBytesOf: Map<string, number[]> | null | undefined;

/** Built on first use from the platform's GBK decoder; null where the runtime has no GBK (no full ICU). */
function gbkTable(): Map<string, number[]> | null {
  if (gbkBytesOf !== undefined) return gbkBytesOf;
  try {
    const decoder = new TextDecoder('gbk');
    const table = new Map<string, number[]>();
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x40; trail <= 0xfe; trail++) {
        if (trail === 0x7f) continue;
        const char = decoder.decode(Uint8Array.of(lead, trail));
        if (char.length === 1 && char !== '\ufffd' && !table.has(char)) table.set(char, [lead, trail]);
      }
    }
    gbkBytesOf = table;
  } catch {
    gbkBytesOf = null;
  }
  return gbkBytesOf;
}

interface RepairResult {
  text: string;
  /** "before" → "after" of the first repaired run, per kind. */
  latin1: string | null;
  gbk: string | null;
  /** A snippet that still looks like mojibake after repair. */
  unrepaired: string | null;
}

function repairRuns(
  text: string,
  runs: RegExp,
  bytesOf: (char: string) => number[] | undefined,
  accept: (fixed: string) => boolean,
) {
  let example: string | null = null;
  const repaired = text.replace(runs, (run) => {
    const bytes = [...run].map(bytesOf);
    if (bytes.some((b) => b === undefined)) return run;
    const fixed = decodeUtf8(bytes.flat() as number[]);
    if (fixed === null || !accept(fixed)) return run;
    example ??= `"${run}" → "${fixed}"`;
    return fixed;
  });
  return { repaired, example };
}

const countMatches = (text: string, globalPattern: RegExp) => text.match(globalPattern)?.length ?? 0;

/** Chinese text is left alone: GBK repair only applies to rows whose letters are overwhelmingly not Han. */
function hanIsMinority(text: string): boolean {
  const han = countMatches(text, /\p{Script=Han}/gu);
  return han > 0 && han * 5 < countMatches(text, /\p{L}/gu);
}

function repairMojibake(text: string, repairGbk: boolean): RepairResult {
  const latin1 = repairRuns(
    text,
    singleByteRun,
    (char) => {
      const byte = singleByteOf.get(char);
      return byte === undefined ? undefined : [byte];
    },
    () => true,
  );
  let result = latin1.repaired;
  let gbkExample: string | null = null;
  const table = repairGbk ? gbkTable() : null;
  if (table) {
    const gbk = repairRuns(
      result,
      hanRun,
      (char) => table.get(char),
      (fixed) => !/\p{Script=Han}/u.test(fixed),
    );
    result = gbk.repaired;
    gbkExample = gbk.example;
  }
  const suspicious = leadThenContinuation.exec(result) ?? flattenedLeadByte.exec(result) ?? /\ufffd/.exec(result);
  const unrepaired = suspicious
    ? JSON.stringify(result.slice(Math.max(0, suspicious.index - 8), suspicious.index + 10))
    : null;
  return { text: result, latin1: latin1.example, gbk: gbkExample, unrepaired };
}

// ---------------------------------------------------------------------------------------------------------
// SemiEvol CSV

/** Rows that share one quirk, reported as one warning line. */
class Tally {
  readonly lines: number[] = [];
  example = '';

  constructor(private readonly description: string) {}

  add(line: number, example: string): void {
    if (this.lines.length === 0) this.example = example;
    this.lines.push(line);
  }

  warning(file: string): string | null {
    const n = this.lines.length;
    if (n === 0) return null;
    const listed = this.lines.slice(0, 10).join(', ') + (n > 10 ? `, and ${n - 10} more` : '');
    const plural = n === 1 ? '' : 's';
    return `${file}: ${n} row${plural} with ${this.description} (first: ${this.example}; line${plural} ${listed}).`;
  }
}

interface CsvRecord {
  /** Physical line where the record starts (records may span lines). */
  line: number;
  fields: string[];
}

/**
 * RFC 4180 with one relaxation: a quote inside an unquoted field is kept literally, as pandas.read_csv (what
 * SemiEvol loads these files with) reads it — arc/test.csv has `A new battery claims that it "lasts twice..."`.
 */
function readCsvRecords(file: string, maxBytes: number): CsvRecord[] {
  const bytes = readRegularFile(file, maxBytes);
  // csv-parse reports where each record ends (in bytes); the next record starts after any blank lines.
  let recordStart = 0;
  let newlinesCounted = 0;
  let line = 1;
  const startLine = () => {
    while (recordStart < bytes.length && (bytes[recordStart] === 0x0a || bytes[recordStart] === 0x0d)) recordStart++;
    for (; newlinesCounted < recordStart; newlinesCounted++) if (bytes[newlinesCounted] === 0x0a) line++;
    return line;
  };
  const records: CsvRecord[] = [];
  try {
    parseCsv(bytes, {
      bom: true,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (fields: string[], { bytes: recordEnd }: { bytes: number }) => {
        records.push({ line: startLine(), fields });
        recordStart = recordEnd;
        return null;
      },
    });
  } catch (error) {
    throw new DatasetError({ file, line: startLine() }, `the record is not valid CSV (${(error as Error).message})`);
  }
  return records.filter((record) => record.fields.some((field) => field.trim() !== ''));
}

/**
 * A split's header and data rows, and where each named column is (null for a missing optional one); a missing
 * required column is refused.
 */
function readCsvSplit(file: string, maxBytes: number, required: string[], optional: string[]) {
  const [header, ...rows] = readCsvRecords(file, maxBytes);
  const named = required.map((n) => `"${n}"`);
  const namedList = `${named.slice(0, -1).join(', ')}${named.length > 1 ? ' and ' : ''}${named.at(-1)}`;
  if (!header)
    throw new DatasetError({ file, line: 1 }, `the file is empty; expected a header row with ${namedList} columns`);
  const columns = header.fields.map((name) => name.trim().toLowerCase());
  // Column names are quoted back only from a header of a split: short names, one of them an expected column. A
  // first line of anything else (a symlink to a system file, an environment file) is never echoed.
  const looksLikeHeader =
    columns.length <= 30 &&
    columns.every((name) => /^[\p{L}\p{N}_ .-]{0,40}$/u.test(name)) &&
    columns.some((name) => [...required, 'id'].includes(name));
  const column = (name: string, isRequired: boolean): number | null => {
    const index = columns.indexOf(name);
    if (index < 0 && isRequired) {
      if (!looksLikeHeader)
        throw new DatasetError(
          { file, line: header.line },
          `the first line is not a header naming the ${namedList} columns`,
        );
      throw new DatasetError(
        { file, line: header.line, field: name },
        `is missing from the header, which has ${JSON.stringify(columns.join(', '))}`,
      );
    }
    return index < 0 ? null : index;
  };
  const index = Object.fromEntries([
    ...required.map((name) => [name, column(name, true)]),
    ...optional.map((name) => [name, column(name, false)]),
  ]) as Record<string, number | null>;
  if (rows.length === 0)
    throw new DatasetError({ file }, 'has a header but no data rows; a split needs at least one item');
  return { header, rows, columns, index };
}

/** Item ids of one file: non-empty and unique. */
class UniqueIds {
  private readonly firstLine = new Map<string, number>();

  constructor(private readonly file: string) {}

  check(id: string, line: number): string {
    if (id === '') throw new DatasetError({ file: this.file, line, field: 'id' }, 'must not be empty');
    const seenOn = this.firstLine.get(id);
    if (seenOn !== undefined)
      throw new DatasetError(
        { file: this.file, line, field: 'id' },
        `must be unique, got ${excerpt(id)}, already used on line ${seenOn}`,
      );
    this.firstLine.set(id, line);
    return id;
  }
}

export interface LoadedMcqDataset {
  items: McqItem[];
  /** One line per kind of quirk found and handled, with counts and line numbers. */
  warnings: string[];
}

export interface LoadSemiEvolCsvOptions {
  /**
   * Every row must have a valid answer letter (default). When false, a missing, blank or unusable answer becomes
   * null.
   */
  requireAnswer?: boolean;
  limits?: Partial<ReadLimits>;
}

const letterRange = (optionCount: number) => `${optionLetter(0)}-${optionLetter(optionCount - 1)}`;

/**
 * Policy for a bare `NaN` among the options (`["a", NaN, "c"]`): SemiEvol's authors read the split with
 * pandas.read_csv and the options with Python's json.loads (format_option_str in their common.py), which accepts NaN
 * as a float; their prompt then writes each option with an f-string, so the model saw "C. nan". We read it the same
 * way, as the option text "nan" (lower case, as Python prints it), and report the rows in a warning. A "NaN" inside
 * a string is ordinary text and is left alone; Infinity, which json.loads also accepts, is still refused.
 */
const pythonNanText = 'nan';

/** The JSON text with every bare NaN token outside strings replaced by the string "nan"; null when there is none. */
function quoteBareNan(raw: string): string | null {
  let out = '';
  let inString = false;
  let replaced = false;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i];
    if (inString) {
      if (char === '\\') {
        out += raw.slice(i, i + 2);
        i++;
        continue;
      }
      if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (raw.startsWith('NaN', i) && !/[\w$]/.test(raw[i - 1] ?? '') && !/[\w$]/.test(raw[i + 3] ?? '')) {
      out += JSON.stringify(pythonNanText);
      i += 2;
      replaced = true;
      continue;
    }
    out += char;
  }
  return replaced ? out : null;
}

function parseOptions(raw: string, file: string, line: number, bareNan: Tally): string[] {
  let options: unknown = null;
  try {
    options = JSON.parse(raw);
  } catch {
    const withNanQuoted = quoteBareNan(raw);
    try {
      if (withNanQuoted !== null) {
        options = JSON.parse(withNanQuoted);
        bareNan.add(line, rawExcerpt(raw));
      }
    } catch {
      // Reported below, with every other shape that is not a list of strings.
    }
  }
  const valid =
    Array.isArray(options) &&
    options.length >= 2 &&
    options.length <= 26 &&
    options.every((o) => typeof o === 'string');
  if (!valid)
    throw new DatasetError(
      { file, line, field: 'options' },
      `must be a JSON list of at least 2 (and at most 26) strings, got ${excerpt(raw)}`,
    );
  return options as string[];
}

type ParsedAnswer = { letter: string; fromDigit: boolean } | null;

/**
 * Policy: a letter (either case) within the options is the answer. A digit d in 1..N (ARC's original
 * numbered choices, 1-based) means option d, i.e. letter A+(d−1), and is reported. Anything else is unusable.
 */
function parseAnswer(raw: string, optionCount: number): ParsedAnswer {
  const answer = raw.trim();
  if (/^[A-Za-z]$/.test(answer)) {
    const index = answer.toUpperCase().charCodeAt(0) - 65;
    return index < optionCount ? { letter: optionLetter(index), fromDigit: false } : null;
  }
  if (/^\d+$/.test(answer)) {
    const digit = Number(answer);
    return digit >= 1 && digit <= optionCount ? { letter: optionLetter(digit - 1), fromDigit: true } : null;
  }
  return null;
}

/**
 * SemiEvol's split files: fpb (question, gt, options, answer), arc (id, question, answer, options),
 * pubmedqa (id, question, options, answer). Columns are found by name; others (fpb's `gt`) are ignored.
 * An item's id is its `id` column, else `row-<n>` with n counting data rows from 1.
 */
export function loadSemiEvolCsv(file: string, opts: LoadSemiEvolCsvOptions = {}): LoadedMcqDataset {
  const requireAnswer = opts.requireAnswer ?? true;
  const limits = limitsOf(opts.limits);
  const { rows, columns, index } = readCsvSplit(
    file,
    limits.maxBytes,
    requireAnswer ? ['question', 'options', 'answer'] : ['question', 'options'],
    requireAnswer ? ['id'] : ['answer', 'id'],
  );
  const questionColumn = index.question!;
  const optionsColumn = index.options!;
  const answerColumn = index.answer;
  const idColumn = index.id;

  const digitAnswers = new Tally('the answer given as an option number, read as that option (1 → A)');
  const latin1Repairs = new Tally('mojibake (UTF-8 read as Windows-1252/Latin-1), repaired');
  const gbkRepairs = new Tally('mojibake (UTF-8 read as GBK), repaired');
  const unrepaired = new Tally('possible mojibake that cannot be repaired without loss, kept as is');
  const droppedAnswers = new Tally('an answer that is not an option letter, set to null');
  const bareNan = new Tally(`a bare NaN among the options, read as the option text "${pythonNanText}"`);
  const rowErrors: DatasetError[] = [];
  const ids = new UniqueIds(file);

  const readRow = ({ line, fields }: CsvRecord, i: number): McqItem => {
    if (fields.length !== columns.length) {
      throw new DatasetError(
        { file, line },
        `the record has ${fields.length} fields but the header has ${columns.length} columns`,
      );
    }
    const id = ids.check(idColumn === null ? `row-${i + 1}` : fields[idColumn].trim(), line);

    const rawQuestion = fields[questionColumn];
    if (rawQuestion.trim() === '') throw new DatasetError({ file, line, field: 'question' }, 'must not be empty');
    const rawOptions = parseOptions(fields[optionsColumn], file, line, bareNan);

    const texts = [rawQuestion, ...rawOptions];
    const repairGbk = hanIsMinority(texts.join('\n'));
    const repairs = texts.map((text) => repairMojibake(text, repairGbk));
    const firstOf = (pick: (r: RepairResult) => string | null) => repairs.map(pick).find((x) => x !== null);
    const latin1 = firstOf((r) => r.latin1);
    const gbk = firstOf((r) => r.gbk);
    const kept = firstOf((r) => r.unrepaired);
    if (latin1) latin1Repairs.add(line, latin1);
    if (gbk) gbkRepairs.add(line, gbk);
    if (kept) unrepaired.add(line, kept);
    const [question, ...options] = repairs.map((r) => r.text);
    checkItemLength(question, limits.maxItemChars, { file, line, field: 'question' });
    options.forEach((option, index) =>
      checkItemLength(option, limits.maxItemChars, { file, line, field: `options[${index}]` }),
    );

    const rawAnswer = answerColumn === null ? '' : fields[answerColumn];
    const answer = parseAnswer(rawAnswer, options.length);
    if (answer?.fromDigit) digitAnswers.add(line, `${excerpt(rawAnswer.trim())} → ${answer.letter}`);
    if (answer === null && requireAnswer) {
      throw new DatasetError(
        { file, line, field: 'answer' },
        `must be an option letter ${letterRange(options.length)} (or an option number 1-${options.length}), ` +
          `got ${excerpt(rawAnswer)}`,
      );
    }
    if (answer === null && rawAnswer.trim() !== '') droppedAnswers.add(line, excerpt(rawAnswer));
    return { id, question, options, answer: answer?.letter ?? null };
  };
  // Every bad row is found before the file is refused, so that one pass over the data fixes them all.
  const items: McqItem[] = [];
  rows.forEach((row, i) => {
    try {
      items.push(readRow(row, i));
    } catch (error) {
      if (!(error instanceof DatasetError)) throw error;
      rowErrors.push(error);
    }
  });
  if (rowErrors.length) throw DatasetError.ofRows(rowErrors);

  const warnings = [digitAnswers, latin1Repairs, gbkRepairs, unrepaired, droppedAnswers, bareNan]
    .map((tally) => tally.warning(file))
    .filter((w): w is string => w !== null);
  return { items, warnings };
}

// ---------------------------------------------------------------------------------------------------------
// Open questions: a question and its answer as written (a number or a text), no options

const optionsInOpenSplit =
  'has no place in an open-question split; multiple-choice splits use the format "semievol-csv"';

/** An open item; a blank answer is refused when answers are required, else read as none. */
function openItem(
  id: string,
  question: string,
  answer: string | null,
  at: DatasetLocation,
  opts: { requireAnswer: boolean; maxItemChars: number },
): McqItem {
  if (question.trim() === '') throw new DatasetError({ ...at, field: 'question' }, 'must not be empty');
  const written = answer?.trim() || null;
  if (written === null && opts.requireAnswer) throw new DatasetError({ ...at, field: 'answer' }, 'must not be empty');
  checkItemLength(question, opts.maxItemChars, { ...at, field: 'question' });
  if (written !== null) checkItemLength(written, opts.maxItemChars, { ...at, field: 'answer' });
  return { id, question, options: [], answer: written };
}

/** A CSV of open questions: `question` and `answer` columns (`answer` optional for D_U), `id` optional. */
export function loadOpenCsv(file: string, opts: LoadSemiEvolCsvOptions = {}): LoadedMcqDataset {
  const requireAnswer = opts.requireAnswer ?? true;
  const { maxBytes, maxItemChars } = limitsOf(opts.limits);
  const { header, rows, columns, index } = readCsvSplit(
    file,
    maxBytes,
    requireAnswer ? ['question', 'answer'] : ['question'],
    requireAnswer ? ['id', 'options'] : ['answer', 'id', 'options'],
  );
  if (index.options !== null) throw new DatasetError({ file, line: header.line, field: 'options' }, optionsInOpenSplit);
  const ids = new UniqueIds(file);
  const items = eachLine(
    rows.map((row, i) => ({ ...row, i })),
    ({ line, fields, i }) => {
      if (fields.length !== columns.length)
        throw new DatasetError(
          { file, line },
          `the record has ${fields.length} fields but the header has ${columns.length} columns`,
        );
      const id = ids.check(index.id === null ? `row-${i + 1}` : fields[index.id].trim(), line);
      const answer = index.answer === null ? null : fields[index.answer];
      return openItem(id, fields[index.question!], answer, { file, line }, { requireAnswer, maxItemChars });
    },
    'row',
  );
  return { items, warnings: [] };
}

const openLineSchema = z.object(
  {
    id: z.union([string, z.number()], { error: 'must be a string or a number' }).optional(),
    question: string,
    answer: z.union([string, z.number()], { error: 'must be a string or a number' }).nullish(),
    options: z.unknown().optional(),
  },
  { error: 'must be an object with a string field "question" and an "answer"' },
);

/** A JSONL of open questions: `{"question", "answer"}` per line (`answer` optional for D_U), `id` optional. */
export function loadOpenJsonl(file: string, opts: LoadSemiEvolCsvOptions = {}): LoadedMcqDataset {
  const requireAnswer = opts.requireAnswer ?? true;
  const { maxBytes, maxItemChars } = limitsOf(opts.limits);
  const ids = new UniqueIds(file);
  const lines = requireJsonlItems(readJsonlLines(file, maxBytes), file);
  const items = eachLine(lines, ({ line, value }) => {
    const parsed = validate(openLineSchema, value, file, line);
    if (parsed.options !== undefined) throw new DatasetError({ file, line, field: 'options' }, optionsInOpenSplit);
    const id = ids.check(parsed.id === undefined ? `line-${line}` : String(parsed.id).trim(), line);
    const answer = parsed.answer == null ? null : String(parsed.answer);
    return openItem(id, parsed.question, answer, { file, line }, { requireAnswer, maxItemChars });
  });
  return { items, warnings: [] };
}
