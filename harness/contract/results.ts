/**
 * results.json, the one record of a run: its zod schema and the types inferred from it. The engine writes
 * it, every renderer and `cif report` read it back through `parseResults`, so a file from another version
 * or a half-written one fails with the path of the first bad field instead of a renderer printing
 * `undefined`.
 */
import { z } from 'zod';
import { FAULT_MODES, type FaultMode } from './faults.ts';
import { POLICIES } from './policies.ts';

/** JSON has no NaN: a figure that could not be measured is written as null and read back as NaN. */
const figure = z.union([z.number(), z.null().transform(() => NaN)]);

export const expectationSchema = z.object({
  outcome: z.string(),
  version: z.string().optional(),
  /** The version must be one of these (e.g. a flapping registry: the fresh tag or, with a fallback, the cached one). */
  versionAnyOf: z.array(z.string()).optional(),
  /** true: the fallback event must be present; false: must be absent; undefined: not checked. */
  fallbackEvent: z.boolean().optional(),
  /** The fallback event must be present exactly when the observed version is this one (flapping registries). */
  fallbackEventIfVersion: z.string().optional(),
  maxStartupSeconds: z.number().optional(),
  /**
   * Upper bound on the kubelet's own pull start → decision time for this pod (its decision log line): the wait
   * the fallback deadline bounds, timed at the source. The pod must have at least one decision.
   */
  maxDecisionSeconds: z.number().optional(),
  /** For Rejected: a substring of the API server's message. */
  message: z.string().optional(),
  /** Event reasons that must be present / absent on the pod. */
  eventsPresent: z.array(z.string()).optional(),
  eventsAbsent: z.array(z.string()).optional(),
  /** Container restart count bounds (crash-looping containers). */
  minRestarts: z.number().optional(),
  maxRestarts: z.number().optional(),
  /** Upper bound on each restart's pull phase (Pulling → Created), in seconds: restarts must not pay the deadline. */
  maxRestartPullSeconds: z.number().optional(),
  /** The observed outcome must equal the one observed for this policy in the same fault/cache cell. */
  sameOutcomeAs: z.enum(POLICIES).optional(),
  /** How long the pod was watched at most; a transient outcome (ContainerCreating) is judged when it runs out. */
  timeoutSeconds: z.number().optional(),
  /** Failures on the way don't count: watch until Running or the timeout (a flapping registry converging). */
  eventually: z.boolean().optional(),
});
export type Expectation = z.infer<typeof expectationSchema>;

