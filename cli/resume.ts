// `flt resume <runId>`: a new run with the old run's input (and any --set changes). Nothing finished is paid for
// again: model calls are answered from the response cache (keyed by the full request), fine-tune jobs are found by
// what they train on, and artifacts are content-addressed.
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { rerunnableStages, type Rerun } from '../core/rerun';
import { searchAttributes } from '../core/search-attributes';
import { defaultArtifactStore } from '../lib/artifacts';
import { fieldName, issueMessage } from '../lib/config-file';
import { methodOfWorkflow } from '../lib/methods';
import { uiLink } from '../lib/temporal';
import { connect, UserError } from './connection';
import { claimRunId } from './run-id-claim';
import { runInput } from './run-input';

/** The value of `--set key=value`: JSON when it parses as JSON, else the string. */
function settingValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Applies `--set section.field=value` settings, written with the keys of the method's config file
 * (`semievol.selection.theta=60`), to a copy of a run's input: each changed section is checked with the config's own
 * schema before anything starts, and a refused value is one sentence naming the key and what was expected.
 */
export function applySettings(
  workflowType: string,
  input: Record<string, unknown>,
  settings: string[],
): Record<string, unknown> {
  if (!settings.length) return input;
  const found = methodOfWorkflow(workflowType);
  if (!found) throw new UserError(`--set: the settings of a ${workflowType} run cannot be changed on resume.`);
  const { name, method } = found;
  const copy = structuredClone(input);
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    if (eq <= 0) throw new UserError(`--set ${setting}: expected key=value, e.g. --set semievol.selection.theta=60.`);
    const keys = setting.slice(0, eq).split('.');
    const [section] = keys;
    const schema = (method.schema.shape as Record<string, z.ZodType>)[section];
    if (!Object.hasOwn(method.settable, section) || !schema) {
      const settable = Object.keys(method.settable).join(', ');
      throw new UserError(
        `--set ${setting}: "${section}" is not a setting of a ${name} config (settable on resume: ${settable}).`,
      );
    }
    const field = method.settable[section];
    // Walked from a root holding the section, so `seed=3` and `semievol.selection.theta=60` are one case.
    const root: Record<string, unknown> = { [section]: structuredClone(copy[field]) };
    let target = root;
    for (const [i, key] of keys.entries()) {
      if (i === keys.length - 1) target[key] = settingValue(setting.slice(eq + 1));
      else {
        target[key] ??= {};
        const inner = target[key];
        if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
          throw new UserError(`--set ${setting}: ${keys.slice(0, i + 1).join('.')} is a value, not a section.`);
        target = inner as Record<string, unknown>;
      }
    }
    const parsed = schema.safeParse(root[section]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UserError(`--set ${setting}: ${fieldName([section, ...issue.path])} ${issueMessage(issue)}.`);
    }
    copy[field] = parsed.data;
  }
  return copy;
}

/** `--from <stage>` for a run of `workflowType`: the rerun its input gets, or a one-sentence error. */
export function rerunFrom(workflowType: string, stage: string, salt: string): Rerun {
  const stages: readonly string[] | undefined = rerunnableStages[workflowType as keyof typeof rerunnableStages];
  if (!stages)
    throw new UserError(
      `--from ${stage}: ${workflowType} runs have no stages to run again: --from works for SemiEvol and ` +
        'SELF-GUIDE runs (resume without it reuses everything finished).',
    );
  if (!stages.includes(stage))
    throw new UserError(
      `--from ${stage}: expected one of the stages \`flt watch\` shows for a ${workflowType}: ${stages.join(', ')}.`,
    );
  return { from: stage, salt };
}

/** `flt resume <runId>`. */
export async function resumeCommand(
  oldRunId: string,
  opts: { set: string[]; from?: string; id?: string },
): Promise<void> {
  const client = await connect();
  const old = client.workflow.getHandle(oldRunId);
  const description = await old.describe();
  const input = await runInput(client, old);
  const runId = opts.id ?? `${oldRunId.replace(/-resumed-[0-9a-f]{4}$/, '')}-resumed-${randomBytes(2).toString('hex')}`;
  const changed = applySettings(description.type, input, opts.set);
  // Without --from, a run resumed from a rerun stays one: its rerun stages still pay under their own salt.
  const rerun = opts.from ? rerunFrom(description.type, opts.from, runId) : changed.rerun;
  const resumed = { ...changed, runId, rerun };
  await claimRunId(defaultArtifactStore(), runId, resumed);
  await client.workflow.start(description.type, {
    taskQueue: description.taskQueue,
    workflowId: runId,
    args: [resumed],
    // What identifies the run carries over; stage, cost and accuracy are the new run's own.
    typedSearchAttributes: [searchAttributes.method, searchAttributes.task, searchAttributes.baseModel].flatMap(
      (key) => {
        const value = description.typedSearchAttributes.get(key);
        return value === undefined ? [] : [{ key, value }];
      },
    ),
    memo: { resumedFrom: oldRunId, settingsChanged: opts.set, ...(opts.from ? { rerunFrom: opts.from } : {}) },
    staticSummary:
      `resume of ${oldRunId}${opts.from ? ` from ${opts.from}` : ''}` +
      (opts.set.length ? ` with ${opts.set.join(', ')}` : ''),
  });
  const reused = opts.from
    ? `stages before ${opts.from} are reused; ${opts.from} and later stages pay anew`
    : 'finished calls, fine-tune jobs and artifacts are reused';
  console.log(`run id: ${runId} (resumes ${oldRunId}; ${reused})`);
  console.log(`web UI: ${uiLink(runId)}`);
}
