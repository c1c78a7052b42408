// A finished batch's output and error lines, read one at a time and kept by custom_id: which requests were answered,
// and why each other one was not. The line format is OpenAI's, which Together's batches share.
import type { BatchAnswer, BatchMissingItem } from '../../../core/batch';
import { classify, ProviderHttpError, serverMessageOf } from '../errors';

type Failure = Omit<BatchMissingItem, 'customId'>;

interface ResultLine {
  custom_id?: unknown;
  response?: { status_code?: unknown; body?: unknown } | null;
  error?: { code?: unknown; message?: unknown } | null;
}

/** The custom_id of a line cut short, when the cut came after it: whose answer was lost. */
function customIdOfBrokenLine(raw: string): string | null {
  const quoted = /"custom_id"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(raw)?.[1];
  if (quoted === undefined) return null;
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return null;
  }
}

/** What a line without a usable answer says about its item: the status it was answered with, or why it never ran. */
function failureOf(line: ResultLine, where: string): Failure {
  const status = line.response?.status_code;
  if (status === 200) return { retryable: true, reason: `${where} has status 200 but no answer`, status: null };
  if (typeof status === 'number') {
    const message = serverMessageOf(line.response?.body) ?? `answered with status ${status}`;
    // Retryable or not as an online call answered with this status would be.
    return { retryable: classify(new ProviderHttpError(message, status)).retryable, reason: message, status };
  }
  const { code, message } = line.error ?? {};
  // An item that never ran (its batch expired or was cancelled first) can be asked again.
  return { retryable: true, reason: `${String(message ?? 'not run')} (${String(code ?? 'no code')})`, status: null };
}

export class BatchResultLines {
  private readonly answered = new Map<string, Record<string, unknown>>();
  private readonly failed = new Map<string, Failure>();

  /** Takes one line; `where` names it ("line 3 of the output file file-abc") for the reason of an unreadable one. */
  read(raw: string, where: string): void {
    if (raw.trim() === '') return;
    let line: ResultLine;
    try {
      line = JSON.parse(raw) as ResultLine;
    } catch {
      const customId = customIdOfBrokenLine(raw);
      if (customId !== null)
        this.fail(customId, { retryable: true, reason: `${where} is not valid JSON`, status: null });
      return;
    }
    // A line that names no item cannot be mapped back: its item is reported as unanswered instead.
    if (typeof line.custom_id !== 'string') return;
    const body = line.response?.body;
    if (line.response?.status_code === 200 && typeof body === 'object' && body !== null && !Array.isArray(body)) {
      this.answered.set(line.custom_id, body as Record<string, unknown>);
      this.failed.delete(line.custom_id);
    } else {
      this.fail(line.custom_id, failureOf(line, where));
    }
  }

  /** The request's answer, or why it has none (`unanswered` when no line named it). */
  outcome(customId: string, unanswered: Failure): { answer: BatchAnswer } | { missing: BatchMissingItem } {
    const body = this.answered.get(customId);
    if (body) return { answer: { customId, body } };
    return { missing: { customId, ...(this.failed.get(customId) ?? unanswered) } };
  }

  /** An answer read earlier for the same item wins over a failure. */
  private fail(customId: string, failure: Failure): void {
    if (!this.answered.has(customId)) this.failed.set(customId, failure);
  }
}
