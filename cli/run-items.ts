// A SemiEvol or SELF-GUIDE run's items as its stages recorded them in the artifact store (under the names its
// activities gave them), for `flt show` and `flt export`: a running or failed run yields what has finished.
import { semievolPlan, type CollaborationRecord, type RecordedResponse, type SelectedLine } from '../core/semievol';
import type { AnnotatedInput } from '../core/selfguide-annotation';
import { roundsFor } from '../core/selfguide-config';
import type { FilteredInput } from '../core/selfguide-filters';
import type { IoExample, McqItem } from '../core/types';
import type { ArtifactStore } from '../lib/artifacts';
import { selfGuideItems, semievolItems, type ShownItem, type ShownMethod } from '../lib/show-items';
import type { SelfGuideRunInput } from '../workflows/selfguide';
import type { SemievolRunInput } from '../workflows/semievol';

export const methodOfType: Record<string, ShownMethod> = { semievolRun: 'semievol', selfGuideRun: 'selfguide' };
export const methodName: Record<ShownMethod, string> = { semievol: 'SemiEvol', selfguide: 'SELF-GUIDE' };
const padded = (n: number) => String(n).padStart(5, '0');
/** How many stages have finished, given whether each in order has: a stage counts once those before it have. */
const finishedStages = (done: boolean[]) => (done.includes(false) ? done.indexOf(false) : done.length);

/** The items as they stood after each finished stage, up to `through`: one loader per method. */
export type Loader = (
  store: ArtifactStore,
  input: Record<string, unknown>,
  through: number,
) => Promise<{ finished: number; items: ShownItem[] }>;

/** SemiEvol: D_U's questions, each shard's collaborator answers, the justified records, the selection. */
const semievolLoader: Loader = async (store, runInput, through) => {
  const input = runInput as unknown as SemievolRunInput;
  const run = `runs/${input.runId}`;
  const plan = semievolPlan(input.options, input.sampling.seed);
  const questions = await store.readAll<McqItem>(input.data.unlabeled);
  const shards = Math.max(1, Math.ceil(questions.length / input.execution.shardSize));
  const answerRefs = await Promise.all(
    Array.from({ length: shards }, (_, i) => store.lookup(`${run}/collaborate/answers-${padded(i)}`)),
  );
  const recordsRef = await store.lookup(`${run}/justify/records`);
  const selectedRef = await store.lookup(`${run}/select/selected`);
  const finished = finishedStages([answerRefs.every(Boolean), !!recordsRef, !!selectedRef]);
  const reads = (stage: number) => stage <= through && stage < finished;
  const answers = new Map<string, RecordedResponse[]>();
  if (reads(0))
    for (const ref of answerRefs)
      for (const line of await store.readAll<{ id: string; collaborators: RecordedResponse[] }>(ref!))
        answers.set(line.id, line.collaborators);
  const records = reads(1) ? await store.readAll<CollaborationRecord>(recordsRef!) : null;
  const selected = reads(2) ? await store.readAll<SelectedLine>(selectedRef!) : null;
  const gold = await store.readAll<{ id: string; answer: string | null }>(input.data.unlabeledGold);
  const items = semievolItems({
    questions,
    collaborators: plan.collaborators,
    reading: { answers: plan.answers ?? 'ours', entropyOver: plan.selection.entropyOver ?? 'response' },
    answers: reads(0) ? answers : null,
    records: records && new Map(records.map((r) => [r.id, r])),
    selected: selected && new Set(selected.map((line) => line.id)),
    gold: new Map(gold.map((g) => [g.id, g.answer])),
  });
  return { finished, items };
};

/** SELF-GUIDE: the last round's generated inputs, the filter report, the annotation samples, the synthetic pairs. */
const selfGuideLoader: Loader = async (store, runInput, through) => {
  const input = runInput as unknown as SelfGuideRunInput;
  const { task } = input;
  const folder = (stage: string) => selfGuideStageFolder(input, stage);
  const rounds = roundsFor(input.generation.rounds, task.kind);
  const generatedRef = await store.lookup(`${folder('generate-inputs')}/generated-${padded(rounds)}`);
  const filterRef = await store.lookup(`${folder('filter-inputs')}/report`);
  const samplesRef = await store.lookup(`${folder('annotate-outputs')}/samples`);
  const pairsRef = await store.lookup(`${folder('annotate-outputs')}/pairs`);
  // Annotation has finished once its vote wrote the pairs.
  const finished = finishedStages([!!generatedRef, !!filterRef, !!samplesRef && !!pairsRef]);
  const reads = (stage: number) => stage <= through && stage < finished;
  if (!reads(0)) return { finished, items: [] };
  const samples = reads(2) ? await store.readAll<AnnotatedInput>(samplesRef!) : null;
  const pairs = reads(2) ? await store.readAll<IoExample>(pairsRef!) : null;
  const items = selfGuideItems({
    generated: await store.readAll<{ input: string; round: number }>(generatedRef!),
    filtered: reads(1) ? await store.readAll<FilteredInput>(filterRef!) : null,
    samples: samples && new Map(samples.map((a) => [a.input, a.samples])),
    pairs: pairs && new Map(pairs.map((p) => [p.input, p.output])),
    annotation: {
      kind: task.kind,
      labels: task.labels,
      exampleOutputs: task.examples.map((e) => e.output),
      noiseTerms: task.noise_terms,
      lengthFilter: input.settings.outputLengthFilter && task.kind === 'generation',
      minShare: input.annotation.minShare,
      shareOf: input.annotation.shareOf,
      ...(input.generation.filters ? { filters: input.generation.filters } : {}),
      seed: input.seed,
    },
  });
  return { finished, items };
};

export const loaders: Record<ShownMethod, Loader> = { semievol: semievolLoader, selfguide: selfGuideLoader };

/** Where a SELF-GUIDE run's stage keeps its artifacts: the authors' filters keep theirs apart (selfguide-data.ts). */
export const selfGuideStageFolder = (input: SelfGuideRunInput, stage: string): string =>
  `runs/${input.runId}/${stage}${input.generation.filters === 'authors' ? '/authors-filters' : ''}`;
