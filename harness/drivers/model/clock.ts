import type { Clock } from '../driver.ts';

/**
 * Virtual time for the model: a discrete-event clock. Time moves only when every task in flight waits on
 * the clock (checked from a setImmediate, after all pending promise callbacks ran), and then jumps to the
 * earliest wake-up. Scenarios that run side by side thus each see the time their own steps took, never a
 * jump another scenario's wait caused.
 */
export class FakeClock implements Clock {
  private readonly timers: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;
  private scheduled = false;
  constructor(private t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return this.sleepUntil(this.t + Math.max(0, ms));
  }
  /** Resolves once virtual time has reached `at` (at once, in turn, when it already has). */
  sleepUntil(at: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ at: Math.max(at, this.t), seq: this.seq++, resolve });
      this.schedule();
    });
  }
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift();
      if (!next) return;
      this.t = Math.max(this.t, next.at);
      next.resolve();
      if (this.timers.length) this.schedule();
    });
  }
}
