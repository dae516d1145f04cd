// Coalesces bursts of devproxy/routesChanged into one devproxy/routes
// request. Pure (timers injected), so the timing is tested without waiting.
//
// trigger() (re)starts the delay; when it ends, run() is called. While a run
// is in flight, further triggers do not start a second one in parallel: they
// mark it dirty, and one more run follows when it ends. So the tree always
// ends on the newest table, with at most one request on the wire.

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class CoalescingDebouncer {
  private timer: unknown;
  private running = false;
  private dirty = false;
  private disposed = false;

  constructor(
    private readonly delayMs: number,
    private readonly run: () => Promise<void>,
    private readonly timers: Timers = realTimers,
  ) {}

  trigger(): void {
    if (this.disposed) {
      return;
    }
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
    }
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.fire();
    }, this.delayMs);
  }

  /** Runs now, skipping the delay (a manual refresh). */
  now(): Promise<void> {
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
    return this.fire();
  }

  private async fire(): Promise<void> {
    if (this.disposed) {
      return;
    }
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.dirty = false;
        try {
          await this.run();
        } catch {
          // run() reports its own errors; a failed refresh must not stop later ones.
        }
      } while (this.dirty && !this.disposed);
    } finally {
      this.running = false;
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) {
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
