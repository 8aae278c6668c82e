/**
 * The scenario file format, as zod 4 schemas over the YAML data. The loader (loader.ts) turns every zod issue
 * into `file:line:col: what — fix`; the shapes here are what a scenario author writes (scenarios/README.md).
 *
 * Steps are a list of one-key maps (`- push: {…}`); the loader dispatches on the key itself (so an unknown
 * step kind lists the valid ones), validates the body with STEPS[kind].schema and converts it with
 * STEPS[kind].convert.
 */
import * as z from 'zod';
import { FAULT_MODES, POLICIES } from '../../contract/index.ts';
import { FAULT_CLASS_NAMES, FAILURE_REASONS, TRANSIENT_OUTCOMES } from '../../contract/index.ts';
import { durationSyntaxError, parseRatio } from './duration.ts';
import type { Expectation } from '../../contract/index.ts';
import type { LocalImage } from './model.ts';

export const OUTCOMES = ['Running', 'Rejected', ...FAILURE_REASONS, ...TRANSIENT_OUTCOMES] as const;

const slug = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, { error: 'must be lowercase letters, digits and dashes (e.g. `tag-moved`)' });
const duration = z.string().superRefine((v, ctx) => {
  const err = durationSyntaxError(v);
  if (err) ctx.addIssue({ code: 'custom', message: err });
});
/** `image: app:stable` — a repository name local to the scenario and a tag. */
const imageRef = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, {
    error: 'must be NAME:TAG with a lowercase name, e.g. `app:stable`',
  });
const node = z.string().regex(/^worker-[1-9]$/, { error: 'must be worker-1, worker-2, … (the cluster’s workers in order)' });
const policy = z.enum(POLICIES);
const faultMode = z.enum(FAULT_MODES);
const onOff = z.union([z.boolean(), z.enum(['on', 'off'])]);

export const clusterSchema = z.strictObject({
  workers: z.int().min(1).max(4).default(1),
  gate: onOff.default(true),
  featureGates: z.record(z.string().regex(/^[A-Z][A-Za-z0-9]+$/), z.boolean()).default({}),
  kubelet: z
    .strictObject({
      imagePullFallbackTimeout: duration.default('10s'),
      imagePullFallbackCircuitBreakerWindow: duration.default('30s'),
      serializeImagePulls: z.boolean().default(true),
      registryPullQPS: z.int().min(0).optional(),
      imagePullCredentialsVerificationPolicy: z
        .enum(['NeverVerify', 'NeverVerifyPreloadedImages', 'NeverVerifyAllowlistedImages', 'AlwaysVerify'])
        .optional(),
    })
    .prefault({}),
});

/** What an `expect` step (or a measure's per-pod check, or a matrix rule) may say. */
export const expectFields = {
  outcome: z.enum(OUTCOMES),
  version: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  fallbackEvent: z.boolean().optional(),
  fallbackEventIfVersion: z.string().min(1).optional(),
  startupWithin: duration.optional(),
  /** The kubelet's pull start → decision for the pod, from its own log line (timed at the source). */
  decisionWithin: duration.optional(),
  message: z.string().min(1).optional(),
  events: z.strictObject({ present: z.array(z.string()).optional(), absent: z.array(z.string()).optional() }).optional(),
  restarts: z.strictObject({ min: z.int().min(0).optional(), max: z.int().min(0).optional() }).optional(),
  restartPullWithin: duration.optional(),
  sameOutcomeAs: policy.optional(),
  timeout: duration.optional(),
  /** Keep watching through failures (ErrImagePull, back-off) until Running or the timeout: "converges". */
  eventually: z.boolean().optional(),
};
export const expectationSchema = z.strictObject(expectFields);

const podTemplate = {
  policy,
  node,
  pullSecret: z.boolean().default(false),
  command: z.enum(['serve', 'crash']).default('serve'),
};

export type Path = (string | number)[];

/** What a step's conversion may ask of the loader: the cell's durations and nodes, checks that report at a path. */
export interface StepConverter {
  image(ref: string): LocalImage;
  /** `worker-N` → a 0-based node index (a node the cluster lacks is reported at `path`). */
  node(path: Path, name: string): number;
  seconds(duration: string): number;
  /** Checks the combination of fields, then resolves durations. */
  expectation(path: Path, e: ExpectationDoc): Expectation;
  /** Reports a problem at `path` (relative to the step's body) and converts to nothing. */
  problem(path: Path, what: string, fix: string): undefined;
  /** In a matrix: the first rule whose `when` matches this cell (reported when none does). */
  fromRules(path: Path): { expectation: Expectation; rule: string } | undefined;
}

