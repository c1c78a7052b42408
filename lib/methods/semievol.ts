// The `semievol` method: D_L, D_U and the test split in, M_base vs M_warm vs M_evol vs RAG out.
import type { DatasetConfig } from '../../core/config';
import { paperHyperparameters, type SemievolRunConfig } from '../../core/semievol-config';
import { estimateSemievol } from '../../core/semievol-estimate';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { loadDataset, testDoubleNotes, testOverlapWarnings } from './datasets';
import type { Method } from './types';

const percent = (share: number) => `${(100 * share).toFixed(1)}%`;

/** Both fine-tunes' hyperparameters: the paper's for the backend, overridden by the config's. */
function fineTuneSettings(config: SemievolRunConfig) {
  const hyperparameters = { ...paperHyperparameters(config.fineTune.backend.kind), ...config.fineTune.hyperparameters };
  return {
    backend: config.fineTune.backend,
    hyperparameters,
    finalHyperparameters: { ...hyperparameters, ...config.fineTune.finalHyperparameters },
  };
}

export const semievolMethod: Method<SemievolRunConfig> = {
  workflowType: 'semievolRun',

  async prepare(config, store) {
    const notes: string[] = [];
    const loaded = (label: string, dataset: DatasetConfig, opts: { requireAnswer?: boolean } = {}) => {
      const { items, warnings } = loadDataset(dataset, opts);
      notes.push(`${label}: ${items.length} items from ${dataset.path}`, ...warnings.map((w) => `${label}: ${w}`));
      return items;
    };
    const labeledItems = loaded('labeled', config.data.labeled);
    // D_U's answers are split off before anything runs: decisions only ever see the questions.
    const items = loaded('unlabeled', config.data.unlabeled, { requireAnswer: false });
    const testItems = loaded('test', config.data.test);
    const overlap = testOverlapWarnings({ items: testItems, path: config.data.test.path }, [
      { label: 'labeled', items: labeledItems, path: config.data.labeled.path },
      { label: 'unlabeled', items, path: config.data.unlabeled.path },
    ]);
    notes.push(...overlap.map((warning) => `test: ${warning}`));
    const labeled = await store.writeJsonl(labeledItems);
    const unlabeled = await store.writeJsonl(items.map((item) => ({ ...item, answer: null })));
    const unlabeledGold = await store.writeJsonl(
      items.filter((item) => item.answer !== null).map(({ id, answer }) => ({ id, answer })),
    );
    if (unlabeledGold.count)
      notes.push(
        `unlabeled: ${unlabeledGold.count} gold answers kept aside for the pseudo-label accuracy diagnostic only`,
      );
    const test = await store.writeJsonl(testItems);

    const input: Omit<SemievolRunInput, 'runId'> = {
      task: config.task,
      providers: config.providers,
      model: config.model,
      data: { labeled, unlabeled, unlabeledGold, test },
      fineTune: fineTuneSettings(config),
      options: config.semievol,
      sampling: config.sampling,
      execution: config.execution,
    };
    const { collaboration, propagation, selection, without } = config.semievol;
    return {
      input,
      notes: [...notes, ...testDoubleNotes(config.providers)],
      baseModel: config.model.model,
      details: [
        `base model: ${config.model.provider}/${config.model.model}`,
        `fine-tune backend: ${config.fineTune.backend.kind}`,
        `labeled ${labeled.count}, unlabeled ${unlabeled.count}, test ${test.count}`,
        `n ${collaboration.n}, k ${propagation.k} (${propagation.retriever.kind}), theta ${selection.theta}`,
        ...(without.length ? [`without: ${without.join(', ')}`] : []),
      ],
    };
  },

  estimate(config) {
    return estimateSemievol({
      providers: config.providers,
      model: config.model,
      fineTune: fineTuneSettings(config),
      options: config.semievol,
      sampling: config.sampling,
      labeled: loadDataset(config.data.labeled).items,
      unlabeled: loadDataset(config.data.unlabeled, { requireAnswer: false }).items,
      test: loadDataset(config.data.test).items,
    });
  },

  summarize(result: SemievolRunResult) {
    const { evaluations: e, pseudoLabels: p } = result;
    const accuracy = (label: string, evaluation: SemievolRunResult['evaluations']['vanilla'] | null) =>
      evaluation
        ? `${label} (${evaluation.model.provider}/${evaluation.model.model}): ` +
          `accuracy ${evaluation.score.accuracy.toFixed(3)} (${evaluation.score.correct}/${evaluation.score.total})`
        : `${label}: not trained (without in-weight propagation)`;
    const share = ({ accuracy, correct, total }: { accuracy: number; correct: number; total: number }) =>
      `${accuracy.toFixed(3)} (${correct}/${total})`;
    const { counts } = p;
    return [
      accuracy('vanilla', e.vanilla),
      accuracy('SFT', e.sft),
      accuracy('SemiEvol', e.semievol),
      accuracy('RAG', e.rag),
      `unlabeled: ${counts.questions} questions, ${percent(p.consistencyRate)} consistent, ` +
        `${p.justified} self-justified, ${counts.pseudoLabeled} pseudo-labeled ` +
        `(dropped: ${counts.droppedNoAnswer} without an answer, ${counts.droppedNoLogprobs} without log-probabilities)`,
      `selected: ${counts.selected} with entropy ${result.plan.selection.strict ? '<' : '<='} ` +
        `${p.threshold === null ? 'n/a' : p.threshold.toFixed(4)} (theta ${result.plan.selection.theta})`,
      p.accuracy.all.total
        ? `pseudo-label accuracy against withheld gold (diagnostic): all ${share(p.accuracy.all)}, ` +
          `selected ${share(p.accuracy.selected)}`
        : 'pseudo-label accuracy: no gold answers in the unlabeled split',
      `records for \`flt semievol select --run ${result.runId}\`: ${p.records.uri}`,
    ];
  },
};
