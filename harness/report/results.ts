/**
 * The shape of results.json — the one truth of a run. Defined once here and used by the runner, every
 * renderer (junit, markdown, svg, html, the KEP section) and the tests.
 */
export type Policy = 'Always' | 'IfNotPresent' | 'Never' | 'CachedIfFailed';

export const FAULT_MODES = [
  'none',
  'stopped',
  'refused',
  'blackhole',
  'dns',
  'http-503',
  'http-429',
  'unauthorized',
  'forbidden',
  'not-found',
  'slow',
  'flapping',
  'hang',
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** `Running`, a container Waiting reason (ErrImagePull, ImagePullBackOff, …), or `Rejected` by the API. */
export type Outcome = string;

export interface Expectation {
  outcome: Outcome;
  version?: string;
  /** true: the PullFailedUsingCached event must be present; false: must be absent; undefined: not checked. */
  fallbackEvent?: boolean;
  maxStartupSeconds?: number;
  /** For Rejected: a substring of the API server's message. */
  message?: string;
}

export interface Observation {
  outcome: Outcome;
  version?: string;
  fallbackEvent: boolean;
  startupSeconds?: number;
  message?: string;
  imageID?: string;
  node?: string;
  events?: { reason: string; message: string; count: number }[];
}

export interface ScenarioResult {
  id: string;
  /** The scenario file and line that defined it. */
  source?: string;
  policy: Policy;
  fault: FaultMode;
  cached: boolean;
  expected: Expectation;
  observed: Observation;
  pass: boolean;
  /** Why it failed, in words (empty when it passed). */
  failures?: string[];
  durationSeconds?: number;
}

export interface BenchmarkResult {
  id: string;
  title?: string;
  p50: number;
  p95: number;
  unit: 's' | 'ratio';
  target: number;
  pass: boolean;
  samples?: number[];
  /** What it was measured against, for ratios (e.g. the IfNotPresent floor). */
  baseline?: { p50: number; p95: number };
}

export interface RunResults {
  kubernetes: string;
  series: string;
  runId?: string;
  startedAt: string;
  durationSeconds: number;
  host?: { cores: number; memoryGiB: number; cgroup: 'v1' | 'v2'; kernel: string };
  scenarios: ScenarioResult[];
  benchmarks: BenchmarkResult[];
}
