/**
 * One cell while it runs: its namespace and repositories, the pods it made, which images it put on which
 * node, its measures, and why it broke (if it did: later steps are skipped, expectations fail with it).
 */
import type { FaultMode } from '../../contract/index.ts';
import type { PodHandle } from '../../drivers/driver.ts';
import type { Cell, LocalImage, PodTemplate, Scenario, Step } from '../format/model.ts';
import type { MeasureData } from './stats.ts';

export class CellState {
  readonly pods = new Map<string, { handle?: PodHandle; rejected?: string; policy: PodTemplate['policy']; fault: FaultMode; cached: boolean; node: number; where: string }>();
  readonly cachedOn = new Map<number, Set<string>>();
  readonly measures = new Map<string, MeasureData>();
  broken: string | undefined;
  constructor(
    readonly scenario: Scenario,
    readonly cell: Cell,
    readonly namespace: string,
    readonly repoPrefix: string,
  ) {}
  ref(i: LocalImage) {
    return { repo: `${this.repoPrefix}/${i.name}`, tag: i.tag };
  }
  isCached(node: number, i: LocalImage): boolean {
    return this.cachedOn.get(node)?.has(`${i.name}:${i.tag}`) ?? false;
  }
  markCached(node: number, i: LocalImage, on: boolean) {
    const set = this.cachedOn.get(node) ?? new Set<string>();
    if (on) set.add(`${i.name}:${i.tag}`);
    else set.delete(`${i.name}:${i.tag}`);
    this.cachedOn.set(node, set);
  }
}

export function resultId(s: Scenario, cell: Cell, pod: string): string {
  if (!cell.vars) return `${s.id}/${pod}`;
  const expects = cell.steps.filter((x) => x.kind === 'expect').length;
  const base = `${s.id}/${cell.vars.policy}/${cell.vars.fault}/${cell.vars.cached ? 'cached' : 'uncached'}`;
  return expects > 1 ? `${base}/${pod}` : base;
}

export function faultBefore(cell: Cell, pod: Step | undefined): FaultMode {
  let f: FaultMode = 'none';
  for (const s of cell.steps) {
    if (s === pod) break;
    if (s.kind === 'fault') f = s.mode;
  }
  return f;
}
