// `flt report <runId>`: a finished run as a self-contained HTML page with charts and a Markdown summary.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { dataHome, defaultArtifactStore } from '../lib/artifacts';
import { loadReportData, ReportError } from '../lib/report/data';
import { renderHtml, renderMarkdown } from '../lib/report/render';
import { connect, UserError } from './connection';

/** `flt report <runId>`. */
export async function reportCommand(runId: string, opts: { out?: string }): Promise<void> {
  const client = await connect();
  process.stderr.write(`reading run ${runId} and its artifacts...\n`);
  const data = await loadReportData(client, defaultArtifactStore(), runId).catch((err: Error & { code?: string }) => {
    // A missing artifact means this machine's store is not the workers'.
    if (err.code === 'ENOENT')
      throw new UserError(
        `Run ${runId}'s artifacts are not in ${defaultArtifactStore().location}; ` +
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
