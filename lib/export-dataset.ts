// `flt export`'s datasets: which a run's method offers, their rows (from the items `flt show` joins, or the training
// file the run built) and the dataset card written beside them, in the layout Hugging Face `datasets` loads. Pure:
// cli/export.ts reads the run and writes the files.
import type { SelfGuideItem, SemievolItem, ShownItem, ShownMethod } from './show-items';

export type ExportWhat = 'selected' | 'pseudo-labels' | 'synthetic' | 'training-set';
export type ExportFormat = 'jsonl' | 'parquet';
export const exportFormats: readonly ExportFormat[] = ['jsonl', 'parquet'];

export interface ExportColumn {
  name: string;
  /** The Parquet type; absent for lists and records, whose nested type the writer derives from the values. */
  type?: 'STRING' | 'DOUBLE' | 'BOOLEAN' | 'INT32';
  description: string;
}

interface ExportKind {
  /** What the dataset is, for the card. */
  summary: string;
  columns: ExportColumn[];
}

const messages: ExportColumn = {
  name: 'messages',
  description:
    'the chat the model was fine-tuned on: system and user turns, then the assistant turn it learnt ' +
    '(`weight: 0` marks an assistant turn kept out of the loss)',
};
const mcq = (answer: string): ExportColumn[] => [
  { name: 'id', type: 'STRING', description: "the question's id in the unlabeled data" },
  { name: 'question', type: 'STRING', description: 'the question' },
  { name: 'options', description: 'its options, lettered A, B, ... in this order' },
  { name: answer, type: 'STRING', description: 'the pseudo-label: the letter the run settled on' },
];

/** What each method's runs can export. */
export const exportKinds: Record<ShownMethod, Partial<Record<ExportWhat, ExportKind>>> = {
  semievol: {
    selected: {
      summary: "the pseudo-labeled questions SemiEvol selected for M_evol's training, as labeled data",
      columns: mcq('answer'),
    },
    'pseudo-labels': {
      summary: 'every unlabeled question that got a pseudo-label, with its entropy and whether it was selected',
      columns: [
        ...mcq('pseudo_label'),
        { name: 'entropy', type: 'DOUBLE', description: "the pseudo-label's entropy H (lower: more certain)" },
        { name: 'consistent', type: 'BOOLEAN', description: 'whether every collaborator gave the same answer' },
        { name: 'selected', type: 'BOOLEAN', description: 'whether it was selected for training' },
      ],
    },
    'training-set': { summary: "M_evol's training set, as the fine-tune received it", columns: [messages] },
  },
  selfguide: {
    synthetic: {
      summary: "the synthetic input-output pairs SELF-GUIDE generated, filtered and annotated (the fine-tune's data)",
      columns: [
        { name: 'input', type: 'STRING', description: 'a generated task input' },
        { name: 'output', type: 'STRING', description: 'the output the annotation vote kept' },
      ],
    },
    selected: {
      summary: "the generated inputs SELF-GUIDE's filters kept, before annotation",
      columns: [
        { name: 'input', type: 'STRING', description: 'a generated task input' },
        { name: 'round', type: 'INT32', description: 'the generation round that wrote it' },
      ],
    },
    'training-set': { summary: 'the training set of the fine-tune, as it received it', columns: [messages] },
  },
};

/** The rows of an export made from the run's items (every kind but the training set, read from its file). */
export function itemRows(method: ShownMethod, what: ExportWhat, items: ShownItem[]): Record<string, unknown>[] {
  if (method === 'semievol') {
    const labeled = (items as SemievolItem[]).flatMap((item) => {
      const pseudo = item.pseudoLabel;
      return pseudo && pseudo.label !== null ? [{ item, label: pseudo.label, entropy: pseudo.entropy }] : [];
    });
    if (what === 'selected')
      return labeled
        .filter(({ item }) => item.selected)
        .map(({ item, label }) => ({ id: item.id, question: item.question, options: item.options, answer: label }));
    return labeled.map(({ item, label, entropy }) => ({
      id: item.id,
      question: item.question,
      options: item.options,
      pseudo_label: label,
      entropy,
      consistent: item.consistent ?? null,
      selected: item.selected ?? false,
    }));
  }
  const generated = items as SelfGuideItem[];
  if (what === 'selected')
    return generated.filter((i) => i.filter?.kept).map((i) => ({ input: i.input, round: i.round ?? null }));
  return generated.flatMap((i) =>
    typeof i.annotation?.kept === 'string' ? [{ input: i.input, output: i.annotation.kept }] : [],
  );
}

export interface CardFacts {
  runId: string;
  method: ShownMethod;
  what: ExportWhat;
  format: ExportFormat;
  task: string;
  /** "provider/model" of each model the run used, by role. */
  models: [string, string][];
  /** The settings that shaped the data, as `key: value`. */
  settings: [string, string][];
  rows: number;
  dataFile: string;
  /** The run used the provider test double: its data is simulated. */
  simulated: boolean;
  exportedAt: Date;
}

const methodTitle: Record<ShownMethod, string> = { semievol: 'SemiEvol', selfguide: 'SELF-GUIDE' };

/** README.md beside the data: front matter that `datasets` reads, then what the data is and how it was made. */
export function datasetCard(f: CardFacts): string {
  const kind = exportKinds[f.method][f.what]!;
  const sizeCategory =
    f.rows < 1000 ? 'n<1K' : f.rows < 10_000 ? '1K<n<10K' : f.rows < 100_000 ? '10K<n<100K' : 'n>100K';
  const lines = [
    '---',
    'configs:',
    '  - config_name: default',
    '    data_files:',
    '      - split: train',
    `        path: ${f.dataFile}`,
    'size_categories:',
    `  - ${sizeCategory}`,
    'tags:',
    `  - ${f.method}`,
    '  - synthetic',
    '---',
    '',
    `# ${f.task}: ${f.what} of ${methodTitle[f.method]} run ${f.runId}`,
    '',
  ];
  if (f.simulated)
    lines.push(
      '> **Simulated data.** This run used the provider test double, not a real model: every answer, label and ' +
        'score in it is simulated. Use it to check tooling, never to train or evaluate a model.',
      '',
    );
  lines.push(
    `${kind.summary[0].toUpperCase()}${kind.summary.slice(1)}: ${f.rows} rows in \`${f.dataFile}\` (${f.format}).`,
    '',
    '## Fields',
    '',
    ...kind.columns.map((c) => `- \`${c.name}\`: ${c.description}`),
    '',
    '## How it was made',
    '',
    `- method: ${methodTitle[f.method]}`,
    `- task: ${f.task}`,
    `- run: \`${f.runId}\` (its history is in Temporal; \`flt result ${f.runId}\` prints its figures)`,
    ...f.models.map(([role, model]) => `- ${role}: ${model}`),
    ...f.settings.map(([key, value]) => `- ${key}: ${value}`),
    `- exported: ${f.exportedAt.toISOString()} by \`flt export\``,
    '',
    'Load it with `datasets.load_dataset("<this folder>")`.',
    '',
  );
  return lines.join('\n');
}
