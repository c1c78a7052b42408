// `flt export <runId> --what W --format F`: a dataset from a run's recorded items (SemiEvol's selected questions or
// all its pseudo-labels; SELF-GUIDE's synthetic pairs or filtered inputs; either's training set) in the layout Hugging
// Face `datasets` loads: `data/train.jsonl` or `data/train-00000-of-00001.parquet` and a dataset card, README.md.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ProvidersConfig } from '../core/config';
import { semievolPlan } from '../core/semievol';
import { defaultArtifactStore, type ArtifactStore } from '../lib/artifacts';
import {
  datasetCard,
  exportKinds,
  itemRows,
  type CardFacts,
  type ExportColumn,
  type ExportFormat,
  type ExportWhat,
} from '../lib/export-dataset';
import { itemStages, type ShownMethod } from '../lib/show-items';
import type { SelfGuideRunInput } from '../workflows/selfguide';
import type { SemievolRunInput } from '../workflows/semievol';
import { connect, UserError } from './connection';
import { runInput } from './run-input';
import { loaders, methodName, methodOfType, selfGuideStageFolder } from './run-items';

export interface ExportOptions {
  what: ExportWhat;
  format: ExportFormat;
  out?: string;
}

const listed = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/** The stage whose items an export needs finished (the training set is read from its file instead). */
const neededStage: Record<ShownMethod, Partial<Record<ExportWhat, string>>> = {
  semievol: { selected: 'select', 'pseudo-labels': 'justify' },
  selfguide: { selected: 'filter-inputs', synthetic: 'annotate-outputs' },
};

/** Where the run's training set is: the file its fine-tune was given. */
function trainingSetName(method: ShownMethod, input: Record<string, unknown>): string {
  return method === 'semievol'
    ? `runs/${(input as unknown as SemievolRunInput).runId}/evolve/training`
    : `${selfGuideStageFolder(input as unknown as SelfGuideRunInput, 'annotate-outputs')}/training`;
}

async function exportRows(
  store: ArtifactStore,
  method: ShownMethod,
  what: ExportWhat,
  input: Record<string, unknown>,
  status: string,
): Promise<Record<string, unknown>[]> {
  const runId = String(input.runId);
  if (what === 'training-set') {
    const ref = await store.lookup(trainingSetName(method, input));
    if (!ref)
      throw new UserError(
        `Run ${runId} (${status}) has no training set yet: it is written just before the ` +
          `${method === 'semievol' ? 'evolve' : 'fine-tune'} stage.`,
      );
    return store.readAll<Record<string, unknown>>(ref);
  }
  const stages: readonly string[] = itemStages[method];
  const stage = neededStage[method][what]!;
  const { finished, items } = await loaders[method](store, input, stages.length - 1);
  if (finished <= stages.indexOf(stage))
    throw new UserError(`Run ${runId} (${status}) has not finished ${stage} yet: "${what}" needs it.`);
  return itemRows(method, what, items);
}

function cardFacts(
  method: ShownMethod,
  input: Record<string, unknown>,
): Pick<CardFacts, 'task' | 'models' | 'settings'> {
  const model = input.model as { provider: string; model: string };
  const models: [string, string][] = [['base model', `${model.provider}/${model.model}`]];
  if (method === 'semievol') {
    const run = input as unknown as SemievolRunInput;
    const plan = semievolPlan(run.options, run.sampling.seed);
    const collaborators = plan.collaborators.map((c) => `${c.model} with ${c.examples} examples`).join('; ');
    return {
      task: run.task,
      models,
      settings: [
        ['collaborators', collaborators],
        ['selection', `entropy up to the ${plan.selection.theta}th percentile`],
        ['left out', plan.without.length ? plan.without.join(', ') : 'nothing'],
        ['seed', String(run.sampling.seed)],
      ],
    };
  }
  const run = input as unknown as SelfGuideRunInput;
  const s = run.settings;
  return {
    task: run.task.name,
    models,
    settings: [
      ['input temperature', String(s.inputTemperature)],
      ['input length filter', s.inputLengthFilter ? 'on' : 'off'],
      ['output length filter', s.outputLengthFilter ? 'on' : 'off'],
      ['generation rounds', String(run.generation.rounds)],
      ['annotation samples', String(run.annotation.samples)],
      ['seed', String(run.seed)],
    ],
  };
}

/** The rows as one Parquet file, a column per field in the order the card lists them. */
async function parquetFile(rows: Record<string, unknown>[], columns: ExportColumn[]): Promise<Uint8Array> {
  // An ES module: loaded by import(), which this CommonJS build keeps as it is.
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const buffer = parquetWriteBuffer({
    columnData: columns.map(({ name, type }) => ({
      name,
      data: rows.map((row) => row[name] ?? null),
      ...(type ? { type } : {}),
    })),
  });
  return new Uint8Array(buffer);
}

export async function exportCommand(runId: string, opts: ExportOptions): Promise<void> {
  const out = path.resolve(opts.out ?? `${runId}-${opts.what}`);
  if (existsSync(out) && readdirSync(out).length)
    throw new UserError(`--out ${out} is not empty: name a new folder, or empty this one.`);
  const client = await connect();
  const handle = client.workflow.getHandle(runId);
  const description = await handle.describe();
  const method = methodOfType[description.type];
  if (!method)
    throw new UserError(
      `Run ${runId} is a ${description.type}, which has no data to export; \`flt export\` reads SemiEvol and ` +
        'SELF-GUIDE runs.',
    );
  const kind = exportKinds[method][opts.what];
  if (!kind)
    throw new UserError(
      `--what ${opts.what} is not what a ${methodName[method]} run makes; it exports ` +
        `${listed(Object.keys(exportKinds[method]))}.`,
    );
  const input = await runInput(client, handle);
  const rows = await exportRows(defaultArtifactStore(), method, opts.what, input, description.status.name);
  if (!rows.length) throw new UserError(`Run ${runId} has no ${opts.what} to export: none were kept.`);

  const dataFile = opts.format === 'jsonl' ? 'data/train.jsonl' : 'data/train-00000-of-00001.parquet';
  mkdirSync(path.join(out, 'data'), { recursive: true });
  writeFileSync(
    path.join(out, dataFile),
    opts.format === 'jsonl'
      ? rows.map((row) => JSON.stringify(row)).join('\n') + '\n'
      : await parquetFile(rows, kind.columns),
  );
  const providers = input.providers as ProvidersConfig;
  const card = datasetCard({
    runId,
    method,
    what: opts.what,
    format: opts.format,
    rows: rows.length,
    dataFile,
    simulated: Object.values(providers).some((p) => p.kind === 'openai-compatible' && p.testDouble),
    exportedAt: new Date(),
    ...cardFacts(method, input),
  });
  writeFileSync(path.join(out, 'README.md'), card);
  console.log(`${rows.length} rows of ${opts.what} from run ${runId} in ${out} (${dataFile} and README.md).`);
}
