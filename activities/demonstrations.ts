// The in-context fine-tune backend's "weights": for each prompt, the nearest training examples become prior turns.
import { Bm25Index } from '../core/bm25';
import type { ChatMessage, ModelRef } from '../core/types';
import type { ArtifactStore } from '../lib/artifacts';

interface Pool {
  examples: ChatMessage[][];
  index: Bm25Index;
}

const pools = new Map<string, Promise<Pool>>();
const maxPools = 8;

const lastUserText = (messages: ChatMessage[]) => [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';

function loadPool(store: ArtifactStore, model: ModelRef): Promise<Pool> {
  const pool = model.demonstrations!.pool;
  let loaded = pools.get(pool.sha256);
  if (!loaded) {
    loaded = store.readAll<{ messages: ChatMessage[] }>(pool).then((records) => {
      const examples = records.map((r) => r.messages.filter((m) => m.role !== 'system'));
      return { examples, index: new Bm25Index(examples.map(lastUserText)) };
    });
    if (pools.size >= maxPools) pools.delete(pools.keys().next().value!);
    pools.set(pool.sha256, loaded);
    loaded.catch(() => pools.delete(pool.sha256));
  }
  return loaded;
}

/** Inserts the k nearest pool examples (as user/assistant turns) before the prompt's final user turn. */
export async function withDemonstrations(
  store: ArtifactStore,
  model: ModelRef,
  messages: ChatMessage[],
): Promise<ChatMessage[]> {
  if (!model.demonstrations) return messages;
  const { examples, index } = await loadPool(store, model);
  const nearest = index.search(lastUserText(messages), model.demonstrations.k).map((hit) => examples[hit.index]);
  const cut = messages.length - 1;
  return [...messages.slice(0, cut), ...nearest.flat(), ...messages.slice(cut)];
}
