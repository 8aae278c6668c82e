/**
 * Two runs, cell by cell: what each expectation observed (outcome, version, fallback event) and its verdict,
 * and each benchmark's verdict. Timings are left out on purpose: they differ between any two runs, and the
 * benchmarks' verdicts already say whether a figure met its target. Used to show a refactor changed no
 * behaviour (`cif report --compare A B`, exit 1 on any difference).
 */
import type { RunResults } from '../contract/index.ts';

export interface CellDifference {
  id: string;
  field: string;
  a: string;
  b: string;
}

const show = (v: unknown) => (v === undefined ? '—' : String(v));

function cells(r: RunResults): Map<string, Record<string, unknown>> {
  const m = new Map<string, Record<string, unknown>>();
  for (const s of r.scenarios) {
    m.set(`scenario ${s.id}`, { outcome: s.observed.outcome, version: s.observed.version, fallbackEvent: s.observed.fallbackEvent, pass: s.pass });
  }
  for (const b of r.benchmarks) m.set(`benchmark ${b.id}`, { pass: b.pass });
  return m;
}

export function compareResults(a: RunResults, b: RunResults): { compared: number; differences: CellDifference[] } {
  const ca = cells(a);
  const cb = cells(b);
  const differences: CellDifference[] = [];
  for (const id of new Set([...ca.keys(), ...cb.keys()])) {
    const x = ca.get(id);
    const y = cb.get(id);
    if (!x || !y) {
      differences.push({ id, field: 'present', a: x ? 'yes' : 'no', b: y ? 'yes' : 'no' });
      continue;
    }
    for (const field of Object.keys(x)) {
      if (x[field] !== y[field]) differences.push({ id, field, a: show(x[field]), b: show(y[field]) });
    }
  }
  return { compared: new Set([...ca.keys(), ...cb.keys()]).size, differences };
}

export function formatComparison(r: { compared: number; differences: CellDifference[] }): string {
  if (!r.differences.length) return `identical: ${r.compared} cells (outcome, version, fallback event, verdict)`;
  return [
    `${r.differences.length} difference(s) in ${r.compared} cells:`,
    ...r.differences.map((d) => `  ${d.id}: ${d.field} ${d.a} → ${d.b}`),
  ].join('\n');
}
