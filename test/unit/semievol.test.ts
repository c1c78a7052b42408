// SemiEvol's pure decisions, on hand-computed cases: consistency, pseudo-labels, entropy, selection, ablations.
import { semievolOptionsSchema } from '../../core/semievol-config';
import {
  adaptiveSelection,
  collaboratorAnswers,
  consensus,
  countPseudoLabels,
  drawCollaborators,
  isInconsistent,
  pseudoLabel,
  responseEntropy,
  semievolPlan,
  type CollaborationRecord,
  type PseudoLabel,
} from '../../core/semievol';

const options = ['negative', 'neutral', 'positive'];
const ours = { answers: 'ours', entropyOver: 'response' } as const;
const say = (letter: string, logprobs: number[] | null = [-0.1]) => ({
  response: `It reads as such. Answer: ${letter}`,
  logprobs,
});
const record = (
  collaborators: CollaborationRecord['collaborators'],
  reflection: CollaborationRecord['reflection'] = null,
): CollaborationRecord => ({
  id: 'q',
  question: 'Profit rose.',
  options,
  collaborators,
  reflection,
});
const labeled = (id: string, entropy: number, consistent = true): PseudoLabel => ({
  id,
  consistent,
  label: 'A',
  entropy,
});

describe('consensus', () => {
  it('is the common answer only when all answers are equal and non-empty', () => {
    expect(consensus(['B', 'B', 'B', 'B'])).toBe('B');
    expect(consensus(['B', 'B', 'C', 'B'])).toBeNull();
    expect(consensus([null, null, null, null])).toBeNull();
    expect(consensus(['B', null])).toBeNull();
    expect(consensus(['C'])).toBe('C');
    expect(consensus([])).toBeNull();
  });
});

describe('responseEntropy', () => {
  it('is the mean negative log-probability of the tokens', () => {
    expect(responseEntropy([-0.1, -0.3])).toBeCloseTo(0.2, 12);
    expect(responseEntropy([-2])).toBe(2);
  });

  it('is null without usable log-probabilities', () => {
    expect(responseEntropy(null)).toBeNull();
    expect(responseEntropy([])).toBeNull();
    expect(responseEntropy([-0.1, null])).toBeNull(); // a NaN written to JSON
    expect(responseEntropy([-0.1, -Infinity])).toBeNull();
  });
});

describe('pseudoLabel', () => {
  it("labels a consistent question with the common answer and collaborator 1's entropy", () => {
    const r = record([say('B', [-0.2, -0.4]), say('B', [-3]), say('B', [-3]), say('B', [-3])]);
    expect(isInconsistent(r, 'ours')).toBe(false);
    expect(pseudoLabel(r, ours)).toEqual({ id: 'q', consistent: true, label: 'B', entropy: expect.closeTo(0.3, 12) });
  });

  it("labels an inconsistent question with the self-justification's answer and entropy", () => {
    const r = record([say('A'), say('B'), say('B'), say('B')], say('C', [-1, -2]));
    expect(isInconsistent(r, 'ours')).toBe(true);
    expect(pseudoLabel(r, ours)).toEqual({ id: 'q', consistent: false, label: 'C', entropy: 1.5 });
  });

  it('treats all-empty answers as inconsistent, never as an agreed empty label', () => {
    const silent = { response: 'I cannot tell.', logprobs: [-0.5] };
    const r = record([silent, silent, silent, silent], say('A', [-0.4]));
    expect(isInconsistent(r, 'ours')).toBe(true);
    expect(pseudoLabel(r, ours)).toEqual({ id: 'q', consistent: false, label: 'A', entropy: 0.4 });
  });

  it('drops a question whose self-justification gives no letter or is missing', () => {
    expect(
      pseudoLabel(record([say('A'), say('B')], { response: 'Both seem plausible.', logprobs: [-0.1] }), ours),
    ).toEqual({
      id: 'q',
      consistent: false,
      label: null,
      dropped: 'no-answer',
    });
    expect(pseudoLabel(record([say('A'), say('B')]), ours)).toEqual({
      id: 'q',
      consistent: false,
      label: null,
      dropped: 'no-answer',
    });
    // A letter outside the options is no answer either.
    expect(pseudoLabel(record([say('A'), say('B')], say('E')), ours)).toMatchObject({
      label: null,
      dropped: 'no-answer',
    });
  });

  it('drops a question whose deciding response has no log-probabilities', () => {
    expect(pseudoLabel(record([say('B', null), say('B'), say('B')]), ours)).toEqual({
      id: 'q',
      consistent: true,
      label: null,
      dropped: 'no-logprobs',
    });
    expect(pseudoLabel(record([say('A'), say('B')], say('C', [])), ours)).toEqual({
      id: 'q',
      consistent: false,
      label: null,
      dropped: 'no-logprobs',
    });
  });

  it('with one collaborator (no collaborative learning), any answer is consistent', () => {
    expect(pseudoLabel(record([say('A', [-0.7])]), ours)).toEqual({
      id: 'q',
      consistent: true,
      label: 'A',
      entropy: 0.7,
    });
  });
});

