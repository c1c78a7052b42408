// Together's reading of per-message weights: a conversation that weights any message is trained on every message
// not weighted 0 (train_on_inputs turns on), system and user messages included. A training set in OpenAI's format,
// which weights assistant messages only, is rewritten so that its unweighted prompt messages carry weight 0.
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as readline from 'node:readline';

interface Message {
  role: string;
  weight?: number;
}

/** One JSONL line as Together should get it; a line that weights no message is returned as it is. */
export function togetherTrainingLine(line: string): string {
  if (line.trim() === '') return line;
  const example = JSON.parse(line) as { messages?: Message[] };
  const messages = example.messages;
  if (!Array.isArray(messages) || !messages.some((m) => m.weight !== undefined)) return line;
  const weighted = messages.map((m) => (m.weight === undefined && m.role !== 'assistant' ? { ...m, weight: 0 } : m));
  return JSON.stringify({ ...example, messages: weighted });
}

/** Streams `source` into `target`, line by line through togetherTrainingLine. */
export async function writeTogetherTrainingFile(source: string, target: string): Promise<void> {
  const out = fs.createWriteStream(target);
  const lines = readline.createInterface({ input: fs.createReadStream(source), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!out.write(`${togetherTrainingLine(line)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
