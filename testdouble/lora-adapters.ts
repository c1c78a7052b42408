// The LoRA adapters a simulated vLLM or SGLang server has loaded at runtime, and a history of loads and unloads.
// Kept apart from DoubleState: a serving "restart" forgets the adapters and nothing else.
import * as fs from 'node:fs';

export type LoraApi = 'vllm' | 'sglang';

export interface LoadedAdapter {
  name: string;
  path: string;
  /** The base model the adapter applies to; chats with the adapter are simulated as this model. */
  parent: string;
  api: LoraApi;
  loadedAt: number;
}

export interface LoraEvent {
  time: number;
  action: 'load' | 'unload' | 'restart';
  api: LoraApi | 'admin';
  name: string | null;
  path: string | null;
  /** Null when it succeeded, else why it was refused. */
  error: string | null;
}

export type LoadOutcome = { ok: true; adapter: LoadedAdapter } | { ok: false; reason: 'duplicate' | 'missing-path' };

export class LoraAdapters {
  private readonly loaded = new Map<string, LoadedAdapter>();
  /** Every name ever loaded, across restarts: calls naming one that is gone get the serving engine's 404. */
  private readonly everLoaded = new Set<string>();
  private readonly history: LoraEvent[] = [];

  load(api: LoraApi, name: string, path: string, parent: string): LoadOutcome {
    let outcome: LoadOutcome;
    if (this.loaded.has(name)) outcome = { ok: false, reason: 'duplicate' };
    // The double shares the host with its tests, so an adapter path must exist as it would for a real server.
    else if (!fs.existsSync(path)) outcome = { ok: false, reason: 'missing-path' };
    else {
      const adapter = { name, path, parent, api, loadedAt: Date.now() };
      this.loaded.set(name, adapter);
      this.everLoaded.add(name);
      outcome = { ok: true, adapter };
    }
    this.record('load', api, name, path, outcome.ok ? null : outcome.reason);
    return outcome;
  }

  /** False when no adapter of that name is loaded. */
  unload(api: LoraApi, name: string): boolean {
    const adapter = this.loaded.get(name);
    this.loaded.delete(name);
    this.record('unload', api, name, adapter?.path ?? null, adapter ? null : 'not-loaded');
    return adapter !== undefined;
  }

  /** A serving server restart: every adapter is gone. */
  restart(): number {
    const forgotten = this.loaded.size;
    this.loaded.clear();
    this.record('restart', 'admin', null, null, null);
    return forgotten;
  }

  get(name: string): LoadedAdapter | undefined {
    return this.loaded.get(name);
  }

  wasLoaded(name: string): boolean {
    return this.everLoaded.has(name);
  }

  list(): LoadedAdapter[] {
    return [...this.loaded.values()];
  }

  events(): LoraEvent[] {
    return [...this.history];
  }

  private record(
    action: LoraEvent['action'],
    api: LoraEvent['api'],
    name: string | null,
    path: string | null,
    error: string | null,
  ): void {
    this.history.push({ time: Date.now(), action, api, name, path, error });
  }
}