describe("pseudoLabel under the authors' reading (semievol.answers: authors)", () => {
  const authors = { answers: 'authors', entropyOver: 'response' } as const;
  const silent = (logprobs = [-0.5]) => ({ response: 'I cannot tell.', logprobs });

  it("takes identical unusable answers as consistent, their '' the pseudo-label", () => {
    const r = record([silent([-0.2, -0.4]), silent(), silent(), silent()], null);
    expect(collaboratorAnswers(r, 'authors')).toEqual(['', '', '', '']);
    expect(isInconsistent(r, 'authors')).toBe(false);
    expect(pseudoLabel(r, authors)).toEqual({ id: 'q', consistent: true, label: '', entropy: expect.closeTo(0.3, 12) });
    expect(isInconsistent(r, 'ours')).toBe(true);
  });

  it('compares the raw tokens, so "C." and "C" disagree, and keeps the justification\'s token verbatim', () => {
    const r = record([say('C.'), say('C'), say('C'), say('C')], say('C.', [-0.4]));
    expect(isInconsistent(r, 'authors')).toBe(true);
    expect(isInconsistent(r, 'ours')).toBe(false);
    expect(pseudoLabel(r, authors)).toEqual({ id: 'q', consistent: false, label: 'C.', entropy: 0.4 });
  });

  it("labels with '' a self-justification without an answer, where ours drops the question", () => {
    const r = record([say('A'), say('B')], silent([-0.1]));
    expect(pseudoLabel(r, authors)).toEqual({ id: 'q', consistent: false, label: '', entropy: 0.1 });
    expect(pseudoLabel(r, ours)).toMatchObject({ label: null, dropped: 'no-answer' });
  });

  it('reads open answers as the first token, compared as strings', () => {
    const open = (...answers: string[]): CollaborationRecord => ({
      ...record(answers.map((a) => ({ response: `Answer: ${a}`, logprobs: [-0.1] }))),
      options: [],
    });
    expect(isInconsistent(open('12%', '0.12'), 'authors')).toBe(true);
    expect(pseudoLabel(open('42 dollars', '42 apples'), authors)).toMatchObject({ consistent: true, label: '42' });
  });
});

describe('pseudoLabel on open questions (no options)', () => {
  const answer = (text: string, logprobs: number[] | null = [-0.1]) => ({ response: `Answer: ${text}`, logprobs });
  const open = (
    collaborators: CollaborationRecord['collaborators'],
    reflection: CollaborationRecord['reflection'] = null,
  ): CollaborationRecord => ({ id: 'n', question: 'What was the revenue?', options: [], collaborators, reflection });

  it("is consistent when every number is within 1% of collaborator 1's, labeled with collaborator 1's answer", () => {
    // 1,240 is 0.45% from 1,234.5; "$1234.50" and "1234" are the same number written otherwise.
    const r = open([answer('1,234.5', [-0.2, -0.4]), answer('$1234.50'), answer('1240'), answer('1234')]);
    expect(collaboratorAnswers(r, 'ours')).toEqual(['1,234.5', '$1234.50', '1240', '1234']);
    expect(isInconsistent(r, 'ours')).toBe(false);
    expect(pseudoLabel(r, ours)).toEqual({
      id: 'n',
      consistent: true,
      label: '1,234.5',
      entropy: expect.closeTo(0.3, 12),
    });
  });

  it("compares each answer with collaborator 1's, not with each other", () => {
    // 99 and 101 are 2 apart (more than 1% of 101), but each is within 1% of 100.
    expect(pseudoLabel(open([answer('100'), answer('99'), answer('101')]), ours)).toMatchObject({
      consistent: true,
      label: '100',
    });
    // 98.99 is just over 1% from 100.
    expect(isInconsistent(open([answer('100'), answer('98.99')]), 'ours')).toBe(true);
  });

  it('reads percent signs as hundredths, mixing integers and decimals', () => {
    expect(pseudoLabel(open([answer('12%'), answer('0.12'), answer('0.1205')]), ours)).toMatchObject({
      consistent: true,
      label: '12%',
    });
    expect(isInconsistent(open([answer('12%'), answer('12')]), 'ours')).toBe(true);
  });

  it('is consistent on text answers equal after normalisation', () => {
    const r = open([answer('The Eiffel Tower.'), answer('eiffel tower'), answer('Eiffel  Tower!')]);
    expect(pseudoLabel(r, ours)).toMatchObject({ consistent: true, label: 'The Eiffel Tower.' });
    expect(isInconsistent(open([answer('Paris'), answer('Lyon')]), 'ours')).toBe(true);
  });

  it('never lets an unparseable answer agree with a number, and needs the "Answer:" line', () => {
    expect(isInconsistent(open([answer('12'), answer('about 12')]), 'ours')).toBe(true);
    expect(isInconsistent(open([answer('12'), { response: '12', logprobs: [-0.1] }]), 'ours')).toBe(true);
    expect(collaboratorAnswers(open([{ response: '12', logprobs: [-0.1] }]), 'ours')).toEqual([null]);
  });

  it("labels an inconsistent question with the self-justification's answer, or drops it without one", () => {
    const split = [answer('100'), answer('150')];
    expect(pseudoLabel(open(split, answer('$150', [-0.5, -1.5])), ours)).toEqual({
      id: 'n',
      consistent: false,
      label: '$150',
      entropy: 1,
    });
    expect(pseudoLabel(open(split, { response: 'Hard to say.', logprobs: [-0.1] }), ours)).toMatchObject({
      label: null,
      dropped: 'no-answer',
    });
  });
});

