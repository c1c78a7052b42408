// SELF-GUIDE stage 5's scoring activity over the artifact store: `evaluation.exactMatch: authors` reads labels from
// every shard's gold outputs together, as the authors' code reads them from the whole split; `evaluation.stemmer`
// picks word-level ROUGE-L's stemmer.
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivityDeps } from '../../activities/context';
import { selfGuideEvaluationActivities } from '../../activities/selfguide-evaluation';
import type { SelfGuideTaskDefinition } from '../../core/selfguide-prompts';
import { LocalArtifactStore } from '../../lib/artifacts';

const task: SelfGuideTaskDefinition = {
  name: 't',
  kind: 'classification',
  metric: 'exact_match',
  instruction: 'Classify.',
  examples: [{ input: 'x', output: 'entailment' }],
  labels: ['entailment', 'neutral', 'contradiction'],
  noise_terms: [],
};

describe('SELF-GUIDE scoring under evaluation.exactMatch', () => {
  it("scores with the split's gold outputs as labels across shards", async () => {
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-sg-score-')));
    const { scoreTestAnswers } = selfGuideEvaluationActivities({ store } as unknown as ActivityDeps);
    // "neutral" is a task label but no gold output: theirs read "entailment" last in the first answer. The second
    // shard's gold "contradiction" is a label for the first shard's answers too.
    const shards = [
      await store.writeJsonl([
        { input: 'a', output: 'entailment', response: 'entailment, not neutral' },
        { input: 'b', output: 'entailment', response: 'contradiction' },
      ]),
      await store.writeJsonl([{ input: 'c', output: 'contradiction', response: 'contradiction' }]),
    ];
    const input = { runId: 'r', stage: 's', answers: shards, task, rouge: 'words' as const };
    const ours = await scoreTestAnswers(input);
    const theirs = await scoreTestAnswers({ ...input, stage: 's-authors', exactMatch: 'authors' });
    expect([ours.score, ours.total]).toEqual([1 / 3, 3]);
    expect([theirs.score, theirs.total]).toEqual([2 / 3, 3]);
    expect((await store.readAll<{ score: number }>(theirs.details)).map((d) => d.score)).toEqual([1, 0, 1]);
  });

  it('stems with NLTK under stemmer: nltk', async () => {
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-sg-stem-')));
    const { scoreTestAnswers } = selfGuideEvaluationActivities({ store } as unknown as ActivityDeps);
    // Tokens of 3 characters or fewer are not stemmed: "sky" stays. Porter's original stems "skies" to "ski" (F 0.5
    // over [blue, ski] and [blue, sky]); NLTK to "sky" (F 1).
    const answers = [await store.writeJsonl([{ input: 'a', output: 'blue sky', response: 'blue skies' }])];
    const generation = { ...task, kind: 'generation' as const, metric: 'rouge' as const, labels: [] };
    const input = { runId: 'r', stage: 's', answers, task: generation, rouge: 'words' as const };
    expect((await scoreTestAnswers(input)).score).toBe(0.5);
    expect((await scoreTestAnswers({ ...input, stage: 's-nltk', stemmer: 'nltk' })).score).toBe(1);
  });
});
