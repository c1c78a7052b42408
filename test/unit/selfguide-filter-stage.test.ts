// Stage 2 and stage 3's rules as activities over the artifact store: `generation.filters: authors` keeps its
// artifacts apart from ours (a run under one never finds the other's library), and each keeps what its rules keep.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivityDeps } from '../../activities/context';
import { selfGuideDataActivities, type GeneratedInput } from '../../activities/selfguide-data';
import type { SelfGuideTaskDefinition } from '../../core/selfguide-prompts';
import { LocalArtifactStore } from '../../lib/artifacts';

const task: SelfGuideTaskDefinition = {
  name: 't',
  kind: 'generation',
  metric: 'rouge',
  instruction: 'Write.',
  examples: [
    { input: 'abcd', output: 'aa' },
    { input: 'efgh', output: 'bbbb' },
  ],
  labels: [],
  noise_terms: ['input'],
};

const generated: GeneratedInput[] = [
  { input: 'abcd', round: 1, pseudoLabel: null },
  { input: ' x ', round: 1, pseudoLabel: null },
  { input: 'x', round: 2, pseudoLabel: null },
  { input: '   ', round: 2, pseudoLabel: null },
];

describe('SELF-GUIDE stage 2 under generation.filters', () => {
  it('keeps what each rule set keeps, under artifact names of its own', async () => {
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-sg-filters-')));
    const { filterGeneratedInputs } = selfGuideDataActivities({ store } as unknown as ActivityDeps);
    const ref = await store.writeJsonl(generated);
    const stage = { runId: 'r', stage: 'filter-inputs', generated: ref, task, lengthFilter: false };
    const ours = await filterGeneratedInputs(stage);
    const theirs = await filterGeneratedInputs({ ...stage, filters: 'authors' });
    // Ours: "abcd" copies a gold input, "x" repeats " x " trimmed, "   " is empty.
    expect(await store.readAll(ours.kept)).toEqual([{ input: 'x' }]);
    expect(ours.counts).toEqual({ kept: 1, empty: 1, noise: 0, length: 0, duplicate: 2 });
    // Theirs: the gold copy is kept; round 2's raw "x" repeats the stored "x"; "   " is not '' and is kept stripped.
    expect(await store.readAll(theirs.kept)).toEqual([{ input: 'abcd' }, { input: 'x' }, { input: '' }]);
    expect(theirs.counts).toEqual({ kept: 3, empty: 0, noise: 0, length: 0, duplicate: 1 });
    expect(await store.lookup('runs/r/filter-inputs/kept')).toEqual(ours.kept);
    expect(await store.lookup('runs/r/filter-inputs/authors-filters/kept')).toEqual(theirs.kept);
  });
});
