// `flt review <runId> --export FILE` and `--apply FILE`: a person accepts or rejects, item by item, what a run waiting
// for review would fine-tune on. The run wrote the items to the artifact store; export copies them into a file, apply
// checks the edited file against them, records the decisions as an artifact and sends the run a reference to it.
import type { WorkflowHandle } from '@temporalio/client';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readReviewFile, reviewDecisionsName, type ReviewItem } from '../core/review';
import { applyReviewUpdate, controlQuery, type AwaitingReview } from '../core/workflow-messages';
import { defaultArtifactStore, type ArtifactStore } from '../lib/artifacts';
import { connect, UserError } from './connection';

/** How long to wait for a worker to answer the query or the update before saying none is running. */
const workerWaitMs = 10_000;

export async function reviewCommand(runId: string, opts: { export?: string; apply?: string }): Promise<void> {
  if (!opts.export === !opts.apply)
    throw new UserError('Give --export FILE to write the items under review, or --apply FILE to send decisions.');
  if (opts.export && existsSync(opts.export))
    throw new UserError(`${opts.export} exists; export to a new file, so no decision already made there is lost.`);
  if (opts.apply && !existsSync(opts.apply))
    throw new UserError(`${opts.apply} does not exist; write it with \`flt review ${runId} --export FILE\` first.`);
  const client = await connect();
  const handle = client.workflow.getHandle(runId);
  const { status } = await handle.describe();
  if (status.name !== 'RUNNING')
    throw new UserError(`Run ${runId} is ${status.name}; only a running run waits for a review.`);
  const state = await client
    .withDeadline(Date.now() + workerWaitMs, () => handle.query(controlQuery))
    .catch(() => null);
  if (!state)
    throw new UserError(
      `No worker answered for run ${runId}, so whether it waits for a review is unknown; ` +
        'start a worker (`npm run worker`).',
    );
  if (!state.review) {
    const waiting = state.awaiting ? `; it waits for \`flt approve\` of stage "${state.awaiting.stage}"` : '';
    throw new UserError(
      `Run ${runId} is not waiting for a review${waiting}. A run waits for one before its fine-tune when its ` +
        'config sets `semievol.selection.review` (SemiEvol) or `annotation.review` (SELF-GUIDE) to true.',
    );
  }
  const store = defaultArtifactStore();
  const items = await store.readAll<ReviewItem>(state.review.artifact);
  if (opts.export) exportItems(runId, state.review, items, opts.export);
  else {
    const send = (update: () => Promise<void>) =>
      client.withDeadline(Date.now() + workerWaitMs, update).catch((err) => {
        throw new UserError(
          `Run ${runId} did not take the review (${err?.message ?? err}); is a worker running (\`npm run worker\`)?`,
        );
      });
    await applyDecisions(handle, state.review, items, opts.apply!, store, send);
  }
}

function exportItems(runId: string, review: AwaitingReview, items: ReviewItem[], file: string): void {
  writeFileSync(file, items.map((item) => `${JSON.stringify(item)}\n`).join(''));
  console.log(
    `wrote the ${items.length} ${review.what} that stage "${review.stage}" of ${runId} would train on to ${file}, ` +
      'one a line, each "accept". Set "decision" to "reject" on those to leave out, then run ' +
      `\`flt review ${runId} --apply ${file}\`.`,
  );
}

/** Checks the file before anything is written or sent: a bad line names itself and changes nothing. */
async function applyDecisions(
  handle: WorkflowHandle,
  review: AwaitingReview,
  items: ReviewItem[],
  file: string,
  store: ArtifactStore,
  send: (update: () => Promise<void>) => Promise<void>,
): Promise<void> {
  let read: ReturnType<typeof readReviewFile>;
  try {
    read = readReviewFile(readFileSync(file, 'utf8'), file, items);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const decisions = await store.writeJsonl(read.verdicts, reviewDecisionsName(review.artifact));
  const { accepted, rejected } = read;
  await send(() =>
    handle.executeUpdate(applyReviewUpdate, { args: [{ stage: review.stage, decisions, accepted, rejected }] }),
  );
  console.log(
    `run ${handle.workflowId} took the review: ${accepted} ${review.what} accepted, ${rejected} rejected; ` +
      `stage "${review.stage}" trains on the accepted ones. The decisions are recorded as ${decisions.uri}.`,
  );
}
