// `flt report` on a completed run whose input or result is not what the report reads says so in one sentence,
// instead of failing inside the report with a TypeError.
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadReportData } from '../../lib/report/data';
import { temporalAddress, testClient } from '../support/temporal';

const taskQueue = 'report-unexpected';
let workflowBundle: ReturnType<typeof bundleWorkflowCode> | undefined;

it.each([
  ['evaluationRun', [{ providers: {} }], 'usage'],
  ['semievolRun', [{ providers: {} }], 'result'],
  ['evaluationRun', [], 'input'],
])('a completed %s with an unexpected result or input is refused by name (%#)', async (type, args, field) => {
  workflowBundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../fixtures/odd-results'),
    logger: new DefaultLogger('WARN'),
  });
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const { client, close } = await testClient();
  const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-report-odd-')));
  try {
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: await workflowBundle });
    const workflowId = `odd-${type}-${field}-${Date.now()}`;
    await worker.runUntil(client.workflow.execute(type, { taskQueue, workflowId, args }));
    const failure = await loadReportData(client, store, workflowId).then(
      () => null,
      (err: Error) => err,
    );
    expect(failure?.constructor.name).toBe('ReportError');
    expect(failure?.message).toMatch(
      new RegExp(`^Run ${workflowId}'s (input|result) is not what the report reads from a workflow of type ${type}`),
    );
    expect(failure?.message).toContain(field);
    expect(failure?.message).not.toMatch(/TypeError|Cannot read/);
  } finally {
    await close();
    await connection.close();
  }
});
