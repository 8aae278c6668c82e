/**
 * The order things run in: scenarios grouped by cluster needs (one Driver per group), each group in waves
 * (scenarios side by side when the driver isolates sessions), each matrix's cells in fault groups, each
 * cell's steps cut at its fault steps. Pure functions; the runner follows them.
 */
import { needsKey, type ClusterNeeds, type Driver } from '../../drivers/driver.ts';
import type { FaultMode } from '../../contract/index.ts';
import type { Cell, Scenario, Step } from '../format/model.ts';

export interface ClusterGroup {
  needs: ClusterNeeds;
  scenarios: Scenario[];
}

/** Scenarios whose needs differ only in worker count share a cluster with the largest count. */
export function groupByNeeds(scenarios: readonly Scenario[]): ClusterGroup[] {
  const groups = new Map<string, ClusterGroup>();
  for (const s of scenarios) {
    const key = needsKey({ ...s.needs, workers: 0 });
    const g = groups.get(key);
    if (g) {
      g.scenarios.push(s);
      g.needs = { ...g.needs, workers: Math.max(g.needs.workers, s.needs.workers) };
    } else groups.set(key, { needs: { ...s.needs }, scenarios: [s] });
  }
  return [...groups.values()];
}

/** At most this many scenarios run side by side in one wave (each has its own sessions and registries). */
export const MAX_SIDE_BY_SIDE = 6;

/**
 * A scenario that measures (benchmarks or measure steps) or expands a matrix runs alone: its figures and
 * its tight startup bounds are what the run is for, and a matrix already runs its cells side by side.
 */
export function runsAlone(s: Scenario): boolean {
  return s.benchmarks.length > 0 || s.matrix !== undefined || s.cells.some((c) => c.steps.some((x) => x.kind === 'measure'));
}

/**
 * The order a cluster group runs in: file order, with consecutive scenarios that don't run alone batched
 * into one wave that runs side by side. They are the one-to-three-pod scenarios that spend their time
 * waiting (the fallback deadline, the breaker window, a slow or flapping registry, a crash-loop back-off),
 * and they share nothing when the driver gives every session a registry of its own
 * (`Driver.sessionsIsolated`; otherwise pass max 1): own registry host (so its own kubelet breaker), fault
 * mode, namespace and repositories, and image removal goes by reference.
 */
export function waves(scenarios: readonly Scenario[], max = MAX_SIDE_BY_SIDE): Scenario[][] {
  const out: Scenario[][] = [];
  let batch: Scenario[] = [];
  const flush = () => {
    if (batch.length) out.push(batch);
    batch = [];
  };
  for (const s of scenarios) {
    if (runsAlone(s)) {
      flush();
      out.push([s]);
    } else {
      if (batch.length >= max) flush();
      batch.push(s);
    }
  }
  flush();
  return out;
}

/** The waves of a group on this driver: side by side only when its sessions are isolated. */
export function wavesFor(driver: Driver, scenarios: readonly Scenario[]): Scenario[][] {
  return waves(scenarios, driver.sessionsIsolated ? MAX_SIDE_BY_SIDE : 1);
}

/** Cells that set the same faults in the same order run together in one session. */
export function faultGroups(cells: readonly Cell[]): Cell[][] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const sig = JSON.stringify(c.steps.filter((s) => s.kind === 'fault').map((s) => (s as { mode: FaultMode }).mode));
    const g = groups.get(sig);
    if (g) g.push(c);
    else groups.set(sig, [c]);
  }
  return [...groups.values()];
}

export function splitAtFaults(steps: readonly Step[]): { segments: Step[][]; faults: (Step & { kind: 'fault' })[] } {
  const segments: Step[][] = [[]];
  const faults: (Step & { kind: 'fault' })[] = [];
  for (const s of steps) {
    if (s.kind === 'fault') {
      faults.push(s);
      segments.push([]);
    } else segments[segments.length - 1]!.push(s);
  }
  return { segments, faults };
}

/** A DNS-1123 label: lowercase, ≤ 63, a short hash keeps long names unique. */
export function dnsLabel(text: string, max = 63): string {
  let s = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (s.length > max) {
    let h = 0;
    for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    s = `${s.slice(0, max - 7).replace(/-+$/, '')}-${h.toString(36).slice(0, 6)}`;
  }
  return s;
}
