// The line `flt run` writes to stderr when a config's budget is far below the run's estimate.
import { budgetDetails, budgetWarning } from '../../cli/estimate';
import { markdownList, usdText } from '../../core/ui-text';
import type { StageEstimate } from '../../core/estimate';

const stage = (name: string, costUsd: number, tokens: number): StageEstimate => ({
  stage: name,
  units: 1,
  calls: 10,
  promptTokens: tokens,
  completionTokens: 0,
  trainingTokens: 0,
  costUsd,
  trainingUsd: 0,
  fineTune: false,
});
const stages = [stage('collaborate', 0.03, 30_000), stage('evaluate', 0.01, 10_000)]; // $0.04, 40,000 tokens

describe('budgetWarning', () => {
  it('names the budget and the estimate when a limit is under half of it', () => {
    expect(budgetWarning({ usd: 0.0199 }, stages)).toBe(
      'warning: the budget of $0.0199 is under half the estimate of up to $0.0400; the run starts, and waits for ' +
        '`flt budget` or `flt approve` before the first stage that would cross it.',
    );
    expect(budgetWarning({ tokens: 19_999 }, stages)).toBe(
      'warning: the budget of 19,999 tokens is under half the estimate of up to 40,000 tokens; the run starts, and ' +
        'waits for `flt budget` or `flt approve` before the first stage that would cross it.',
    );
    expect(budgetWarning({ usd: 0.01, tokens: 1000 }, stages)).toBe(
      'warning: the budget of $0.0100 and 1,000 tokens is under half the estimate of up to $0.0400 and 40,000 ' +
        'tokens; the run starts, and waits for `flt budget` or `flt approve` before the first stage that would ' +
        'cross it.',
    );
  });

  it('says nothing for a budget of half the estimate or more, or none', () => {
    expect(budgetWarning({ usd: 0.02, tokens: 20_000 }, stages)).toBeUndefined();
    expect(budgetWarning({ usd: 0.001, approveFineTunes: true }, [])).toBeUndefined();
    expect(budgetWarning(undefined, stages)).toBeUndefined();
    expect(budgetWarning({ approveFineTunes: true }, stages)).toBeUndefined();
  });
});

describe("the run's static details on money", () => {
  it('are list items for the Markdown the Temporal UI renders, in USD: it would read "$" pairs as LaTeX', () => {
    const lines = budgetDetails({ usd: 0.5, approveFineTunes: true }, stages);
    expect(lines).toEqual([
      'estimate: up to USD 0.0400, 40,000 tokens',
      'budget: USD 0.5000',
      'every fine-tune waits for approval',
    ]);
    expect(markdownList(['method: semievol', ...budgetDetails(undefined, stages)])).toBe(
      '- method: semievol\n- estimate: up to USD 0.0400, 40,000 tokens\n- budget: none',
    );
    expect(usdText(12.5)).toBe('USD 12.50');
  });
});
