/**
 * The shape of results.json — the one truth of a run. Defined once here and used by the runner, every
 * renderer (junit, markdown, svg, html, the KEP section) and the tests.
 */
export const POLICIES = ['Always', 'IfNotPresent', 'Never', 'CachedIfFailed'] as const;
export type Policy = (typeof POLICIES)[number];

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
  /** The version must be one of these (e.g. a flapping registry: the fresh tag or, with a fallback, the cached one). */
  versionAnyOf?: string[];
  /** true: the PullFailedUsingCached event must be present; false: must be absent; undefined: not checked. */
  fallbackEvent?: boolean;
  /** The fallback event must be present exactly when the observed version is this one (flapping registries). */
  fallbackEventIfVersion?: string;
  maxStartupSeconds?: number;
  /** For Rejected: a substring of the API server's message. */
  message?: string;
  /** Event reasons that must be present / absent on the pod. */
  eventsPresent?: string[];
  eventsAbsent?: string[];
  /** Container restart count bounds (crash-looping containers). */
  minRestarts?: number;
  maxRestarts?: number;
  /** Upper bound on each restart's pull phase (Pulling → Created), in seconds: restarts must not pay the deadline. */
  maxRestartPullSeconds?: number;
  /** The observed outcome must equal the one observed for this policy in the same fault/cache cell. */
  sameOutcomeAs?: Policy;
  /** How long the pod was watched at most; a transient outcome (ContainerCreating) is judged when it runs out. */
  timeoutSeconds?: number;
  /** Failures on the way don't count: watch until Running or the timeout (a flapping registry converging). */
  eventually?: boolean;
}

/** One occurrence of a pod event, in the order the watch saw it (counts of aggregated events unrolled). */
export interface TimelineEntry {
  /** Seconds after the pod's creation timestamp. */
  atSeconds: number;
  reason: string;
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
  /** Container restart count (crash loops). */
  restarts?: number;
  /** The watch ran out before a settled outcome; `outcome` is the state at that moment. */
  timedOut?: boolean;
  /** How long the pod was watched, seconds (what "never started" means in numbers). */
  waitedSeconds?: number;
  timeline?: TimelineEntry[];
}

export interface ScenarioResult {
  id: string;
  /** The scenario's id (the first segment of `id`). */
  scenario?: string;
  /** Set for the cells of a policy × fault × cached matrix (rendered as the matrix table). */
  matrix?: boolean;
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
  /** What it was measured against, for ratios and differences (e.g. the IfNotPresent floor). */
  baseline?: { p50: number; p95: number; samples?: number[]; label?: string };
  /** The largest sample of the subject (what `judge: max` compares). */
  max?: number;
  /** Which figure is compared with the target. */
  judge?: 'p50' | 'p95' | 'max';
  /** How the figures were formed, e.g. `subject - floor`. */
  formula?: string;
  /** A reference measured beside it, not judged (e.g. unpatched Always under blackhole). */
  reference?: { label: string; p50: number; p95: number; samples?: number[]; outcome?: string };
  source?: string;
  /**
   * Where the subject's time went, pod by pod, in the order it happens (e.g. creation → Pulling: the pod
   * sandbox before any pull; Pulling → fallback: the deadline; fallback → Running: container start and the
   * kubelet's status report). Only the intervals the pods' events show.
   */
  phases?: { name: string; p50: number; p95: number; max: number; samples: number }[];
  /** Why it failed, in words (empty when it passed). */
  failures?: string[];
}

export interface RunResults {
  kubernetes: string;
  series: string;
  runId?: string;
  /** `cluster` for a real run; `simulated` when run against the in-process contract model (no Kubernetes). */
  driver?: 'cluster' | 'simulated';
  startedAt: string;
  durationSeconds: number;
  host?: { cores: number; memoryGiB: number; cgroup: 'v1' | 'v2'; kernel: string };
  /** Scenario titles by id, for the reports. */
  titles?: Record<string, string>;
  scenarios: ScenarioResult[];
  benchmarks: BenchmarkResult[];
}
