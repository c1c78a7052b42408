// The `semievol` method: D_L, D_U and the test split in, M_base vs M_warm vs M_evol vs RAG out.
import { goldIsNumeric } from '../../core/answer-reading';
import { adapterNote } from '../../core/base-model';
import { itemFailuresNote, stageItemFailuresLines, type Metric } from '../../core/contracts';
import {
  evolutionPresets,
  paperHyperparameters,
  semievolRunSchema,
  semievolSampling,
  type SemievolRunConfig,
} from '../../core/semievol-config';
import { estimateSemievol } from '../../core/semievol-estimate';
import { DatasetError, excerpt, type LoadedMcqDataset } from '../datasets';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { loadDataset, storeDataset, testDoubleNotes, testOverlapWarnings } from './datasets';
import type { Method } from './types';

const percent = (share: number) => `${(100 * share).toFixed(1)}%`;

/**
 * Both fine-tunes' hyperparameters: the paper's for the backend, overridden by the config's; the final fine-tune's
 * learning rate is the evolution preset's (the authors' 1e-6) unless the config gives one.
 */
function fineTuneSettings(config: SemievolRunConfig) {
  const hyperparameters = { ...paperHyperparameters(config.fineTune.backend.kind), ...config.fineTune.hyperparameters };
  const { learningRate } = evolutionPresets[config.semievol.evolution.preset];
  return {
    backend: config.fineTune.backend,
    hyperparameters,
    finalHyperparameters: {
      ...hyperparameters,
      ...(learningRate === undefined ? {} : { learningRate }),
      ...config.fineTune.finalHyperparameters,
    },
  };
}

/** D_L, D_U and the test split as parsed from the config's files; D_U's answers may be missing. */
interface SemievolData {
  labeled: LoadedMcqDataset;
  unlabeled: LoadedMcqDataset;
  test: LoadedMcqDataset;
  metric: Metric;
}

/**
 * The configured metric, or the data's: option letters for multiple-choice splits; for open ones `number` when every
 * gold answer reads as a number (under `answers: authors`, holds one), else `text-match`. `number` refuses a gold
 * answer that is no number, naming it.
 */
function scoringMetric(config: SemievolRunConfig, splits: Omit<SemievolData, 'metric'>): Metric {
  if (config.data.labeled.format === 'semievol-csv') return 'option-letter';
  const answered = (['labeled', 'unlabeled', 'test'] as const).flatMap((split) =>
    splits[split].items.filter((item) => item.answer !== null).map((item) => ({ split, item })),
  );
  const notNumber = answered.find(({ item }) => !goldIsNumeric(item.answer!, config.semievol.answers ?? 'ours'));
  if (!config.metric) return notNumber ? 'text-match' : 'number';
  if (config.metric === 'number' && notNumber)
    throw new DatasetError(
      { file: config.data[notNumber.split].path },
      `item "${notNumber.item.id}" field "answer" must read as a number for metric "number", ` +
        `got ${excerpt(notNumber.item.answer)}`,
    );
  return config.metric;
}

function loadSemievolData(config: SemievolRunConfig): SemievolData {
  const splits = {
    labeled: loadDataset(config.data.labeled),
    unlabeled: loadDataset(config.data.unlabeled, { requireAnswer: false }),
    test: loadDataset(config.data.test),
  };
  return { ...splits, metric: scoringMetric(config, splits) };
}