/** A step kind: the schema of its body in the file, and its conversion to the loaded model (undefined: reported). */
export interface StepDef<In, Out> {
  schema: z.ZodType<In>;
  convert(body: In, c: StepConverter): Out | undefined;
}

function step<S extends z.ZodType, Out>(schema: S, convert: (body: z.output<S>, c: StepConverter) => Out | undefined): StepDef<z.output<S>, Out> {
  return { schema: schema as z.ZodType<z.output<S>>, convert };
}

const stepDefs = {
  push: step(z.strictObject({ image: imageRef, version: z.string().regex(/^v\d+$/, { error: 'must be v1, v2, …' }), private: z.boolean().default(false) }), (b, c) => ({
    image: c.image(b.image),
    version: b.version,
    private: b.private,
  })),
  'delete-tag': step(z.strictObject({ image: imageRef }), (b, c) => ({ image: c.image(b.image) })),
  cache: step(
    z.strictObject({
      image: imageRef,
      node,
      /** runtime: crictl pull on the node; kubelet: a short-lived Always pod (records KEP-2535 credentials). */
      via: z.enum(['runtime', 'kubelet']).default('runtime'),
      pullSecret: z.boolean().default(false),
    }),
    (b, c) => ({ image: c.image(b.image), node: c.node(['node'], b.node), via: b.via, pullSecret: b.pullSecret }),
  ),
  uncache: step(z.strictObject({ image: imageRef, node }), (b, c) => ({ image: c.image(b.image), node: c.node(['node'], b.node) })),
  fault: step(faultMode, (mode) => ({ mode })),
  // A CachedIfFailed pod on a gate-off cluster is no error: the gate-off scenario makes one to see it rejected.
  pod: step(z.strictObject({ name: slug, image: imageRef, ...podTemplate }), (b, c) => ({
    name: b.name,
    image: c.image(b.image),
    policy: b.policy,
    node: c.node(['node'], b.node),
    pullSecret: b.pullSecret,
    command: b.command,
  })),
  wait: step(duration, (d, c) => ({ seconds: c.seconds(d) })),
  /** Deletes a pod an earlier step created (and waits until it is gone), e.g. to start it again. */
  'delete-pod': step(z.strictObject({ pod: slug }), (b) => ({ pod: b.pod })),
  /** Either the fields themselves, or (in a matrix) `from: rules`. */
  expect: step(z.strictObject({ pod: slug, from: z.literal('rules').optional(), ...expectFields, outcome: expectFields.outcome.optional() }), (b, c) => {
    const { pod, from, ...fields } = b;
    const given = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (from !== undefined && given.length > 0) {
      return c.problem(['from'], `\`from: rules\` takes the whole expectation from the rules table, but ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} given too`, 'remove those fields, or remove `from: rules`');
    }
    if (from !== undefined) {
      const r = c.fromRules(['from']);
      return r && { pod, expectation: r.expectation, rule: r.rule };
    }
    const outcome = b.outcome;
    if (outcome === undefined) return c.problem([], 'expect needs an `outcome` (or, in a matrix, `from: rules`)', 'add e.g. `outcome: Running`');
    return { pod, expectation: c.expectation([], { ...fields, outcome }) };
  }),
  measure: step(
    z.strictObject({
      name: slug,
      pods: z.int().min(1).max(100),
      concurrency: z.enum(['serial', 'all']).default('serial'),
      pod: z.strictObject({ image: z.union([imageRef, z.array(imageRef).min(1)]), ...podTemplate }),
      expect: expectationSchema.optional(),
      /**
       * What each pod contributes: `startup` (creation → Running, the default) or `pull-to-fallback` (the
       * Pulling event → the PullFailedUsingCached event, as the watch saw them: the part of startup the
       * kubelet's fallback deadline bounds, without the host's container start and status-sync time), or
       * `kubelet` (the kubelet's own pull start → decision, from its decision log line: the same interval
       * timed at the source, immune to watch delays and the API's 1 s timestamps).
       */
      sample: z.enum(['startup', 'pull-to-fallback', 'kubelet']).default('startup'),
      timeout: duration.default('120s'),
    }),
    (b, c) => {
      const expectation = b.expect ? c.expectation(['expect'], b.expect) : undefined;
      return {
        name: b.name,
        pods: b.pods,
        concurrency: b.concurrency,
        sample: b.sample,
        images: [b.pod.image].flat().map((ref) => c.image(ref)),
        template: { policy: b.pod.policy, node: c.node(['pod', 'node'], b.pod.node), pullSecret: b.pod.pullSecret, command: b.pod.command },
        ...(expectation ? { expectation } : {}),
        timeoutSeconds: c.seconds(b.timeout),
      };
    },
  ),
};

