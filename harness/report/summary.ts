/**
 * What every renderer shows, computed once from results.json: the matrix grids, the other scenarios, the
 * tallies. Renderers only format these.
 */
import { describeExpectation, describeObservation } from '../scenario/engine/expect.ts';
import { FAULT_MODES, POLICIES, type BenchmarkResult, type FaultMode, type Policy, type RunResults, type ScenarioResult } from '../contract/index.ts';

export interface MatrixGrid {
  scenario: string;
  title: string;
  policies: Policy[];
  /** Rows: fault × cached, in FAULT_MODES order, cached first. */
  rows: { fault: FaultMode; cached: boolean; cells: (ScenarioResult | undefined)[] }[];
}

export function matrixGrids(r: RunResults): MatrixGrid[] {
  const byScenario = new Map<string, ScenarioResult[]>();
  for (const s of r.scenarios) {
    if (!s.matrix) continue;
    const key = s.scenario ?? s.id.split('/')[0]!;
    byScenario.set(key, [...(byScenario.get(key) ?? []), s]);
  }
  return [...byScenario].map(([scenario, cells]) => {
    const policies = POLICIES.filter((p) => cells.some((c) => c.policy === p));
    const rows: MatrixGrid['rows'] = [];
    for (const fault of FAULT_MODES) {
      for (const cached of [true, false]) {
        const inRow = cells.filter((c) => c.fault === fault && c.cached === cached);
        if (inRow.length === 0) continue;
        rows.push({ fault, cached, cells: policies.map((p) => inRow.find((c) => c.policy === p)) });
      }
    }
    return { scenario, title: r.titles?.[scenario] ?? scenario, policies, rows };
  });
}

export function otherScenarios(r: RunResults): ScenarioResult[] {
  return r.scenarios.filter((s) => !s.matrix);
}

export function tallies(r: RunResults): { passed: number; failed: number; scenarios: [number, number]; benchmarks: [number, number] } {
  const sp = r.scenarios.filter((s) => s.pass).length;
  const bp = r.benchmarks.filter((b) => b.pass).length;
  return {
    passed: sp + bp,
    failed: r.scenarios.length - sp + r.benchmarks.length - bp,
    scenarios: [sp, r.scenarios.length - sp],
    benchmarks: [bp, r.benchmarks.length - bp],
  };
}

export function cellText(c: ScenarioResult): string {
  return describeObservation(c.observed);
}

export function expectedText(c: ScenarioResult): string {
  return describeExpectation(c.expected);
}

export function fmtFigure(b: BenchmarkResult, x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return b.unit === 'ratio' ? `${x.toFixed(3)}×` : `${x.toFixed(2)} s`;
}

export function fmtTarget(b: BenchmarkResult): string {
  return b.unit === 'ratio' ? `≤ ${b.target}×` : `≤ ${b.target} s`;
}

export function runHeadline(r: RunResults): string {
  const t = tallies(r);
  return `${t.passed} passed, ${t.failed} failed`;
}

/** `creation → Pulling 0.41 / 0.90 / 1.20 s; Pulling → fallback …` */
export function phasesLine(phases: NonNullable<BenchmarkResult['phases']>): string {
  return phases.map((p) => `${p.name} ${p.p50.toFixed(2)} / ${p.p95.toFixed(2)} / ${p.max.toFixed(2)} s`).join('; ');
}