/** One occurrence of a pod event, in the order the watch saw it (counts of aggregated events unrolled). */
export const timelineEntrySchema = z.object({
  /** Seconds after the pod's creation timestamp. */
  atSeconds: z.number(),
  reason: z.string(),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

/**
 * The kubelet's own account of one CachedIfFailed pull with a cached copy, from its V(0) "CachedIfFailed pull
 * decided" log line (patches/README.md, "Timing at the source"): timed by the kubelet, not by a watch.
 */
export const pullDecisionSchema = z.object({
  decision: z.enum(['pulled', 'fallback', 'error']),
  errorClass: z.string(),
  /** Pull start → decision, seconds, on the kubelet's clock. */
  durationSeconds: z.number(),
  deadlineSeconds: z.number(),
  breakerOpen: z.boolean(),
});
export type PullDecision = z.infer<typeof pullDecisionSchema>;

export const observationSchema = z.object({
  outcome: z.string(),
  version: z.string().optional(),
  fallbackEvent: z.boolean(),
  startupSeconds: z.number().optional(),
  message: z.string().optional(),
  imageID: z.string().optional(),
  node: z.string().optional(),
  events: z.array(z.object({ reason: z.string(), message: z.string(), count: z.number() })).optional(),
  /** Container restart count (crash loops). */
  restarts: z.number().optional(),
  /** The watch ran out before a settled outcome; `outcome` is the state at that moment. */
  timedOut: z.boolean().optional(),
  /** How long the pod was watched, seconds (what "never started" means in numbers). */
  waitedSeconds: z.number().optional(),
  timeline: z.array(timelineEntrySchema).optional(),
  /** The kubelet's decisions for this pod's pulls, in order (read when an expectation or measure needs them). */
  pullDecisions: z.array(pullDecisionSchema).optional(),
});
export type Observation = z.infer<typeof observationSchema>;

export const scenarioResultSchema = z.object({
  id: z.string(),
  /** The scenario's id (the first segment of `id`). */
  scenario: z.string().optional(),
  /** Set for the cells of a policy × fault × cached matrix (rendered as the matrix table). */
  matrix: z.boolean().optional(),
  /** The scenario file and line that defined it. */
  source: z.string().optional(),
  policy: z.enum(POLICIES),
  fault: z.enum(FAULT_MODES as [FaultMode, ...FaultMode[]]),
  cached: z.boolean(),
  expected: expectationSchema,
  observed: observationSchema,
  pass: z.boolean(),
  /** Why it failed, in words (empty when it passed). */
  failures: z.array(z.string()).optional(),
  durationSeconds: z.number().optional(),
});
export type ScenarioResult = z.infer<typeof scenarioResultSchema>;

const spread = { p50: figure, p95: figure, samples: z.array(z.number()).optional() };

export const benchmarkResultSchema = z.object({
  id: z.string(),
  title: z.string().optional(),
  ...spread,
  unit: z.enum(['s', 'ratio']),
  target: z.number(),
  pass: z.boolean(),
  /** What it was measured against, for ratios and differences (e.g. the IfNotPresent floor). */
  baseline: z.object({ ...spread, label: z.string().optional() }).optional(),
  /** The largest sample of the subject (what `judge: max` compares). */
  max: figure.optional(),
  /** Which figure is compared with the target. */
  judge: z.enum(['p50', 'p95', 'max']).optional(),
  /** How the figures were formed, e.g. `subject - floor`. */
  formula: z.string().optional(),
  /** A reference measured beside it, not judged (e.g. unpatched Always under blackhole). */
  reference: z.object({ label: z.string(), ...spread, outcome: z.string().optional() }).optional(),
  source: z.string().optional(),
  /**
   * Where the subject's time went, pod by pod, in the order it happens (e.g. creation → Pulling: the pod
   * sandbox before any pull; Pulling → fallback: the deadline; fallback → Running: container start and the
   * kubelet's status report). Only the intervals the pods' events show.
   */
  phases: z.array(z.object({ name: z.string(), p50: figure, p95: figure, max: figure, samples: z.number() })).optional(),
  /** Why it failed, in words (empty when it passed). */
  failures: z.array(z.string()).optional(),
});
export type BenchmarkResult = z.infer<typeof benchmarkResultSchema>;

export const runResultsSchema = z.object({
  kubernetes: z.string(),
  series: z.string(),
  runId: z.string().optional(),
  /** `cluster` for a real run; `simulated` when run against the in-process contract model (no Kubernetes). */
  driver: z.enum(['cluster', 'simulated']).optional(),
  startedAt: z.string(),
  durationSeconds: z.number(),
  host: z.object({ cores: z.number(), memoryGiB: z.number(), cgroup: z.enum(['v1', 'v2']), kernel: z.string() }).optional(),
  /** Scenario titles by id, for the reports. */
  titles: z.record(z.string(), z.string()).optional(),
  scenarios: z.array(scenarioResultSchema),
  benchmarks: z.array(benchmarkResultSchema),
});
export type RunResults = z.infer<typeof runResultsSchema>;

/** What the KEP section needs beyond the schema: every benchmark figure measured. */
export const measuredResultsSchema = runResultsSchema.superRefine((r, ctx) => {
  r.benchmarks.forEach((b, i) => {
    for (const key of ['p50', 'p95'] as const) {
      if (!Number.isFinite(b[key])) ctx.addIssue({ code: 'custom', path: ['benchmarks', i, key], message: 'must be a measured number' });
    }
  });
});

/** `benchmarks[0].p50: expected number` — the first few problems, each with the path of the field. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const path = (p: readonly PropertyKey[]) =>
    p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '') || '(top level)';
  const shown = error.issues.slice(0, max).map((i) => `${path(i.path)}: ${i.message}`);
  if (error.issues.length > max) shown.push(`… ${error.issues.length - max} more`);
  return shown.join('; ');
}

export type ParsedResults = { ok: true; results: RunResults } | { ok: false; problems: string };

export function parseResults(data: unknown, schema: z.ZodType<RunResults, unknown> = runResultsSchema): ParsedResults {
  const r = schema.safeParse(data);
  return r.success ? { ok: true, results: r.data } : { ok: false, problems: describeIssues(r.error) };
}
