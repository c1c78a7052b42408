// `flt show <runId> [stage]`: a run's items in the terminal, a page at a time, from what its stages recorded in the
// artifact store (under the names its activities gave them), so a running or failed run shows what has finished.
import type { Client } from '@temporalio/client';
import { searchAttributes } from '../core/search-attributes';
import { defaultArtifactStore } from '../lib/artifacts';
import {
  filterItems,
  itemBlock,
  itemStages,
  recordedReasons,
  shellWord,
  type ItemFilters,
  type ShownMethod,
  wrap,
} from '../lib/show-items';
import { defaultPageSize } from './arguments';
import { connect, UserError } from './connection';
import { runInput } from './run-input';
import { loaders, methodName, methodOfType } from './run-items';

interface ShowOptions {
  selected?: boolean;
  rejected?: boolean;
  reason?: string;
  grep?: string;
  limit?: number;
  offset?: number;
  json?: boolean;
}

const listed = (names: readonly string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? 'none');

/** The filters that need no run to check, checked before anything is read. */
function runlessFilters(opts: ShowOptions): ItemFilters {
  if (opts.selected && opts.rejected) throw new UserError('--selected and --rejected exclude each other; give one.');
  if (opts.grep === undefined) return { selected: opts.selected, rejected: opts.rejected };
  try {
    return { selected: opts.selected, rejected: opts.rejected, grep: new RegExp(opts.grep, 'i') };
  } catch (err) {
    throw new UserError(`--grep ${shellWord(opts.grep)} is not a regular expression: ${(err as Error).message}.`);
  }
}

/** `--reason`, which names what the run's method records. */
function reasonFilter(method: ShownMethod, reason: string | undefined): ItemFilters {
  const reasons = recordedReasons[method];
  if (reason !== undefined && !reasons.includes(reason))
    throw new UserError(`--reason takes what a ${methodName[method]} run records: ${listed(reasons)}.`);
  return { reason };
}

/** The stage `[stage]` names, as an index into the method's item stages; the last when none is named. */
function throughStage(method: ShownMethod, stage: string | undefined): number {
  const stages: readonly string[] = itemStages[method];
  if (stage === undefined) return stages.length - 1;
  const index = stages.indexOf(stage);
  if (index < 0)
    throw new UserError(
      `Stage "${stage}" has no item view; in a ${methodName[method]} run, ${listed(stages)} do ` +
        '(without a stage, the items through all of them).',
    );
  return index;
}

/** The command that shows the next page, as typed. */
function nextPageCommand(runId: string, stage: string | undefined, opts: ShowOptions, offset: number): string {
  const words = ['flt', 'show', runId, ...(stage ? [stage] : [])];
  if (opts.selected) words.push('--selected');
  if (opts.rejected) words.push('--rejected');
  if (opts.reason !== undefined) words.push('--reason', opts.reason);
  if (opts.grep !== undefined) words.push('--grep', opts.grep);
  if (opts.limit !== undefined) words.push('--limit', String(opts.limit));
  words.push('--offset', String(offset));
  return words.map(shellWord).join(' ');
}

export async function showCommand(runId: string, stage: string | undefined, opts: ShowOptions): Promise<void> {
  const checked = runlessFilters(opts);
  const client: Client = await connect();
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  const method = methodOfType[description.type];
  if (!method)
    throw new UserError(
      `Run ${runId} is a ${description.type}, which has no items to show; ` +
        '`flt show` reads SemiEvol and SELF-GUIDE runs.',
    );
  const filters = { ...checked, ...reasonFilter(method, opts.reason) };
  const through = throughStage(method, stage);
  const stages: readonly string[] = itemStages[method];
  const store = defaultArtifactStore();
  const { finished, items } = await loaders[method](store, await runInput(client, handle), through);
  const status = description.status.name;
  const at = description.typedSearchAttributes.get(searchAttributes.stage);
  // The stage attribute also tells a waiting run: `awaiting-approval`, `paused`.
  const where = at ? ` (stage: ${at})` : '';
  if (finished === 0) {
    throw new UserError(
      status === 'COMPLETED'
        ? `Run ${runId}'s artifacts are not in ${store.location}; ` +
            "point FLT_ARTIFACT_ROOT at the workers' artifact store."
        : `Run ${runId} is ${status}${where}, and ${stages[0]} has not finished: no items to show yet.`,
    );
  }
  const shown = Math.min(through, finished - 1);
  const notes: string[] = [];
  if (finished < stages.length) {
    const unfinished = `${listed(stages.slice(finished))} ${status === 'RUNNING' ? 'not yet' : 'never'} finished`;
    notes.push(
      `run ${runId} is ${status}${where}: ${listed(stages.slice(0, finished))} finished, ${unfinished}; ` +
        `shown: the items after ${stages[shown]}.`,
    );
  } else if (status !== 'COMPLETED') notes.push(`run ${runId} is ${status}${where}; ${listed(stages)} have finished.`);
  const selectionStage = method === 'semievol' ? 'select' : 'filter-inputs';
  if ((opts.selected || opts.rejected) && shown < stages.indexOf(selectionStage))
    throw new UserError(`--${opts.selected ? 'selected' : 'rejected'} needs ${selectionStage}, which is not shown.`);

  const matching = filterItems(items, filters);
  const paging = !opts.json || opts.limit !== undefined || opts.offset !== undefined;
  const offset = opts.offset ?? 0;
  const page = paging ? matching.slice(offset, offset + (opts.limit ?? defaultPageSize)) : matching;
  const filtered = matching.length === items.length ? '' : `${matching.length} of `;
  const range = page.length ? `; shown: ${offset + 1} to ${offset + page.length}` : '; none on this page';
  notes.push(`${methodName[method]} run ${runId}: ${filtered}${items.length} items${range}.`);
  if (opts.json) {
    for (const note of notes) process.stderr.write(`${note}\n`);
    for (const item of page) console.log(JSON.stringify(item));
    return;
  }
  const width = process.stdout.columns || 100;
  for (const note of notes) console.log(wrap(note, width, '', '').join('\n'));
  for (const item of page) console.log(['', ...itemBlock(item, items.length, width)].join('\n'));
  const next = offset + page.length;
  if (process.stdout.isTTY && page.length && next < matching.length)
    console.log(`\nnext page: ${nextPageCommand(runId, stage, opts, next)}`);
}
