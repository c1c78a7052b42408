// Turns a validated config into a workflow start: datasets are loaded, checked and stored; only references travel.
import type { DatasetConfig, RunConfig } from '../core/config';
import type { ArtifactRef, McqItem } from '../core/types';
import type { ArtifactStore } from './artifacts';
import { loadIoJsonl, loadSemiEvolCsv } from './datasets';
import type { EvaluationRunInput } from '../workflows/evaluation-run';

export interface PreparedRun {
  workflowType: 'evaluationRun';
  input: Omit<EvaluationRunInput, 'runId'>;
  /** Human-readable lines: sizes, loader warnings. */
  notes: string[];
}

export function loadDataset(dataset: DatasetConfig): { items: McqItem[]; warnings: string[] } {
  if (dataset.format === 'semievol-csv') return loadSemiEvolCsv(dataset.path);
  // Open questions: no options; the gold answer is the output text (a number for the numeric metric).
  const items = loadIoJsonl(dataset.path).map((pair, i) => ({ id: `line-${i + 1}`, question: pair.input, options: [], answer: pair.output }));
  return { items, warnings: [] };
}

async function storeDataset(store: ArtifactStore, dataset: DatasetConfig, label: string, notes: string[]): Promise<ArtifactRef> {
  const { items, warnings } = loadDataset(dataset);
  notes.push(`${label}: ${items.length} items from ${dataset.path}`, ...warnings.map((w) => `${label}: ${w}`));
  return store.writeJsonl(items);
}

export async function prepareRun(config: RunConfig, store: ArtifactStore): Promise<PreparedRun> {
  const notes: string[] = [];
  const test = await storeDataset(store, config.data.test, 'test', notes);
  const testDoubles = Object.entries(config.providers).filter(([, p]) => p.kind === 'openai-compatible' && p.testDouble);
  if (testDoubles.length) notes.push(`provider test double in use (${testDoubles.map(([n]) => n).join(', ')}): results are simulated, not a real model's`);
  return {
    workflowType: 'evaluationRun',
    input: {
      task: config.task,
      providers: config.providers,
      models: config.models,
      test,
      sampling: config.sampling,
      metric: config.metric,
      execution: config.execution,
    },
    notes,
  };
}
