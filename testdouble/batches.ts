// The batch engine behind OpenAI's and Together's batch routes: input validation, OpenAI's status lifecycle on a clock
// a test drives (or on timers), each line answered by the simulated chat model, and the output and error files, with
// the faults a test asks for.
import type { BatchConfig } from './config';
import type { FileStore, StoredFile } from './file-store';
import { randomId, type IdMinter } from './hashing';

export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** OpenAI's and Together's limit of requests per batch. */
const maxRequestsPerBatch = 50_000;

export interface BatchLineError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** A line's answer as the chat route gives it: its status and JSON body. */
export interface LineAnswer {
  status: number;
  body: unknown;
}

interface InputLine {
  customId: string;
  body: Record<string, unknown>;
}

export interface Batch {
  id: string;
  status: BatchStatus;
  endpoint: string;
  inputFile: StoredFile;
  metadata: Record<string, string> | null;
  model: string | null;
  /** Milliseconds since the epoch, by status reached. */
  times: Partial<Record<BatchStatus, number>> & { created: number };
  counts: { total: number; completed: number; failed: number };
  errors: BatchLineError[];
  outputFileId: string | null;
  errorFileId: string | null;
}

interface BatchRuntime {
  lines: InputLine[];
  /** One output line (JSON text) per line answered so far, by whether it goes to the error file. */
  output: string[];
  errorOutput: string[];
  timer?: NodeJS.Timeout;
}

export interface BatchEngineDeps {
  config: () => BatchConfig;
  ids: IdMinter;
  /** Where the output and error files go: the provider's own file store. */
  files: FileStore;
  /** The largest input file the provider takes (OpenAI 200 MB, Together 100 MB). */
  maxInputBytes: number;
  /** Answers one request body of a batch as the chat completions route would. */
  answer: (batchId: string, body: Record<string, unknown>) => LineAnswer;
}

const terminal: readonly BatchStatus[] = ['failed', 'completed', 'expired', 'cancelled'];

/** The validation errors of an input file, each naming its line, as OpenAI lists them on a failed batch. */
function validateInput(
  file: StoredFile,
  endpoint: string,
  maxInputBytes: number,
): { lines: InputLine[]; errors: BatchLineError[] } {
  const errors: BatchLineError[] = [];
  const error = (code: string, message: string, line: number | null, param: string | null = null) =>
    errors.push({ code, message, param, line });
  if (file.bytes > maxInputBytes)
    error('file_too_large', `The input file is larger than ${maxInputBytes} bytes.`, null);
  const texts = file.content.split('\n').filter((text) => text.trim() !== '');
  if (texts.length === 0) error('empty_file', 'The input file has no requests.', null);
  if (texts.length > maxRequestsPerBatch)
    error(
      'too_many_requests',
      `The input file has ${texts.length} requests, more than the ${maxRequestsPerBatch} a batch allows.`,
      null,
    );
  const lines: InputLine[] = [];
  const seen = new Set<string>();
  let model: string | null = null;
  texts.forEach((text, i) => {
    const line = i + 1;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return error('invalid_json_line', 'This line is not parseable as valid JSON.', line);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return error('invalid_json_line', 'This line is not a JSON object.', line);
    const { custom_id: customId, method, url, body } = parsed;
    if (typeof customId !== 'string' || customId === '')
      return error('missing_required_parameter', "Missing required parameter: 'custom_id'.", line, 'custom_id');
    if (seen.has(customId))
      return error('duplicate_custom_id', `The custom_id '${customId}' is used by an earlier line.`, line, 'custom_id');
    seen.add(customId);
    if (method !== 'POST') return error('invalid_method', "'method' must be 'POST'.", line, 'method');
    if (url !== endpoint)
      return error('invalid_url', `'url' must be the batch's endpoint, '${endpoint}'.`, line, 'url');
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return error('missing_required_parameter', "Missing required parameter: 'body'.", line, 'body');
    const lineModel = (body as Record<string, unknown>).model;
    if (typeof lineModel !== 'string' || lineModel === '')
      return error('missing_required_parameter', "Missing required parameter: 'body.model'.", line, 'body.model');
    model ??= lineModel;
    if (lineModel !== model)
      return error(
        'mismatched_model',
        `Every request in a batch must use the same model: this line uses '${lineModel}', an earlier one '${model}'.`,
        line,
        'body.model',
      );
    lines.push({ customId, body: body as Record<string, unknown> });
  });
  return { lines, errors };
}

const matches = (pattern: string, customId: string) => pattern !== '' && new RegExp(pattern).test(customId);

export class BatchEngine {
  private readonly batches = new Map<string, Batch>();
  private readonly runtime = new Map<string, BatchRuntime>();

  constructor(private readonly deps: BatchEngineDeps) {}

  create(args: { inputFile: StoredFile; endpoint: string; metadata: Record<string, string> | null }): Batch {
    const id = `batch_${this.deps.ids.next(`batch:${args.inputFile.id}:${JSON.stringify(args.metadata)}`)}`;
    const batch: Batch = {
      id,
      status: 'validating',
      endpoint: args.endpoint,
      inputFile: args.inputFile,
      metadata: args.metadata,
      model: null,
      times: { created: Date.now() },
      counts: { total: 0, completed: 0, failed: 0 },
      errors: [],
      outputFileId: null,
      errorFileId: null,
    };
    this.batches.set(id, batch);
    this.runtime.set(id, { lines: [], output: [], errorOutput: [] });
    this.schedule(batch);
    return batch;
  }

