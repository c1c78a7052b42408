// A small SemiEvol run's data for end-to-end tests: the first rows of the bundled FPB sample written as the run's CSV
// files, and a provider test double that knows their answers and runs fine-tunes in quick steps.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { startProviderDouble, type ProviderDouble } from './provider-double';

const root = path.resolve(__dirname, '../..');

export async function fpbSampleRun(
  dir: string,
  rows: Record<'labeled' | 'unlabeled' | 'test', number>,
): Promise<{ data: Record<string, { format: string; path: string }>; double: ProviderDouble }> {
  const data: Record<string, { format: string; path: string }> = {};
  for (const [split, count] of Object.entries(rows)) {
    const file = path.join(dir, `${split}.csv`);
    // Two lines per row in these files, after the header.
    const lines = readFileSync(path.join(root, `demo/fpb/${split}.csv`), 'utf8').split('\n');
    writeFileSync(file, lines.slice(0, 1 + 2 * count).join('\n') + '\n');
    data[split] = { format: 'semievol-csv', path: file };
  }
  const gold = Object.values(data).flatMap((d) => loadSemiEvolCsv(d.path).items);
  const double = await startProviderDouble({
    config: { fineTune: { stepMs: 50 } },
    gold: gold.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
  });
  return { data, double };
}
