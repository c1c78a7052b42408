// Recorded histories of representative runs (scripts/record-histories.ts) replayed against the current workflow
// code: a change that would break runs in flight fails here with a determinism violation.
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { workflowBundle } from '../support/temporal';

const dir = path.resolve(__dirname, '../histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const workflowType = (file: string): string | null | undefined =>
  historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8'))).events?.[0]
    ?.workflowExecutionStartedEventAttributes?.workflowType?.name;

describe('replay of recorded histories', () => {
  it("has histories of both methods' top-level workflows and a stage child of each", () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
    expect(files.map(workflowType)).toEqual(
      expect.arrayContaining([
        'evaluationRun',
        'evaluateModel',
        'fineTune',
        'semievolRun',
        'collaborate',
        'selfGuideRun',
        'selfGuideEvaluate',
      ]),
    );
  });

  it.each(files)('%s replays without a determinism violation', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
  });

  it('fails on an incompatible change to a workflow', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/changed-workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, 'evaluate-model.json'), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, history)).rejects.toThrow(
      /[Nn]ondetermin|DeterminismViolation/,
    );
  });
});
