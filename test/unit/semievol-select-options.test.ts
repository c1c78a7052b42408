// `flt semievol select`: which selection it applies, from its flags and, with --run, the run's own settings.
import { selectionFor } from '../../cli/semievol';
import type { SelectionOptions } from '../../core/semievol-config';

const authors: SelectionOptions = { theta: 30, among: 'self-justified', strict: true, entropyOver: 'answer-span' };

describe('selectionFor', () => {
  it("takes every setting a flag leaves out from the run's own selection", () => {
    expect(selectionFor({}, authors)).toEqual(authors);
    expect(selectionFor({ theta: 70, strict: false }, authors)).toEqual({ ...authors, theta: 70, strict: false });
    expect(selectionFor({ among: 'all', entropyOver: 'response' }, authors)).toEqual({
      theta: 30,
      among: 'all',
      strict: true,
      entropyOver: 'response',
    });
  });

  it('needs --theta for a file, whose other settings default to the paper', () => {
    expect(() => selectionFor({ among: 'all' }, undefined)).toThrow(
      '--theta is required with --input (the percentile of entropies to keep, 0 to 100); only --run takes the ' +
        "run's own.",
    );
    expect(selectionFor({ theta: 40 }, undefined)).toEqual({
      theta: 40,
      among: 'all',
      strict: false,
      entropyOver: 'response',
    });
  });
});
