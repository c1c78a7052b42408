// Holds requests (model calls; LoRA loads on their own gate) until a test releases them, so a test can act on a run
// that is provably still running (cancel it, pause it, kill its worker) instead of hoping a slow response outlasts
// its own commands.
export class ModelCallGate {
  /** Calls waiting to proceed; null while the gate is open. */
  private waiting: Array<() => void> | null = null;
  /** Calls still let through before the gate starts holding. */
  private passesLeft = 0;
  private watchers: Array<{ count: number; notify: () => void }> = [];

  /** Holds every call after the next `after` ones (a run's known calls before the ones a test wants held). */
  hold(after = 0): void {
    this.waiting ??= [];
    this.passesLeft = after;
  }

  /** Opens the gate and lets every held call proceed; returns how many were held. */
  release(): number {
    const held = this.waiting ?? [];
    this.waiting = null;
    this.passesLeft = 0;
    held.forEach((proceed) => proceed());
    return held.length;
  }

  get heldCount(): number {
    return this.waiting?.length ?? 0;
  }

  /** Resolves at once while the gate is open, else when the gate is released. */
  pass(): Promise<void> {
    const waiting = this.waiting;
    if (!waiting) return Promise.resolve();
    if (this.passesLeft > 0) {
      this.passesLeft--;
      return Promise.resolve();
    }
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
