// Holds requests (model calls unless a test names others, e.g. fine-tune job creates; LoRA loads on their own gate)
// until a test releases them, so a test can act on a run that is provably still running (cancel it, pause it, kill
// its worker) instead of hoping a slow response outlasts its own commands.
import { modelCallPaths } from './config';

/** Which requests a hold applies to: a method (any when unset), a regular expression over the path, one model. */
export interface HeldRequests {
  method?: string;
  /** Model calls when unset. */
  paths?: string;
  /** Only the requests naming this model (so a run's calls through other models, probes, go on). */
  model?: string;
  /**
   * How many of those requests go through before the hold starts (none when unset): the double, not a test polling
   * its log, decides where a run stops, so the run cannot finish between the test's look and its hold.
   */
  after?: number;
}

export class ModelCallGate {
  /** Calls waiting to proceed; null while the gate is open. */
  private waiting: Array<() => void> | null = null;
  private watchers: Array<{ count: number; notify: () => void }> = [];
  private held: { method?: string; pattern: RegExp; model?: string } | null = null;
  /** Requests of the held kind still to let through before holding. */
  private passFirst = 0;

  /** Holds the requests `which` names from now on (model calls unless told otherwise); one kind at a time. */
  hold(which: HeldRequests = {}): void {
    this.held = { method: which.method, pattern: new RegExp(which.paths ?? modelCallPaths), model: which.model };
    this.passFirst = which.after ?? 0;
    this.waiting ??= [];
  }

  /**
   * Whether a request must pass the gate: only those of the kind held, and only while holding. Asked once per
   * request, since each request of the held kind counts towards the ones let through first.
   */
  holds(method: string, path: string, model: () => string | null): boolean {
    if (!this.held || this.waiting === null) return false;
    const { method: heldMethod, pattern, model: heldModel } = this.held;
    const matches =
      (heldMethod === undefined || heldMethod === method) &&
      pattern.test(path) &&
      (heldModel === undefined || heldModel === model());
    if (!matches || this.passFirst === 0) return matches;
    this.passFirst--;
    return false;
  }

  /** Opens the gate and lets every held call proceed; returns how many were held. */
  release(): number {
    const held = this.waiting ?? [];
    this.waiting = null;
    this.held = null;
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
