// `flt list`: each method's score under its own name, and a status filter in any letter case.
import { executionStatus } from '../../cli/arguments';
import { scoreCell } from '../../cli/list';

describe('scoreCell', () => {
  it("names each method's score as the method measures it", () => {
    expect(scoreCell('semievol', 0.8125)).toBe('accuracy 0.813');
    expect(scoreCell('evaluate', 0.5)).toBe('accuracy 0.500');
    expect(scoreCell('selfguide', 0.4321, 'rouge-l')).toBe('rouge-l 0.432');
    expect(scoreCell('selfguide', 0.75, 'exact-match')).toBe('exact-match 0.750');
    expect(scoreCell('selfguide-campaign', 0.0421)).toBe('worst-task gain +0.042');
    expect(scoreCell('selfguide-campaign', -0.1)).toBe('worst-task gain -0.100');
    expect(scoreCell('selfguide-campaign', 0)).toBe('worst-task gain +0.000');
  });

  it('shows nothing for a run with no score, never a zero accuracy', () => {
    for (const method of ['semievol', 'evaluate', 'selfguide', 'selfguide-campaign', undefined])
      expect(scoreCell(method, undefined)).toBe('');
  });
});

describe('executionStatus', () => {
  it('reads a status in any letter case, and as `flt status` prints it', () => {
    for (const spelled of ['running', 'RUNNING', 'Running']) expect(executionStatus(spelled)).toBe('Running');
    expect(executionStatus('CANCELLED')).toBe('Canceled');
    expect(executionStatus('TIMED_OUT')).toBe('TimedOut');
    expect(executionStatus('continued-as-new')).toBe('ContinuedAsNew');
  });

  it('refuses any other status in one sentence naming the accepted ones', () => {
    expect(() => executionStatus('done')).toThrow(
      'expected one of Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew, TimedOut (any letter case).',
    );
  });
});
