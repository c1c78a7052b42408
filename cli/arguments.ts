// How the command line's arguments and option values are read: each checked as it is parsed, before anything is loaded,
// called or started, with one sentence saying what was expected.
import { InvalidArgumentError } from 'commander';
import { identifierRule, isIdentifier } from '../core/identifiers';

/** `--id <runId>`. */
export function runIdArgument(value: string): string {
  if (!isIdentifier(value, 200)) throw new InvalidArgumentError(`A run id ${identifierRule(200)}.`);
  return value;
}

/** One of a few words: `"a" or "b"` reads better than a list when there are two. */
export function oneOf<T extends string>(allowed: readonly T[]) {
  const expected = allowed.length === 2 ? `"${allowed[0]}" or "${allowed[1]}"` : `one of ${allowed.join(', ')}`;
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${expected}.`);
    return value as T;
  };
}

const onOrOff = oneOf(['on', 'off']);
export const onOff = (value: string): boolean => onOrOff(value) === 'on';

export function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

/** `flt show`'s page when `--limit` is not given. */
export const defaultPageSize = 20;

/** A whole number from `min` up. */
export const count = (min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number from ${min} up.`);
  return n;
};

/** `flt watch --interval`: at least 0.2 s between redraws. */
export function seconds(value: string): number {
  const n = Number(value);
  if (!(n >= 0.2)) throw new InvalidArgumentError('expected a number of seconds, at least 0.2.');
  return n;
}

/** A percentile, as SemiEvol's theta. */
export function percentile(value: string): number {
  const theta = Number(value);
  if (value.trim() === '' || !(theta >= 0 && theta <= 100))
    throw new InvalidArgumentError('expected a number from 0 to 100.');
  return theta;
}

/** ExecutionStatus as visibility queries spell it. */
const executionStatuses = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut'];

/** `--status`: any letter case, and the client's spelling too (`CANCELLED`, `TIMED_OUT`), as `flt status` prints it. */
export function executionStatus(value: string): string {
  const key = value.toLowerCase().replace(/[-_ ]/g, '').replace('cancelled', 'canceled');
  const found = executionStatuses.find((status) => status.toLowerCase() === key);
  if (!found) throw new InvalidArgumentError(`expected one of ${executionStatuses.join(', ')} (any letter case).`);
  return found;
}
