// Many model calls inside one activity: demonstrations applied, transient faults retried, usage summed, progress
// heartbeated, and the calls still queued dropped once one fails or the activity is cancelled.
import { Context } from '@temporalio/activity';
import { setMaxListeners } from 'node:events';
import type { ProvidersConfig } from '../core/config';
import { addUsage, emptyUsage, type ChatMessage, type ChatRequest, type ModelRef, type StageUsage } from '../core/types';
import type { ActivityDeps } from './context';
import { withDemonstrations } from './demonstrations';
import { retryTransient } from './providers/errors';

export type CallParams = Omit<ChatRequest, 'model' | 'messages'>;

export interface ModelCalls {
  /** The texts of the call's choices. */
  complete(messages: ChatMessage[], params: CallParams, what: string): Promise<string[]>;
  /** Runs `task` over `items` concurrently (the gateway limits the provider), heartbeating progress. */
  forEach<T, R>(items: readonly T[], task: (item: T, index: number) => Promise<R>): Promise<R[]>;
  usage(): StageUsage;
}

export function modelCalls({ store, gateway }: ActivityDeps, model: ModelRef, providers: ProvidersConfig, stage: string): ModelCalls {
  const ctx = Context.current();
  const abort = new AbortController();
  ctx.cancellationSignal.addEventListener('abort', () => abort.abort(ctx.cancellationSignal.reason), { once: true });
  setMaxListeners(0, abort.signal);
  let usage = emptyUsage();
  return {
    async complete(messages, params, what) {
      const request: ChatRequest = { ...params, model: model.model, messages: await withDemonstrations(store, model, messages) };
      const call = await retryTransient(() => gateway.chat(providers, model.provider, request, abort.signal), `${stage}: ${what} on ${model.provider}/${model.model}`, {
        signal: abort.signal,
      });
      usage = addUsage(usage, call.usage);
      return call.response.choices.map((c) => c.text);
    },
    async forEach(items, task) {
      let done = 0;
      return Promise.all(
        items.map(async (item, i) => {
          const result = await task(item, i);
          ctx.heartbeat({ done: ++done, of: items.length });
          return result;
        }),
      ).catch((err) => {
        abort.abort(err);
        throw err;
      });
    },
    usage: () => usage,
  };
}
