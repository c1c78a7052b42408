// Loading a configured dataset, checking it, and storing it as an artifact: only its reference travels.
import type { DatasetConfig, ProvidersConfig } from '../../core/config';
import type { ArtifactRef, McqItem } from '../../core/types';
import type { ArtifactStore } from '../artifacts';
import {
  loadIoJsonl,
  loadOpenCsv,
  loadOpenJsonl,
  loadSemiEvolCsv,
  requireJsonlItems,
  type LoadedMcqDataset,
} from '../datasets';

export function loadDataset(dataset: DatasetConfig, opts: { requireAnswer?: boolean } = {}): LoadedMcqDataset {
  const limits = { maxBytes: dataset.maxBytes, maxItemChars: dataset.maxItemChars };
  if (dataset.format === 'semievol-csv') return loadSemiEvolCsv(dataset.path, { ...opts, limits });
  if (dataset.format === 'open-csv') return loadOpenCsv(dataset.path, { ...opts, limits });
  if (dataset.format === 'open-jsonl') return loadOpenJsonl(dataset.path, { ...opts, limits });
  // Open questions: no options; the gold answer is the output text (a number for the numeric metric).
  const items = requireJsonlItems(loadIoJsonl(dataset.path, limits), dataset.path).map((pair, i) => ({
    id: `line-${i + 1}`,
    question: pair.input,
    options: [],
    answer: pair.output,
  }));
  return { items, warnings: [] };
}

/**
 * A warning for each training split that holds test questions (the same file named twice, or the same question
 * texts in two files): a model trained on them is scored on what it has seen.
 */
export function testOverlapWarnings(
  test: { items: McqItem[]; path: string },
  training: { label: string; items: McqItem[]; path: string }[],
): string[] {
  const questionText = (item: McqItem) => item.question.trim();
  return training.flatMap(({ label, items, path }) => {
    const seen = new Set(items.map(questionText));
    const shared = test.items.filter((item) => seen.has(questionText(item))).length;
    if (shared === 0) return [];
    const which = shared === test.items.length ? `all ${shared}` : `${shared} of ${test.items.length}`;
    return [
      `warning: ${which} test questions are also in the ${label} split (${path}); its scores are not a fair test.`,
    ];
  });
}

/** Stores a loaded dataset; its size and loader warnings go to `notes`. */
export async function storeDataset(
  store: ArtifactStore,
  dataset: DatasetConfig,
  { items, warnings }: LoadedMcqDataset,
  label: string,
  notes: string[],
): Promise<ArtifactRef> {
  notes.push(`${label}: ${items.length} items from ${dataset.path}`, ...warnings.map((w) => `${label}: ${w}`));
  return store.writeJsonl(items);
}

/** Says so whenever the provider test double is configured: its figures are simulated. */
export function testDoubleNotes(providers: ProvidersConfig): string[] {
  const doubles = Object.entries(providers).filter(([, p]) => p.kind === 'openai-compatible' && p.testDouble);
  return doubles.length
    ? [`provider test double in use (${doubles.map(([n]) => n).join(', ')}): results are simulated, not a real model's`]
    : [];
}