export const semievolMethod: Method<SemievolRunConfig, SemievolData> = {
  workflowType: 'semievolRun',
  schema: semievolRunSchema,
  settable: {
    semievol: 'options',
    execution: 'execution',
    sampling: 'sampling',
    model: 'model',
    providers: 'providers',
  },

  load: loadSemievolData,

  async prepare(config, store, data = loadSemievolData(config)) {
    const notes: string[] = [];
    const labeled = await storeDataset(store, config.data.labeled, data.labeled, 'labeled', notes);
    // D_U's answers are split off before anything runs: decisions only ever see the questions.
    const { items, warnings } = data.unlabeled;
    notes.push(
      `unlabeled: ${items.length} items from ${config.data.unlabeled.path}`,
      ...warnings.map((w) => `unlabeled: ${w}`),
    );
    const unlabeled = await store.writeJsonl(items.map((item) => ({ ...item, answer: null })));
    const unlabeledGold = await store.writeJsonl(
      items.filter((item) => item.answer !== null).map(({ id, answer }) => ({ id, answer })),
    );
    if (unlabeledGold.count)
      notes.push(
        `unlabeled: ${unlabeledGold.count} gold answers kept aside for the pseudo-label accuracy diagnostic only`,
      );
    const test = await storeDataset(store, config.data.test, data.test, 'test', notes);
    const overlap = testOverlapWarnings({ items: data.test.items, path: config.data.test.path }, [
      { label: 'labeled', items: data.labeled.items, path: config.data.labeled.path },
      { label: 'unlabeled', items, path: config.data.unlabeled.path },
    ]);
    notes.push(...overlap.map((warning) => `test: ${warning}`));

    const input: Omit<SemievolRunInput, 'runId'> = {
      task: config.task,
      providers: config.providers,
      model: config.model,
      data: { labeled, unlabeled, unlabeledGold, test },
      fineTune: fineTuneSettings(config),
      options: config.semievol,
      sampling: semievolSampling(config),
      metric: data.metric,
      execution: config.execution,
    };
    const { collaboration, propagation, selection, without } = config.semievol;
    return {
      input,
      notes: [...notes, ...testDoubleNotes(config.providers)],
      baseModel: config.model.model,
      details: [
        `base model: ${config.model.provider}/${config.model.model}${adapterNote(config.model)}`,
        `fine-tune backend: ${config.fineTune.backend.kind}`,
        `labeled ${labeled.count}, unlabeled ${unlabeled.count}, test ${test.count}, scored by ${data.metric}`,
        `n ${collaboration.n}, k ${propagation.k} (${propagation.retriever.kind}), theta ${selection.theta}`,
        ...(without.length ? [`without: ${without.join(', ')}`] : []),
      ],
    };
  },

  estimate(config, data = loadSemievolData(config)) {
    return estimateSemievol({
      providers: config.providers,
      model: config.model,
      fineTune: fineTuneSettings(config),
      options: config.semievol,
      sampling: semievolSampling(config),
      labeled: data.labeled.items,
      unlabeled: data.unlabeled.items,
      test: data.test.items,
      batch: config.execution.batch,
    });
  },

  summarize(result: SemievolRunResult) {
    const { evaluations: e, pseudoLabels: p } = result;
    const accuracy = (label: string, evaluation: SemievolRunResult['evaluations']['vanilla'] | null) =>
      evaluation
        ? `${label} (${evaluation.model.provider}/${evaluation.model.model}): ` +
          `accuracy ${evaluation.score.accuracy.toFixed(3)} (${evaluation.score.correct}/${evaluation.score.total})` +
          itemFailuresNote(evaluation.itemFailures)
        : `${label}: not trained (without in-weight propagation)`;
    const share = ({ accuracy, correct, total }: { accuracy: number; correct: number; total: number }) =>
      `${accuracy.toFixed(3)} (${correct}/${total})`;
    const { counts } = p;
    // After a review, `counts.selected` is what the operator accepted.
    const selectedBeforeReview = p.review ? p.review.accepted + p.review.rejected : counts.selected;
    return [
      accuracy('vanilla', e.vanilla),
      accuracy('SFT', e.sft),
      accuracy('SemiEvol', e.semievol),
      accuracy('RAG', e.rag),
      `unlabeled: ${counts.questions} questions, ${percent(p.consistencyRate)} consistent, ` +
        `${p.justified} self-justified, ${counts.pseudoLabeled} pseudo-labeled ` +
        `(dropped: ${counts.droppedNoAnswer} without an answer, ` +
        `${counts.droppedCutOff ?? 0} cut off before an answer, ` +
        `${counts.droppedNoLogprobs} without log-probabilities)`,
      `selected: ${selectedBeforeReview} with entropy ${result.plan.selection.strict ? '<' : '<='} ` +
        `${p.threshold === null ? 'n/a' : p.threshold.toFixed(4)} (theta ${result.plan.selection.theta})` +
        (p.review ? `; in review the operator accepted ${p.review.accepted} and rejected ${p.review.rejected}` : ''),
      p.accuracy.all.total
        ? `pseudo-label accuracy against withheld gold (diagnostic): all ${share(p.accuracy.all)}, ` +
          `selected ${share(p.accuracy.selected)}`
        : 'pseudo-label accuracy: no gold answers in the unlabeled split',
      ...stageItemFailuresLines(result.itemFailures),
      `records for \`flt semievol select --run ${result.runId}\`: ${p.records.uri}`,
    ];
  },
};