describe('adaptiveSelection', () => {
  // Entropies sorted: 0.1 0.2 0.2 0.4 0.9 (n = 5), so the virtual index of percentile q is q/100 * 4.
  const labels = [labeled('a', 0.4), labeled('b', 0.1), labeled('c', 0.9), labeled('d', 0.2), labeled('e', 0.2)];
  const ids = (theta: number, strict = false) => {
    const selection = adaptiveSelection(labels, { theta, among: 'all', strict });
    return { threshold: selection.threshold, ids: selection.selected.map((s) => s.id) };
  };

  it('keeps entropies at or below the theta-th percentile, ties at the threshold included, in input order', () => {
    expect(ids(50)).toEqual({ threshold: 0.2, ids: ['b', 'd', 'e'] }); // index 2 → 0.2
    // index 2.4 → 0.2 + 0.4·0.2
    expect(ids(60)).toEqual({ threshold: expect.closeTo(0.28, 12), ids: ['b', 'd', 'e'] });
    expect(ids(75)).toEqual({ threshold: 0.4, ids: ['a', 'b', 'd', 'e'] }); // index 3 → 0.4
  });

  it('theta 0 keeps the minimum (and its ties), theta 100 keeps everything', () => {
    expect(ids(0)).toEqual({ threshold: 0.1, ids: ['b'] });
    expect(ids(100)).toEqual({ threshold: 0.9, ids: ['a', 'b', 'c', 'd', 'e'] });
    const tiedAtMinimum = [labeled('x', 0.3), labeled('y', 0.3), labeled('z', 0.5)];
    expect(
      adaptiveSelection(tiedAtMinimum, { theta: 0, among: 'all', strict: false }).selected.map((s) => s.id),
    ).toEqual(['x', 'y']);
  });

  it('strict keeps only entropies below the threshold, so ties at it go', () => {
    expect(ids(50, true)).toEqual({ threshold: 0.2, ids: ['b'] });
    expect(ids(0, true)).toEqual({ threshold: 0.1, ids: [] });
  });

  it('interpolates between the two middle values of an even count', () => {
    const four = [labeled('a', 1), labeled('b', 2), labeled('c', 3), labeled('d', 4)];
    const selection = adaptiveSelection(four, { theta: 50, among: 'all', strict: false });
    expect(selection.threshold).toBe(2.5);
    expect(selection.selected.map((s) => s.id)).toEqual(['a', 'b']);
  });

  it('leaves dropped questions out of both the percentile and the selection', () => {
    const withDropped: PseudoLabel[] = [
      labeled('a', 1),
      { id: 'n', consistent: false, label: null, dropped: 'no-answer' },
      labeled('b', 3),
      { id: 'm', consistent: true, label: null, dropped: 'no-logprobs' },
    ];
    const selection = adaptiveSelection(withDropped, { theta: 50, among: 'all', strict: false });
    expect(selection.threshold).toBe(2);
    expect(selection.selected.map((s) => s.id)).toEqual(['a']);
    expect(countPseudoLabels(withDropped, selection)).toEqual({
      questions: 4,
      consistent: 3,
      pseudoLabeled: 2,
      droppedNoAnswer: 1,
      droppedCutOff: 0,
      droppedNoLogprobs: 1,
      selected: 1,
    });
  });

  it("the authors' variant keeps every consistent question and thresholds the self-justified ones only", () => {
    const mixed = [
      labeled('c1', 5, true),
      labeled('j1', 0.1, false),
      labeled('j2', 0.3, false),
      labeled('c2', 0.2, true),
      labeled('j3', 0.5, false),
    ];
    // Self-justified entropies 0.1 0.3 0.5: the 30th percentile is at index 0.6 → 0.1 + 0.6·0.2 = 0.22.
    const selection = adaptiveSelection(mixed, { theta: 30, among: 'self-justified', strict: true });
    expect(selection.threshold).toBeCloseTo(0.22, 12);
    expect(selection.selected.map((s) => s.id)).toEqual(['c1', 'j1', 'c2']);
  });

  it('selects nothing from nothing', () => {
    expect(adaptiveSelection([], { theta: 50, among: 'all', strict: false })).toEqual({
      threshold: null,
      selected: [],
    });
  });
});

