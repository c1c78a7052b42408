// One serialization for everything that keys a cache entry or names a job: object keys sorted, so the same value
// gives the same key whatever order a config file wrote it in.
import stableStringify from 'safe-stable-stringify';

export function canonicalJson(value: unknown): string {
  return stableStringify(value) ?? 'null';
}
