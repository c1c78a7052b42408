// What the kills of a worker cost in model calls: the successful calls whose identical request had already been
// answered, and among those the ones that cannot be blamed on a kill (finished calls paid twice: must be none).
import type { RequestLogEntry } from '../support/provider-double';

export interface Repeats {
  /** Second and later answers to a request already answered once. */
  repeated: RequestLogEntry[];
  /** The first answers of repeated requests that were not in flight at any kill. */
  finishedRepeated: RequestLogEntry[];
}

/**
 * In flight at a kill: sent before the killed worker had exited and answered at most a moment before (the worker
 * had yet to store the answer in its cache when it died). Kill times are taken once the process has exited.
 */
export function inFlightAt(killTimes: readonly number[], call: RequestLogEntry, graceMs = 1000): boolean {
  return killTimes.some((kill) => call.time <= kill && call.time + call.durationMs >= kill - graceMs);
}

export function repeatsOf(calls: readonly RequestLogEntry[], killTimes: readonly number[]): Repeats {
  const firstAnswer = new Map<string, RequestLogEntry>();
  const repeated: RequestLogEntry[] = [];
  const finishedRepeated: RequestLogEntry[] = [];
  for (const call of calls) {
    const first = firstAnswer.get(call.requestHash);
    if (!first) {
      firstAnswer.set(call.requestHash, call);
      continue;
    }
    repeated.push(call);
    if (!inFlightAt(killTimes, first)) finishedRepeated.push(first);
  }
  return { repeated, finishedRepeated };
}
