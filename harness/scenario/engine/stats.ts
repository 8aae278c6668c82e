/**
 * Percentiles and benchmark figures. Percentiles interpolate linearly between order statistics (numpy's
 * default, "type 7"): with 10 samples p95 lies between the 9th and the 10th.
 */
import type { BenchmarkResult } from '../../contract/index.ts';
import type { BenchmarkSpec } from '../format/model.ts';

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return round(s[lo]! + (s[hi]! - s[lo]!) * (rank - lo));
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface MeasureData {
  samples: number[];
  failures: string[];
  outcome?: string;
  /** Per-pod intervals by name, in first-seen order (see BenchmarkResult.phases). */
  phases?: Map<string, number[]>;
}

/** Adds one pod's intervals to a measure's phases. */
export function addPhases(data: MeasureData, phases: readonly { name: string; seconds: number }[]): void {
  data.phases ??= new Map();
  for (const p of phases) {
    const xs = data.phases.get(p.name) ?? [];
    xs.push(p.seconds);
    data.phases.set(p.name, xs);
  }
}

/** Forms the benchmark from its measures; `pass` needs the judged figure ≤ target and no failed pod. */
export function computeBenchmark(spec: BenchmarkSpec, measures: ReadonlyMap<string, MeasureData>, source?: string): BenchmarkResult {
  const failures: string[] = [];
  const subject = measures.get(spec.subject);
  const base = spec.baseline ? measures.get(spec.baseline) : undefined;
  for (const [name, m] of [[spec.subject, subject], ...(spec.baseline ? [[spec.baseline, base]] : [])] as [string, MeasureData | undefined][]) {
    if (!m) failures.push(`measure "${name}" did not run`);
    else {
      failures.push(...m.failures.map((x) => `${name}: ${x}`));
      if (m.samples.length === 0) failures.push(`measure "${name}" has no samples`);
    }
  }
  const s = subject?.samples ?? [];
  const b = base?.samples ?? [];
  const fig = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), max: xs.length ? round(Math.max(...xs)) : NaN });
  const fs = fig(s);
  let value = fs;
  if (spec.op === 'difference' && base) {
    const fb = fig(b);
    value = { p50: round(fs.p50 - fb.p50), p95: round(fs.p95 - fb.p95), max: round(fs.max - fb.max) };
  } else if (spec.op === 'ratio' && base) {
    const fb = fig(b);
    value = { p50: round(fs.p50 / fb.p50), p95: round(fs.p95 / fb.p95), max: round(fs.max / fb.max) };
  }
  const judged = value[spec.judge];
  if (Number.isFinite(judged) && judged > spec.target) {
    failures.push(`${spec.judge} ${judged}${spec.unit === 's' ? ' s' : '×'} is over the target ${spec.target}${spec.unit === 's' ? ' s' : '×'}`);
  }
  if (!Number.isFinite(judged)) failures.push(`${spec.judge} could not be computed`);
  const result: BenchmarkResult = {
    id: spec.id,
    title: spec.title,
    p50: value.p50,
    p95: value.p95,
    max: value.max,
    unit: spec.unit,
    target: spec.target,
    judge: spec.judge,
    formula: spec.formula,
    pass: failures.length === 0,
    samples: s,
    ...(source ? { source } : {}),
    ...(failures.length ? { failures } : {}),
  };
  if (subject?.phases?.size) {
    result.phases = [...subject.phases].map(([name, xs]) => ({ name, p50: percentile(xs, 50), p95: percentile(xs, 95), max: round(Math.max(...xs)), samples: xs.length }));
  }
  if (base && spec.baseline) result.baseline = { p50: percentile(b, 50), p95: percentile(b, 95), samples: b, label: spec.baseline };
  if (spec.reference) {
    const r = measures.get(spec.reference.measure);
    if (r) {
      result.reference = {
        label: spec.reference.label,
        p50: percentile(r.samples, 50),
        p95: percentile(r.samples, 95),
        samples: r.samples,
        ...(r.outcome ? { outcome: r.outcome } : {}),
      };
    }
  }
  return result;
}