type Defs = typeof stepDefs;
export type StepKind = keyof Defs;
type In<K extends StepKind> = Defs[K] extends StepDef<infer I, unknown> ? I : never;
type Out<K extends StepKind> = Defs[K] extends StepDef<unknown, infer O> ? O : never;

/** Every step kind, keyed by the name a file uses. A new kind is one entry here and one handler in engine/steps/. */
export const STEPS: { [K in StepKind]: StepDef<In<K>, Out<K>> } = stepDefs;
export const STEP_KINDS = Object.keys(STEPS) as StepKind[];
export const STEP_SCHEMAS = Object.fromEntries(STEP_KINDS.map((k) => [k, STEPS[k].schema])) as { [K in StepKind]: z.ZodType<In<K>> };

/** A loaded step: its kind and what its conversion made. */
export type StepBody = { [K in StepKind]: { kind: K } & Out<K> }[StepKind];

export function isStepKind(name: string): name is StepKind {
  return Object.hasOwn(STEPS, name);
}

/** `when:` on a step or a rule: cell variables; fault accepts modes and class names. */
const faultSelector = z.string().refine((v) => (FAULT_MODES as readonly string[]).includes(v) || (FAULT_CLASS_NAMES as string[]).includes(v), {
  error: `must be a fault mode (${FAULT_MODES.join(', ')}) or a class (${FAULT_CLASS_NAMES.join(', ')})`,
});
export const whenSchema = z.strictObject({
  policy: z.union([policy, z.array(policy).min(1)]).optional(),
  fault: z.union([faultSelector, z.array(faultSelector).min(1)]).optional(),
  cached: z.boolean().optional(),
});

export const matrixSchema = z.strictObject({
  policy: z.array(policy).min(1),
  fault: z.array(faultMode).min(1),
  cached: z.array(z.boolean()).min(1).default([true, false]),
});

export const ruleSchema = z.strictObject({ when: whenSchema, expect: expectationSchema });

export const benchmarkSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/),
  title: z.string().min(1),
  /** `subject`, `subject - floor` (difference of percentiles) or `subject / floor` (ratio). */
  value: z.string().regex(/^[a-z0-9-]+(\s*[-/]\s*[a-z0-9-]+)?$/, { error: 'must be MEASURE, MEASURE - MEASURE or MEASURE / MEASURE' }),
  unit: z.enum(['s', 'ratio']),
  target: z.string(),
  judge: z.enum(['p50', 'p95', 'max']),
  reference: z.strictObject({ measure: slug, label: z.string().min(1) }).optional(),
});

export const scenarioSchema = z.strictObject({
  id: slug,
  title: z.string().min(1),
  description: z.string().optional(),
  cluster: clusterSchema.prefault({}),
  matrix: matrixSchema.optional(),
  rules: z.array(ruleSchema).min(1).optional(),
  steps: z.array(z.unknown()).min(1),
  benchmarks: z.array(benchmarkSchema).min(1).optional(),
});
export type ScenarioDoc = z.infer<typeof scenarioSchema>;
export type ExpectationDoc = z.infer<typeof expectationSchema>;
export type WhenDoc = z.infer<typeof whenSchema>;

export function targetSyntaxError(unit: 's' | 'ratio', target: string): string | undefined {
  if (unit === 'ratio') return parseRatio(target) === undefined ? `"${target}" is not a ratio like \`1.05x\`` : undefined;
  return durationSyntaxError(target);
}
