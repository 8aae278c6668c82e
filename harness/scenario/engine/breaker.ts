/**
 * The kubelet's fallback circuit breaker is keyed by registry host and outlives a session. The runner
 * remembers, per driver, when the last unreachable fault on each host ended, and before a session's first
 * pod on such a host waits the breaker window out — unless the session sets an unreachable fault before
 * any pod, where an open breaker changes nothing the expectations can see.
 */
import { isUnreachable } from '../../contract/index.ts';
import type { Cell, Scenario } from '../format/model.ts';

export class BreakerMemory {
  /** host → ms when the last unreachable fault on it ended */
  private readonly lastUnreachableEnd = new Map<string, number>();

  unreachableEnded(host: string, atMs: number): void {
    this.lastUnreachableEnd.set(host, atMs);
  }

  /** How long to wait (ms, ≤ 0: not at all) before `cell` of `scenario` runs on `host` at `nowMs`. */
  waitBefore(host: string, scenario: Scenario, cell: Cell, nowMs: number): number {
    const window = scenario.needs.kubelet.imagePullFallbackCircuitBreakerWindow;
    const end = this.lastUnreachableEnd.get(host);
    if (!window || end === undefined) return 0;
    const steps = cell.steps;
    const firstPod = steps.findIndex((s) => s.kind === 'pod' || s.kind === 'measure' || (s.kind === 'cache' && s.via === 'kubelet'));
    const firstUnreachable = steps.findIndex((s) => s.kind === 'fault' && isUnreachable(s.mode));
    if (firstPod < 0 || (firstUnreachable >= 0 && firstUnreachable < firstPod)) return 0;
    return end + (window + 2) * 1000 - nowMs;
  }
}
