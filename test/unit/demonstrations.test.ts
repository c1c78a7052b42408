import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withDemonstrations } from '../../activities/demonstrations';
import type { ChatMessage } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';

const example = (question: string, answer: string) => ({
  messages: [
    { role: 'system', content: 'sys' },
    { role: 'user', content: question },
    { role: 'assistant', content: answer },
  ],
});

describe('in-context adaptation', () => {
  it('puts the k nearest training examples before the final user turn', async () => {
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-demos-')));
    const pool = await store.writeJsonl([
      example('Quarterly profits rose sharply', 'Answer: C'),
      example('The cat sat on the mat', 'Answer: B'),
      example('Profits fell in the quarter', 'Answer: A'),
    ]);
    const prompt: ChatMessage[] = [
      { role: 'system', content: 'instruction' },
      { role: 'user', content: 'Did quarterly profits rise?' },
    ];
    const adapted = await withDemonstrations(
      store,
      { provider: 'p', model: 'm', demonstrations: { pool, k: 2 } },
      prompt,
    );
    expect(adapted.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(adapted[1].content).toBe('Quarterly profits rose sharply');
    expect(adapted[3].content).toBe('Profits fell in the quarter');
    expect(adapted.some((m) => m.content.includes('cat'))).toBe(false);
    expect(adapted.at(-1)).toEqual(prompt[1]);
  });

  it('leaves a plain model untouched', async () => {
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-demos-')));
    const prompt: ChatMessage[] = [{ role: 'user', content: 'q' }];
    expect(await withDemonstrations(store, { provider: 'p', model: 'm' }, prompt)).toBe(prompt);
  });
});