  get(id: string): Batch | undefined {
    return this.batches.get(id);
  }

  /** Newest first. */
  list(): Batch[] {
    return [...this.batches.values()].reverse();
  }

  /** Returns false when the batch has already ended. */
  cancel(batch: Batch): boolean {
    if (terminal.includes(batch.status)) return false;
    if (batch.status !== 'cancelling') {
      this.setStatus(batch, 'cancelling');
      this.schedule(batch);
    }
    return true;
  }

  /** Takes the batch's next step now: what a test calls to move the clock. Returns false once it has ended. */
  advance(batch: Batch): boolean {
    if (terminal.includes(batch.status)) return false;
    clearTimeout(this.runtime.get(batch.id)!.timer);
    switch (batch.status) {
      case 'validating':
        this.validate(batch);
        break;
      case 'in_progress':
        this.run(batch);
        break;
      case 'finalizing':
        this.finish(batch, 'completed');
        break;
      case 'cancelling':
        this.finish(batch, 'cancelled', 'batch_cancelled', 'This request was not executed: the batch was cancelled.');
        break;
    }
    this.schedule(batch);
    return true;
  }

  private validate(batch: Batch): void {
    const { lines, errors } = validateInput(batch.inputFile, batch.endpoint, this.deps.maxInputBytes);
    if (errors.length > 0) {
      batch.errors = errors;
      return this.setStatus(batch, 'failed');
    }
    this.runtime.get(batch.id)!.lines = lines;
    batch.model = lines[0].body.model as string;
    batch.counts.total = lines.length;
    this.setStatus(batch, 'in_progress');
  }

  /** Answers the lines, all of them or (expiry) as many as `expireAfterLines` allows. */
  private run(batch: Batch): void {
    const runtime = this.runtime.get(batch.id)!;
    const { expireAfterLines } = this.deps.config();
    const expires = expireAfterLines >= 0 && expireAfterLines < runtime.lines.length;
    for (const line of runtime.lines.slice(0, expires ? expireAfterLines : undefined)) this.answer(batch, line);
    if (expires)
      return this.finish(
        batch,
        'expired',
        'batch_expired',
        'This request could not be executed before the completion window expired.',
      );
    this.setStatus(batch, 'finalizing');
  }

  private answer(batch: Batch, line: InputLine): void {
    const runtime = this.runtime.get(batch.id)!;
    const { failLines, malformedLines } = this.deps.config();
    const answer = matches(failLines, line.customId)
      ? {
          status: 500,
          body: {
            error: {
              message: 'The server had an error processing this request (injected by the provider test double).',
              type: 'server_error',
              param: null,
              code: null,
            },
          },
        }
      : this.deps.answer(batch.id, line.body);
    const text = JSON.stringify({
      id: `batch_req_${randomId()}`,
      custom_id: line.customId,
      response: { status_code: answer.status, request_id: randomId(), body: answer.body },
      error: null,
    });
    if (answer.status === 200) {
      batch.counts.completed++;
      // Cut inside the response, after custom_id: a reader can still tell whose line it was.
      runtime.output.push(matches(malformedLines, line.customId) ? text.slice(0, text.indexOf('"body"') + 20) : text);
    } else {
      batch.counts.failed++;
      runtime.errorOutput.push(text);
    }
  }

  /**
   * Ends the batch in `status` and writes its files; lines never answered go to the error file with `code` (an
   * expired or cancelled batch).
   */
  private finish(batch: Batch, status: BatchStatus, code?: string, message?: string): void {
    const runtime = this.runtime.get(batch.id)!;
    if (code !== undefined) {
      const answered = batch.counts.completed + batch.counts.failed;
      for (const line of runtime.lines.slice(answered))
        runtime.errorOutput.push(
          JSON.stringify({
            id: `batch_req_${randomId()}`,
            custom_id: line.customId,
            response: null,
            error: { code, message },
          }),
        );
    }
    const write = (lines: string[], kind: string) =>
      lines.length === 0
        ? null
        : this.deps.files.create(`${batch.id}_${kind}.jsonl`, 'batch_output', `${lines.join('\n')}\n`).id;
    batch.outputFileId = write(runtime.output, 'output');
    batch.errorFileId = write(runtime.errorOutput, 'error');
    this.setStatus(batch, status);
  }

  private setStatus(batch: Batch, status: BatchStatus): void {
    batch.status = status;
    batch.times[status] = Date.now();
  }

  /**
   * With a step duration set, the batch takes its next step on a timer (a changed duration applies from the next
   * step); else it waits for `advance`.
   */
  private schedule(batch: Batch): void {
    const { stepMs } = this.deps.config();
    if (stepMs <= 0 || terminal.includes(batch.status)) return;
    const runtime = this.runtime.get(batch.id)!;
    clearTimeout(runtime.timer);
    // Unreferenced: a pending step never keeps the double's process alive at shutdown.
    runtime.timer = setTimeout(() => this.advance(batch), stepMs).unref();
  }
}
