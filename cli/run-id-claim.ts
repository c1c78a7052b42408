// A run names its finished work after its id (runs/<id>/<stage>/...), and an activity that finds work under its name
// returns it. An id reused with other inputs would therefore be answered with the earlier run's results: `flt run`
// and `flt resume` record each id's inputs in the artifact store before starting, and refuse a reuse that changes them.
import type { ArtifactStore } from '../lib/artifacts';
import { canonicalJson } from '../lib/canonical-json';
import { UserError } from './connection';

/** Fields of a run's input that do not change what it computes: its own id and its budget (what it may spend). */
const notComputed = new Set(['runId', 'budget']);

/** Records `input` as the inputs of `runId`, or throws a one-sentence UserError if the id ran with other inputs. */
export async function claimRunId(store: ArtifactStore, runId: string, input: Record<string, unknown>): Promise<void> {
  const inputs = Object.fromEntries(Object.entries(input).filter(([key]) => !notComputed.has(key)));
  const name = `runs/${runId}/inputs`;
  const recorded = await store.lookup(name);
  if (!recorded) {
    await store.writeJsonl([inputs], name);
    return;
  }
  const [earlier] = await store.readAll<Record<string, unknown>>(recorded);
  const changed = [...new Set([...Object.keys(earlier), ...Object.keys(inputs)])].filter(
    (key) => canonicalJson(earlier[key]) !== canonicalJson(inputs[key]),
  );
  if (changed.length)
    throw new UserError(
      `Run id "${runId}" was already used with other inputs (changed: ${changed.join(', ')}); ` +
        `start this run under a new --id, or change the earlier run's settings with \`flt resume ${runId} --set\`.`,
    );
}
