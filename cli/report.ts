// `flt report <runId>`: a finished run as a self-contained HTML page with charts and an item browser, and a Markdown
// summary.
import type { Client } from '@temporalio/client';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { dataHome, defaultArtifactStore, type ArtifactStore } from '../lib/artifacts';
import { loadReportData, ReportError, type ReportData } from '../lib/report/data';
import type { RunItems } from '../lib/report/items';
import { renderHtml, renderMarkdown } from '../lib/report/render';
import { itemStages, type ShownMethod } from '../lib/show-items';
import { connect, UserError } from './connection';
import { runInput } from './run-input';
import { loaders } from './run-items';

/** What `flt show` lists for each SemiEvol or SELF-GUIDE run the report covers (a campaign: its test runs). */
async function runItems(client: Client, store: ArtifactStore, data: ReportData): Promise<RunItems[]> {
  const runs: { method: ShownMethod; runId: string; task: string }[] =
    data.method === 'semievol'
      ? [{ method: 'semievol', runId: data.runId, task: data.task }]
      : (data.selfGuide ?? []).map((r) => ({ method: 'selfguide', runId: r.runId, task: r.task }));
  return Promise.all(
    runs.map(async (run) => {
      const input = await runInput(client, client.workflow.getHandle(run.runId));
      const { items } = await loaders[run.method](store, input, itemStages[run.method].length - 1);
      return { ...run, items };
    }),
  );
}

/** `flt report <runId>`. */
export async function reportCommand(runId: string, opts: { out?: string }): Promise<void> {
  const client = await connect();
  const store = defaultArtifactStore();
  process.stderr.write(`reading run ${runId} and its artifacts...\n`);
  const read = async () => {
    const data = await loadReportData(client, store, runId);
    return { ...data, items: await runItems(client, store, data) };
  };
  const data = await read().catch((err: Error & { code?: string }) => {
    // A missing artifact means this machine's store is not the workers'.
    if (err.code === 'ENOENT')
      throw new UserError(
        `Run ${runId}'s artifacts are not in ${store.location}; ` +
          "point FLT_ARTIFACT_ROOT at the workers' artifact store.",
      );
    throw err instanceof ReportError ? new UserError(err.message) : err;
  });
  const dir = path.resolve(opts.out ?? path.join(dataHome(), 'reports'));
  mkdirSync(dir, { recursive: true });
  const html = path.join(dir, `${runId}.html`);
  const markdown = path.join(dir, `${runId}.md`);
  writeFileSync(html, renderHtml(data));
  writeFileSync(markdown, renderMarkdown(data, path.basename(html)));
  console.log(`report: ${html}`);
  console.log(`summary: ${markdown}`);
}
