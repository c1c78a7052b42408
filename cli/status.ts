// `flt status <runId>`: where a run is, as lines: its Temporal status, stage, progress and spend.
import type { Client } from '@temporalio/client';
import { approvalHint, controlQuery, progressQuery, reviewHint } from '../core/workflow-messages';
import { flatten, readRunTree } from '../lib/run-tree';
import { closedRunSpendLine } from '../lib/run-spend';
import { uiLink } from '../lib/temporal';
import { connect } from './connection';
import { batchLines, batchPhase, retryNotes } from './watch-view';
import { costText, promptCacheLine } from './result';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function statusLines(client: Client, runId: string): Promise<string[]> {
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  const lines = [`run ${runId}: ${description.status.name}`];
  let currentStage: string | null = null;
  if (description.status.name === 'RUNNING') {
    const [progress, control] = await Promise.all([
      handle.query(progressQuery),
      handle.query(controlQuery).catch(() => null),
    ]);
    if (control?.paused) lines.push(`paused: \`flt unpause ${runId}\` resumes`);
    if (control?.awaiting)
      lines.push(`awaiting approval: ${control.awaiting.reason}. ${approvalHint(runId, control.awaiting)}`);
    if (control?.review) {
      const { items, what, stage } = control.review;
      lines.push(`awaiting review: ${items} ${what} before stage "${stage}". ${reviewHint(runId)}`);
    }
    currentStage = progress.stage;
    lines.push(`stage: ${progress.stage}`);
    for (const s of progress.stages) lines.push(`  ${s.stage}: ${s.done}/${s.total}`);
    const cache = promptCacheLine(progress.usage, progress.costs);
    lines.push(
      `calls: ${progress.usage.calls} paid, ${progress.usage.cachedCalls} cached; ` +
        `tokens: ${progress.usage.promptTokens + progress.usage.completionTokens}${cache ? ` (${cache})` : ''}; ` +
        `cost: ${costText(progress.usage)}`,
    );
  }
  // Activities in retry and batches in flight anywhere in the run, by stage; why a run that ended without a result
  // ended.
  const tree = await readRunTree(client, runId, { queries: false });
  const now = Date.now();
  for (const node of flatten(tree)) {
    const stage = node === tree ? currentStage : node.workflowId.replace(new RegExp(`^${escapeRegExp(runId)}--`), '');
    for (const note of retryNotes(node, now))
      lines.push(`retrying: ${stage ? `${stage}: ` : ''}${note.replace(/^retrying /, '')}`);
    const batch = batchPhase(node);
    if (batch) lines.push(`batch: ${stage ? `${stage}: ` : ''}${batch}`, ...batchLines(node).map((l) => `  ${l}`));
  }
  if (!['RUNNING', 'COMPLETED'].includes(description.status.name))
    lines.push(await closedRunSpendLine(client, runId, description.status.name));
  if (tree.failure) lines.push(`reason: ${tree.failure}`);
  lines.push(`web UI: ${uiLink(runId)}`);
  return lines;
}

/** `flt status <runId>`. */
export async function statusCommand(runId: string): Promise<void> {
  for (const line of await statusLines(await connect(), runId)) console.log(line);
}
