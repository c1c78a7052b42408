// `flt result` says when items failed on their own, so a score over fewer items is never read as the whole split.
import { summarizeResult } from '../../lib/methods';

describe('result summaries', () => {
  const evaluation = (itemFailures?: object) => ({
    stage: 'evaluate',
    model: { provider: 'double', model: 'sim-model' },
    score: { correct: 10, total: 19, unanswered: 0, accuracy: 10 / 19 },
    usage: {},
    ...(itemFailures ? { itemFailures } : {}),
  });

  it("names an evaluation's failed items, their count and the first", () => {
    const lines = summarizeResult('evaluationRun', {
      evaluations: [evaluation({ count: 1, of: 20, examples: [{ id: 'q0', message: '400 too long' }] })],
    });
    expect(lines).toEqual([
      'double/sim-model: accuracy 0.526 (10/19, 0 without an answer); ' +
        '1 of 20 items failed and are not scored (first: q0: 400 too long)',
    ]);
  });

  it('says nothing more when no item failed', () => {
    expect(summarizeResult('evaluationRun', { evaluations: [evaluation()] })).toEqual([
      'double/sim-model: accuracy 0.526 (10/19, 0 without an answer)',
    ]);
  });
});
