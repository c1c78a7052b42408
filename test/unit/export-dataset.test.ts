// `flt export`'s rows and dataset card: what each method's runs export, and the card `datasets` reads.
import { datasetCard, exportKinds, itemRows } from '../../lib/export-dataset';
import type { SelfGuideItem, SemievolItem } from '../../lib/show-items';

const question = (n: number, over: Partial<SemievolItem>): SemievolItem => ({
  number: n,
  id: `q${n}`,
  question: `Question ${n}?`,
  options: ['up', 'down'],
  ...over,
});
const semievol: SemievolItem[] = [
  question(1, { consistent: true, pseudoLabel: { label: 'A', entropy: 0.1 }, selected: true, gold: 'A' }),
  question(2, { consistent: false, pseudoLabel: { label: 'B', entropy: 0.9 }, selected: false }),
  question(3, { consistent: false, pseudoLabel: { label: null, dropped: 'no-answer' }, selected: false }),
];
const generated: SelfGuideItem[] = [
  {
    number: 1,
    input: 'kept and annotated',
    round: 1,
    filter: { kept: true, reason: null },
    annotation: { samples: 3, votes: [{ answer: 'E', count: 3 }], kept: 'E', dropped: null },
  },
  {
    number: 2,
    input: 'kept, no majority',
    round: 2,
    filter: { kept: true, reason: null },
    annotation: { samples: 3, votes: [], kept: null, dropped: 'no-majority' },
  },
  { number: 3, input: 'noise', round: 2, filter: { kept: false, reason: 'noise' } },
];

describe('flt export rows', () => {
  it("are SemiEvol's selected questions as labeled data, or each pseudo-label with its entropy; never the gold", () => {
    expect(itemRows('semievol', 'selected', semievol)).toEqual([
      { id: 'q1', question: 'Question 1?', options: ['up', 'down'], answer: 'A' },
    ]);
    const all = itemRows('semievol', 'pseudo-labels', semievol);
    expect(all.map((r) => [r.id, r.pseudo_label, r.entropy, r.consistent, r.selected])).toEqual([
      ['q1', 'A', 0.1, true, true],
      ['q2', 'B', 0.9, false, false],
    ]);
    expect(JSON.stringify(all)).not.toContain('gold');
    // Every row has exactly the columns the card describes.
    const columns = (what: 'selected' | 'pseudo-labels') => exportKinds.semievol[what]!.columns.map((c) => c.name);
    expect(Object.keys(all[0])).toEqual(columns('pseudo-labels'));
    expect(Object.keys(itemRows('semievol', 'selected', semievol)[0])).toEqual(columns('selected'));
  });

  it("are SELF-GUIDE's annotated pairs, or the inputs its filters kept", () => {
    expect(itemRows('selfguide', 'synthetic', generated)).toEqual([{ input: 'kept and annotated', output: 'E' }]);
    expect(itemRows('selfguide', 'selected', generated)).toEqual([
      { input: 'kept and annotated', round: 1 },
      { input: 'kept, no majority', round: 2 },
    ]);
  });
});

describe('the dataset card', () => {
  const facts = {
    runId: 'r1',
    method: 'semievol' as const,
    what: 'selected' as const,
    format: 'parquet' as const,
    task: 'fpb',
    models: [['base model', 'double/sim-model']] as [string, string][],
    settings: [['seed', '42']] as [string, string][],
    rows: 1234,
    dataFile: 'data/train-00000-of-00001.parquet',
    simulated: true,
    exportedAt: new Date('2026-12-01T00:00:00Z'),
  };

  it('names the data file for `datasets`, says what the data is and how it was made, and warns when simulated', () => {
    const card = datasetCard(facts);
    expect(card.startsWith('---\nconfigs:\n  - config_name: default\n    data_files:\n      - split: train\n')).toBe(
      true,
    );
    expect(card).toContain('        path: data/train-00000-of-00001.parquet\n');
    expect(card).toContain('  - 1K<n<10K\n');
    expect(card).toContain('# fpb: selected of SemiEvol run r1');
    expect(card).toContain('1234 rows in `data/train-00000-of-00001.parquet` (parquet)');
    expect(card).toContain('- `answer`: the pseudo-label');
    expect(card).toContain('- base model: double/sim-model\n- seed: 42\n');
    expect(card).toContain('**Simulated data.**');
    expect(datasetCard({ ...facts, simulated: false })).not.toContain('Simulated');
  });
});
