// Holds requests (model calls; LoRA loads on their own gate) until a test releases them, so a test can act on a run
// that is provably still running (cancel it, pause it, kill its worker) instead of hoping a slow response outlasts
// its own commands.
export class ModelCallGate {
  /** Calls waiting to proceed; null while the gate is open. */
  private waiting: Array<() => void> | null = null;
  /** While holding: the one model whose calls are held (others pass), or null for every call. */
  private onlyModel: string | null = null;
  private watchers: Array<{ count: number; notify: () => void }> = [];

  /** Holds every call, or only those naming `model` (so a run's calls through other models, probes, go on). */
  hold(model: string | null = null): void {
    this.waiting ??= [];
    this.onlyModel = model;
  }

  /** Opens the gate and lets every held call proceed; returns how many were held. */
  release(): number {
    const held = this.waiting ?? [];
    this.waiting = null;
    this.onlyModel = null;
    held.forEach((proceed) => proceed());
    return held.length;
  }

  get heldCount(): number {
    return this.waiting?.length ?? 0;
  }

  /** Resolves at once while the gate is open or holds another model's calls, else when the gate is released. */
  pass(model: string | null = null): Promise<void> {
    const waiting = this.waiting;
    if (!waiting || (this.onlyModel !== null && model !== this.onlyModel)) return Promise.resolve();
    return new Promise((proceed) => {
      waiting.push(proceed);
      this.notifyWatchers();
    });
  }

  /** Resolves once at least `count` calls are held at the same time. */
  whenHeld(count: number): Promise<void> {
    if (this.heldCount >= count) return Promise.resolve();
    return new Promise((notify) => this.watchers.push({ count, notify }));
  }

  private notifyWatchers(): void {
    const reached = this.watchers.filter((w) => this.heldCount >= w.count);
    this.watchers = this.watchers.filter((w) => this.heldCount < w.count);
    reached.forEach((w) => w.notify());
  }
}