describe('collaborator setups', () => {
  it('are drawn reproducibly from the seed, within models × {0..k}', () => {
    const a = drawCollaborators(4, ['warm', 'base'], 3, 7);
    expect(drawCollaborators(4, ['warm', 'base'], 3, 7)).toEqual(a);
    expect(a).toHaveLength(4);
    for (const setup of a) {
      expect(['warm', 'base']).toContain(setup.model);
      expect(setup.examples).toBeGreaterThanOrEqual(0);
      expect(setup.examples).toBeLessThanOrEqual(3);
    }
    const many = drawCollaborators(400, ['warm', 'base'], 3, 1);
    expect(new Set(many.map((s) => `${s.model}/${s.examples}`)).size).toBe(8);
    expect(
      Array.from({ length: 10 }, (_, seed) => JSON.stringify(drawCollaborators(4, ['warm', 'base'], 3, seed))).some(
        (d) => d !== JSON.stringify(a),
      ),
    ).toBe(true);
  });
});

describe('semievolPlan and the Table 2 ablations', () => {
  const defaults = semievolOptionsSchema.parse({});
  const plan = (without: string[]) => semievolPlan(semievolOptionsSchema.parse({ without }), 11);

  it("uses the paper's defaults: n 4, k 3, theta 50, M_warm and M_base as collaborators, M_evol from M_base", () => {
    const p = semievolPlan(defaults, 11);
    expect(p).toMatchObject({
      warmUp: true,
      k: 3,
      selection: { theta: 50, among: 'all', strict: false },
      evolveFrom: 'base',
      evolveOn: 'labeled-and-selected',
      without: [],
    });
    expect(p.collaborators).toEqual(drawCollaborators(4, ['warm', 'base'], 3, 11));
    expect(defaults.rag.k).toBe(1);
    expect(defaults.collaboration.temperature).toBe(1);
  });

  it('without in-weight propagation: no warm-up, M_base everywhere', () => {
    const p = semievolPlan(
      semievolOptionsSchema.parse({ without: ['in-weight-propagation'], evolution: { from: 'warm' } }),
      11,
    );
    expect(p.warmUp).toBe(false);
    expect(p.evolveFrom).toBe('base');
    expect(p.collaborators.every((c) => c.model === 'base')).toBe(true);
  });

  it('without in-context propagation: no retrieval, no examples', () => {
    const p = plan(['in-context-propagation']);
    expect(p.k).toBe(0);
    expect(p.collaborators.every((c) => c.examples === 0)).toBe(true);
  });

  it('without collaborative learning: one collaborator', () => {
    expect(plan(['collaborative-learning']).collaborators).toHaveLength(1);
  });

  it('without adaptive selection: theta 100, every pseudo-label kept', () => {
    const p = semievolPlan(
      semievolOptionsSchema.parse({
        without: ['adaptive-selection'],
        selection: { theta: 30, among: 'self-justified', strict: true },
      }),
      11,
    );
    expect(p.selection).toEqual({ theta: 100, among: 'all', strict: false, entropyOver: 'response' });
  });
});

describe('evolution presets', () => {
  const evolution = (given: object) => semievolOptionsSchema.parse({ evolution: given }).evolution;

  it('paper (the default) trains M_base on D_L and the selected; authors continues M_warm on the selected', () => {
    expect(evolution({})).toEqual({ preset: 'paper', from: 'base', data: 'labeled-and-selected' });
    expect(evolution({ preset: 'authors' })).toEqual({ preset: 'authors', from: 'warm', data: 'selected' });
    // A key given beside the preset replaces the preset's choice.
    expect(evolution({ preset: 'authors', data: 'labeled-and-selected' })).toMatchObject({
      from: 'warm',
      data: 'labeled-and-selected',
    });
    expect(semievolPlan(semievolOptionsSchema.parse({ evolution: { preset: 'authors' } }), 1)).toMatchObject({
      evolveFrom: 'warm',
      evolveOn: 'selected',
    });
  });
});
