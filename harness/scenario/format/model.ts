/**
 * Scenarios after loading: validated, durations resolved to seconds, matrices expanded into cells. This is
 * what the runner executes; nothing here refers back to YAML except `where` (file:line:col) for messages.
 */
import type { Expectation, FaultMode, Policy } from '../../contract/index.ts';
import type { ClusterNeeds } from '../../drivers/driver.ts';
import type { DurationVars } from './duration.ts';

/** A repository local to a scenario (`app`) and a tag. The runner prefixes the cell's scope. */
export interface LocalImage {
  name: string;
  tag: string;
}

export interface PodTemplate {
  policy: Policy;
  /** 0-based index into Driver.nodes (`worker-1` → 0). */
  node: number;
  pullSecret: boolean;
  command: 'serve' | 'crash';
}

export type { StepBody } from './schema.ts';
import type { StepBody } from './schema.ts';

export type Step = StepBody & { where: string };

export interface CellVars {
  policy: Policy;
  fault: FaultMode;
  cached: boolean;
}

export interface Cell {
  /** '' for a plain scenario; `cachedifailed-blackhole-cached` for a matrix cell. */
  key: string;
  vars?: CellVars;
  steps: Step[];
}

export interface BenchmarkSpec {
  id: string;
  title: string;
  /** Measure names: value = subject, subject - baseline, or subject / baseline. */
  subject: string;
  baseline?: string;
  op: 'value' | 'difference' | 'ratio';
  formula: string;
  unit: 's' | 'ratio';
  target: number;
  judge: 'p50' | 'p95' | 'max';
  reference?: { measure: string; label: string };
  where: string;
}

export interface Scenario {
  id: string;
  title: string;
  description?: string;
  file: string;
  /** file:line of the scenario's `id:`. */
  where: string;
  needs: ClusterNeeds;
  vars: DurationVars;
  matrix?: { policy: Policy[]; fault: FaultMode[]; cached: boolean[] };
  cells: Cell[];
  benchmarks: BenchmarkSpec[];
}

export function cellKey(v: CellVars): string {
  return `${v.policy.toLowerCase()}-${v.fault}-${v.cached ? 'cached' : 'uncached'}`;
}
