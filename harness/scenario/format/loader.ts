/**
 * Loads scenario files: YAML (keeping node positions through a LineCounter) → zod 4 validation → semantic
 * checks → Scenario with matrix cells expanded. Every problem becomes `file:line:col: what` plus a fix, all
 * problems of all files are collected, and nothing runs unless every file is clean (`loadScenarios`).
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import * as z from 'zod';
import { FAULT_MODES, POLICIES, type Expectation, type FaultMode, type Policy } from '../../contract/index.ts';
import { FAULT_CLASS_NAMES, faultsOf } from '../../contract/index.ts';
import type { ClusterNeeds } from '../../drivers/driver.ts';
import { evalDuration, parsePlainDuration, parseRatio, type DurationVars } from './duration.ts';
import { cellKey, type BenchmarkSpec, type Cell, type CellVars, type LocalImage, type Scenario, type Step } from './model.ts';
import {
  OUTCOMES,
  ruleSchema,
  scenarioSchema,
  STEP_KINDS,
  STEPS,
  isStepKind,
  type StepConverter,
  type StepDef,
  targetSyntaxError,
  type ExpectationDoc,
  type ScenarioDoc,
  type StepKind,
  type WhenDoc,
} from './schema.ts';
import { InputError } from '../../lib/errors.ts';

export interface Problem {
  /** file:line:col */
  where: string;
  what: string;
  fix: string;
}

/** All problems found in the scenario files; exit 2. `describe()` prints one `where: what` + fix per problem. */
export class ScenarioFileError extends InputError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in scenario files`, {
      where: problems[0]?.where,
      hint: problems[0]?.fix,
    });
    this.problems = problems;
  }
  override describe(): string {
    return this.problems.map((p) => `${p.where}: ${p.what}\n  fix: ${p.fix}`).join('\n');
  }
}

type Path = (string | number)[];

/** Positions and problem collection for one file. */
class FileContext {
  readonly problems: Problem[] = [];
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}

  private pos(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  /** The position of the node at `path`, or of its nearest ancestor that exists (for missing keys). */
  where(path: Path, keyOf?: string): string {
    for (let n = path.length; n >= 0; n--) {
      const node = (n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true)) as YamlNode | null | undefined;
      if (!node || !('range' in node) || !node.range) continue;
      if (keyOf !== undefined && n === path.length && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === keyOf);
        const keyNode = pair?.key as YamlNode | undefined;
        if (keyNode?.range) return this.pos(keyNode.range[0]);
      }
      if (n < path.length && isMap(node)) {
        // point at the key of the missing/odd child when the parent is a map
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(path[n]));
        const keyNode = pair?.key as YamlNode | undefined;
        if (keyNode?.range) return this.pos(keyNode.range[0]);
      }
      return this.pos(node.range[0]);
    }
    return `${this.file}:1:1`;
  }

  add(path: Path, what: string, fix: string, keyOf?: string): void {
    const where = this.where(path, keyOf);
    if (!this.problems.some((p) => p.where === where && p.what === what)) this.problems.push({ where, what, fix });
  }

  /** Reports zod issues found validating the value at `base`. */
  zod(base: Path, error: z.ZodError, schema: z.ZodType): void {
    for (const issue of error.issues) this.zodIssue(base, issue, schema);
  }

  private zodIssue(base: Path, issue: z.core.$ZodIssue, schema: z.ZodType): void {
    const path = [...base, ...(issue.path as (string | number)[])];
    const name = describePath(path);
    const value = this.doc.getIn(path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeys(schemaAt(schema, issue.path as Path));
        for (const key of issue.keys) {
          const guess = closest(key, known);
          this.add(
            path,
            `unknown key "${key}"${name ? ` in ${name}` : ''}`,
            `${guess ? `did you mean "${guess}"? ` : ''}valid keys: ${known.join(', ')}`,
            key,
          );
        }
        return;
      }
      case 'invalid_value': {
        const valid = issue.values.map(String);
        const what = kindOfValue(path);
        const guess = typeof value === 'string' ? closest(value, valid) : undefined;
        this.add(
          path,
          `unknown ${what} ${JSON.stringify(value)}`,
          `${guess ? `did you mean "${guess}"? ` : ''}valid ${what.endsWith('y') ? what.slice(0, -1) + 'ies' : what + 's'}: ${valid.join(', ')}`,
        );
        return;
      }
      case 'invalid_type': {
        if (value === undefined && !this.doc.hasIn(path)) {
          this.add(path, `${name} is missing`, `add \`${String(path[path.length - 1])}: …\` (${issue.expected})`);
        } else {
          this.add(path, `${name} must be ${article(issue.expected)}, not ${describeValue(value)}`, `write ${name} as ${article(issue.expected)}`);
        }
        return;
      }
      case 'invalid_union': {
        // Report the branch that got furthest; for expect: the field-list branch is the one people write.
        const branches = issue.errors;
        // A scalar that fits no branch (e.g. `gate: maybe` against boolean | "on" | "off"): list every accepted form.
        if (branches.every((b) => b.length === 1 && b[0]!.path.length === 0 && (b[0]!.code === 'invalid_type' || b[0]!.code === 'invalid_value'))) {
          const forms = branches.flatMap((b) => {
            const i = b[0]!;
            return i.code === 'invalid_value' ? i.values.map((v) => JSON.stringify(v)) : [i.code === 'invalid_type' ? i.expected : ''];
          });
          this.add(path, `${name} is ${describeValue(value)}; it must be one of: ${forms.join(', ')}`, `write ${name} as one of: ${forms.join(', ')}`);
          return;
        }
        const best = branches.reduce((a, b) => (score(b) < score(a) ? b : a), branches[0] ?? []);
        if (best.length === 0) {
          this.add(path, `${name}: ${issue.message}`, 'see scenarios/README.md for the accepted forms');
          return;
        }
        const options = (schemaAt(schema, issue.path as Path) as z.ZodUnion | undefined)?.options;
        const branchSchema = options?.[branches.indexOf(best as never)] as z.ZodType | undefined;
        for (const sub of best) this.zodIssue(path, sub, branchSchema ?? schema);
        return;
      }
      case 'too_small':
        this.add(path, `${name} ${issue.origin === 'array' ? `needs at least ${issue.minimum} item(s)` : `must be ≥ ${issue.minimum}`}`, `raise ${name}`);
        return;
      case 'too_big':
        this.add(path, `${name} ${issue.origin === 'array' ? `allows at most ${issue.maximum} item(s)` : `must be ≤ ${issue.maximum}`}`, `lower ${name}`);
        return;
      default:
        this.add(path, `${name}: ${issue.message}`, fixFor(path));
    }
  }
}

function score(issues: z.core.$ZodIssue[]): number {
  // fewer and deeper issues = closer match
  return issues.length * 10 - Math.max(0, ...issues.map((i) => i.path.length));
}

function fixFor(path: Path): string {
  const last = String(path[path.length - 1] ?? '');
  if (last === 'image' || last === 'images') return 'write NAME:TAG, e.g. `app:stable`';
  if (last === 'node') return 'use worker-1 … worker-N';
  return 'see scenarios/README.md for the format';
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function describePath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function kindOfValue(path: Path): string {
  const names = path.filter((p): p is string => typeof p === 'string');
  const last = names[names.length - 1] ?? '';
  const map: Record<string, string> = {
    policy: 'policy',
    sameOutcomeAs: 'policy',
    fault: 'fault mode',
    outcome: 'outcome',
    concurrency: 'concurrency',
    sample: 'sample',
    via: 'cache method',
    command: 'command',
    unit: 'unit',
    judge: 'judge figure',
    imagePullCredentialsVerificationPolicy: 'verification policy',
  };
  return map[last] ?? 'value';
}

/** The zod schema at a relative path (objects, arrays, records, optional/default wrappers). */
function schemaAt(schema: z.ZodType | undefined, path: Path): z.ZodType | undefined {
  let s = unwrap(schema);
  for (const seg of path) {
    if (!s) return undefined;
    if (s instanceof z.ZodObject) s = unwrap(s.shape[String(seg)] as z.ZodType | undefined);
    else if (s instanceof z.ZodArray) s = unwrap(s.element as z.ZodType);
    else if (s instanceof z.ZodUnion) {
      const opts = (s.options as z.ZodType[]).map((o) => schemaAt(o, [seg])).filter(Boolean);
      s = opts[0];
    } else return undefined;
  }
  return s;
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur: unknown = s;
  for (let i = 0; i < 10 && cur; i++) {
    if (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodPrefault || cur instanceof z.ZodNullable) {
      cur = (cur as z.ZodOptional).unwrap();
    } else break;
  }
  return cur as z.ZodType | undefined;
}

function knownKeys(s: z.ZodType | undefined): string[] {
  if (s instanceof z.ZodObject) return Object.keys(s.shape);
  if (s instanceof z.ZodUnion) return [...new Set((s.options as z.ZodType[]).flatMap((o) => knownKeys(unwrap(o))))];
  return [];
}

/** Did-you-mean: the closest candidate within a small edit distance. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function splitImage(ref: string): LocalImage {
  const i = ref.lastIndexOf(':');
  return { name: ref.slice(0, i), tag: ref.slice(i + 1) };
}

function nodeIndex(ctx: FileContext, path: Path, node: string, workers: number): number {
  const n = Number(node.slice('worker-'.length));
  if (n > workers) {
    ctx.add(path, `${node} does not exist: the scenario's cluster has ${workers} worker${workers === 1 ? '' : 's'}`, `use worker-1…worker-${workers} or raise cluster.workers`);
  }
  return n - 1;
}

/** Replaces `$policy` / `$fault` in a step's raw data with the cell's values. */
function substitute(raw: unknown, vars: CellVars | undefined): unknown {
  if (typeof raw === 'string') {
    if (!vars) return raw;
    if (raw === '$policy') return vars.policy;
    if (raw === '$fault') return vars.fault;
    return raw;
  }
  if (Array.isArray(raw)) return raw.map((r) => substitute(r, vars));
  if (raw && typeof raw === 'object') return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, substitute(v, vars)]));
  return raw;
}

function usesVariable(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw.startsWith('$') ? raw : undefined;
  if (Array.isArray(raw)) return raw.map(usesVariable).find(Boolean);
  if (raw && typeof raw === 'object') return Object.values(raw).map(usesVariable).find(Boolean);
  return undefined;
}

function matches(when: WhenDoc | undefined, v: CellVars): boolean {
  if (!when) return true;
  if (when.policy !== undefined && ![when.policy].flat().includes(v.policy)) return false;
  if (when.cached !== undefined && when.cached !== v.cached) return false;
  if (when.fault !== undefined && ![when.fault].flat().some((f) => faultsOf(f)?.includes(v.fault))) return false;
  return true;
}

function resolveExpectation(e: Omit<ExpectationDoc, never>, vars: DurationVars): Expectation {
  const out: Expectation = { outcome: e.outcome };
  if (typeof e.version === 'string') out.version = e.version;
  else if (Array.isArray(e.version)) out.versionAnyOf = e.version;
  if (e.fallbackEvent !== undefined) out.fallbackEvent = e.fallbackEvent;
  if (e.fallbackEventIfVersion !== undefined) out.fallbackEventIfVersion = e.fallbackEventIfVersion;
  if (e.startupWithin !== undefined) out.maxStartupSeconds = evalDuration(e.startupWithin, vars);
  if (e.decisionWithin !== undefined) out.maxDecisionSeconds = evalDuration(e.decisionWithin, vars);
  if (e.message !== undefined) out.message = e.message;
  if (e.events?.present?.length) out.eventsPresent = e.events.present;
  if (e.events?.absent?.length) out.eventsAbsent = e.events.absent;
  if (e.restarts?.min !== undefined) out.minRestarts = e.restarts.min;
  if (e.restarts?.max !== undefined) out.maxRestarts = e.restarts.max;
  if (e.restartPullWithin !== undefined) out.maxRestartPullSeconds = evalDuration(e.restartPullWithin, vars);
  if (e.sameOutcomeAs !== undefined) out.sameOutcomeAs = e.sameOutcomeAs;
  if (e.eventually) out.eventually = true;
  out.timeoutSeconds = e.timeout !== undefined ? evalDuration(e.timeout, vars) : DEFAULT_TIMEOUT_SECONDS;
  return out;
}

/** How long an `expect` watches a pod unless it says `timeout:`. Always under blackhole fails after ~30 s. */
export const DEFAULT_TIMEOUT_SECONDS = 120;

/** Parses and validates one file's text. Returns the scenario or the problems (never throws on bad input). */
export function parseScenario(text: string, file: string): { scenario?: Scenario; problems: Problem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const ctx = new FileContext(file, doc, lines);
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    ctx.problems.push({
      where: `${file}:${pos?.line ?? 1}:${pos?.col ?? 1}`,
      what: `YAML: ${what}`,
      fix: e.code === 'DUPLICATE_KEY' ? 'remove or rename the repeated key' : 'fix the YAML syntax (indentation, brackets, quotes)',
    });
  }
  if (ctx.problems.length) return { problems: ctx.problems };
  const data = doc.toJS() as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    ctx.add([], 'a scenario file must be a map with id, title, cluster and steps', 'start from a file in scenarios/');
    return { problems: ctx.problems };
  }
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    ctx.zod([], parsed.error, scenarioSchema);
    checkStepsAnyway(ctx, data as Record<string, unknown>);
    return { problems: ctx.problems };
  }
  const scenario = build(ctx, parsed.data);
  return ctx.problems.length ? { problems: ctx.problems } : { scenario, problems: [] };
}

/**
 * The top level is invalid, but the steps may have problems of their own: report those too, so one run of
 * the loader shows everything. Uses lenient stand-ins for the parts that failed (any worker count up to 9,
 * one sample matrix cell for $policy / $fault).
 */
function checkStepsAnyway(ctx: FileContext, raw: Record<string, unknown>): void {
  if (!Array.isArray(raw.steps)) return;
  const workers = typeof (raw.cluster as { workers?: unknown } | undefined)?.workers === 'number' ? ((raw.cluster as { workers: number }).workers) : 9;
  const needs: ClusterNeeds = {
    workers,
    gate: true,
    featureGates: {},
    kubelet: { imagePullFallbackTimeout: 10, imagePullFallbackCircuitBreakerWindow: 30, serializeImagePulls: true },
  };
  const hasMatrix = raw.matrix !== undefined;
  const sample: CellVars | undefined = hasMatrix ? { policy: 'Always', fault: 'refused', cached: true } : undefined;
  const d = { matrix: hasMatrix ? { policy: [], fault: [], cached: [] } : undefined, rules: undefined, lenient: true } as unknown as ScenarioDoc;
  raw.steps.forEach((step, i) => parseStep(ctx, step, i, sample, d, needs, { deadline: 10, window: 30 }, []));
}

function build(ctx: FileContext, d: ScenarioDoc): Scenario {
  const gateOn = d.cluster.gate === true || d.cluster.gate === 'on';
  const deadline = parsePlainDuration(d.cluster.kubelet.imagePullFallbackTimeout);
  const window = parsePlainDuration(d.cluster.kubelet.imagePullFallbackCircuitBreakerWindow);
  if (deadline === undefined) ctx.add(['cluster', 'kubelet', 'imagePullFallbackTimeout'], 'must be a plain duration like `10s`', 'write e.g. `10s`');
  if (window === undefined) ctx.add(['cluster', 'kubelet', 'imagePullFallbackCircuitBreakerWindow'], 'must be a plain duration like `30s`', 'write e.g. `30s`');
  const vars: DurationVars = { deadline: deadline ?? 10, window: window ?? 30 };
  const needs: ClusterNeeds = {
    workers: d.cluster.workers,
    gate: gateOn,
    featureGates: d.cluster.featureGates,
    kubelet: {
      imagePullFallbackTimeout: vars.deadline,
      imagePullFallbackCircuitBreakerWindow: vars.window,
      serializeImagePulls: d.cluster.kubelet.serializeImagePulls,
      ...(d.cluster.kubelet.registryPullQPS !== undefined ? { registryPullQPS: d.cluster.kubelet.registryPullQPS } : {}),
      ...(d.cluster.kubelet.imagePullCredentialsVerificationPolicy
        ? { imagePullCredentialsVerificationPolicy: d.cluster.kubelet.imagePullCredentialsVerificationPolicy }
        : {}),
    },
  };

  // Cells: the matrix product in file order (policy-major), or one plain cell.
  const cellVars: (CellVars | undefined)[] = [];
  if (d.matrix) {
    for (const fault of d.matrix.fault) for (const cached of d.matrix.cached) for (const policy of d.matrix.policy) cellVars.push({ policy, fault, cached });
  } else cellVars.push(undefined);
  if (d.rules && !d.matrix) ctx.add(['rules'], '`rules` only apply to a matrix', 'add a `matrix:` or give each expect its own fields');

  const ruleUsed = new Array<boolean>(d.rules?.length ?? 0).fill(false);
  const cells: Cell[] = [];
  for (const v of cellVars) {
    const steps: Step[] = [];
    const podNames = new Set<string>();
    const measureNames = new Set<string>();
    d.steps.forEach((rawStep, i) => {
      const step = parseStep(ctx, rawStep, i, v, d, needs, vars, ruleUsed);
      if (!step) return;
      if (step.kind === 'pod' || step.kind === 'measure') {
        const names = step.kind === 'pod' ? podNames : measureNames;
        if (names.has(step.name)) ctx.add(['steps', i, step.kind, 'name'], `${step.kind} name "${step.name}" is used twice`, 'give each its own name');
        names.add(step.name);
      }
      if (step.kind === 'expect' && !podNames.has(step.pod)) {
        ctx.add(['steps', i, 'expect', 'pod'], `expect refers to pod "${step.pod}", which no earlier step creates`, `add \`- pod: {name: ${step.pod}, …}\` before it, or fix the name`);
      }
      steps.push(step);
    });
    cells.push({ key: v ? cellKey(v) : '', ...(v ? { vars: v } : {}), steps });
  }
  const anyFromRules = ruleUsed.some(Boolean);
  ruleUsed.forEach((used, i) => {
    if (!used && !anyFromRules) ctx.add(['rules'], 'rules are defined but no expect step says `from: rules`', 'add `- expect: {pod: NAME, from: rules}` to the steps');
    else if (!used) ctx.add(['rules', i, 'when'], 'this rule matches no matrix cell (an earlier rule catches every cell it would)', 'narrow the earlier rule, or remove this one');
  });
  if (d.matrix) {
    // sameOutcomeAs must name a policy that is in the matrix, or it can never be checked
    d.rules?.forEach((r, i) => {
      if (r.expect.sameOutcomeAs && !d.matrix!.policy.includes(r.expect.sameOutcomeAs)) {
        ctx.add(['rules', i, 'expect', 'sameOutcomeAs'], `sameOutcomeAs ${r.expect.sameOutcomeAs}, but the matrix has no ${r.expect.sameOutcomeAs} cells`, `add ${r.expect.sameOutcomeAs} to matrix.policy`);
      }
    });
  }

  const benchmarks = buildBenchmarks(ctx, d, vars, cells);
  return {
    id: d.id,
    title: d.title,
    ...(d.description ? { description: d.description.trim() } : {}),
    file: ctx.file,
    where: ctx.where(['id']),
    needs,
    vars,
    ...(d.matrix ? { matrix: { policy: d.matrix.policy, fault: d.matrix.fault, cached: d.matrix.cached } } : {}),
    cells,
    benchmarks,
  };
}

function parseStep(
  ctx: FileContext,
  raw: unknown,
  i: number,
  v: CellVars | undefined,
  d: ScenarioDoc,
  needs: ClusterNeeds,
  vars: DurationVars,
  ruleUsed: boolean[],
): Step | undefined {
  const base: Path = ['steps', i];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    ctx.add(base, `step ${i + 1} must be a one-key map like \`- push: {…}\``, `valid step kinds: ${STEP_KINDS.join(', ')}`);
    return undefined;
  }
  const keys = Object.keys(raw);
  const kinds = keys.filter((k) => k !== 'when');
  if (kinds.length !== 1) {
    ctx.add(base, `step ${i + 1} has ${kinds.length === 0 ? 'no kind' : `${kinds.length} kinds (${kinds.join(', ')})`}`, `one of ${STEP_KINDS.join(', ')} per step (plus an optional \`when:\`)`);
    return undefined;
  }
  const kind = kinds[0]!;
  if (!(STEP_KINDS as string[]).includes(kind)) {
    const guess = closest(kind, STEP_KINDS);
    ctx.add(base, `unknown step kind "${kind}"`, `${guess ? `did you mean "${guess}"? ` : ''}valid step kinds: ${STEP_KINDS.join(', ')}`, kind);
    return undefined;
  }
  const rec = raw as Record<string, unknown>;
  if ('when' in rec) {
    if (!d.matrix) {
      ctx.add([...base, 'when'], '`when:` only applies inside a matrix scenario', 'remove it, or add a `matrix:`');
      return undefined;
    }
    const w = ruleSchema.shape.when.safeParse(rec.when);
    if (!w.success) {
      ctx.zod([...base, 'when'], w.error, ruleSchema.shape.when);
      return undefined;
    }
    if (v && !matches(w.data, v)) return undefined;
  }
  const variable = usesVariable(rec[kind]);
  if (variable && !d.matrix) {
    ctx.add([...base, kind], `${variable} is a matrix variable, but this scenario has no matrix`, 'write the value itself, or add a `matrix:`');
    return undefined;
  }
  if (variable && variable !== '$policy' && variable !== '$fault') {
    ctx.add([...base, kind], `unknown variable ${variable}`, 'matrix variables are $policy and $fault (use `when: {cached: …}` for the cache axis)');
    return undefined;
  }
  if (!isStepKind(kind)) return undefined;
  const at = (path: Path) => [...base, kind, ...path];
  const converter: StepConverter = {
    image: splitImage,
    node: (path, name) => nodeIndex(ctx, at(path), name, needs.workers),
    seconds: (text) => evalDuration(text, vars),
    expectation: (path, e) => {
      checkExpectation(ctx, at(path), e);
      return resolveExpectation(e, vars);
    },
    problem: (path, what, fix) => {
      ctx.add(at(path), what, fix);
      return undefined;
    },
    fromRules: (path) => {
      if ((d as { lenient?: boolean }).lenient) return undefined;
      if (!d.rules || !v) {
        ctx.add(at(path), '`from: rules` needs a matrix with a `rules:` table', 'add `rules:` or write the expectation fields here');
        return undefined;
      }
      const idx = d.rules.findIndex((r) => matches(r.when, v));
      if (idx < 0) {
        ctx.add(['matrix'], `matrix cell ${v.policy} × ${v.fault} × ${v.cached ? 'cached' : 'uncached'} matches no rule`, 'add a rule whose `when` covers it (rules are tried top to bottom)');
        return undefined;
      }
      ruleUsed[idx] = true;
      const rule = d.rules[idx]!;
      checkExpectation(ctx, ['rules', idx, 'expect'], rule.expect);
      return { expectation: resolveExpectation(rule.expect, vars), rule: ctx.where(['rules', idx]) };
    },
  };
  return convertStep(kind, substitute(rec[kind], v), converter, ctx, [...base, kind], ctx.where(base));
}

/** Validates a step's body with its kind's schema and converts it (kinds and their conversions: schema.ts). */
function convertStep<K extends StepKind>(kind: K, body: unknown, c: StepConverter, ctx: FileContext, at: Path, where: string): Step | undefined {
  const def: StepDef<unknown, object> = STEPS[kind];
  const parsed = def.schema.safeParse(body);
  if (!parsed.success) {
    ctx.zod(at, parsed.error, def.schema);
    return undefined;
  }
  const out = def.convert(parsed.data, c);
  return out && ({ kind, ...out, where } as Step);
}

/** Combinations that validate field by field but can never be checked. */
function checkExpectation(ctx: FileContext, at: Path, e: ExpectationDoc): void {
  if (e.message !== undefined && e.outcome !== 'Rejected') {
    ctx.add([...at, 'message'], '`message` is only checked for outcome Rejected', 'remove it, or expect outcome: Rejected');
  }
  if (e.outcome === 'Rejected' && (e.version !== undefined || e.fallbackEvent !== undefined || e.startupWithin !== undefined)) {
    ctx.add([...at, 'outcome'], 'a Rejected pod never starts: version / fallbackEvent / startupWithin cannot be checked', 'keep only `message` for a Rejected expectation');
  }
  if (e.version !== undefined && e.outcome !== 'Running' && !(e.restarts && e.outcome === 'CrashLoopBackOff')) {
    ctx.add([...at, 'version'], `version is only known for a container that ran; outcome is ${e.outcome}`, 'remove `version`, or expect outcome: Running');
  }
  if (e.eventually && e.outcome !== 'Running') {
    ctx.add([...at, 'eventually'], '`eventually` watches until Running; it only goes with outcome: Running', 'remove it, or expect outcome: Running');
  }
  if (e.restartPullWithin !== undefined && e.restarts?.min === undefined) {
    ctx.add([...at, 'restartPullWithin'], '`restartPullWithin` needs `restarts: {min: N}` to have restarts to look at', 'add `restarts: {min: 2}`');
  }
}

function buildBenchmarks(ctx: FileContext, d: ScenarioDoc, vars: DurationVars, cells: Cell[]): BenchmarkSpec[] {
  const measures = new Set(cells.flatMap((c) => c.steps.filter((s) => s.kind === 'measure').map((s) => (s as { name: string }).name)));
  const out: BenchmarkSpec[] = [];
  d.benchmarks?.forEach((bm, i) => {
    const at: Path = ['benchmarks', i];
    const m = /^([a-z0-9-]+)(?:\s*([-/])\s*([a-z0-9-]+))?$/.exec(bm.value)!;
    const subject = m[1]!;
    const baseline = m[3];
    const op = m[2] === '-' ? 'difference' : m[2] === '/' ? 'ratio' : 'value';
    for (const name of [subject, baseline, bm.reference?.measure].filter((x): x is string => !!x)) {
      if (!measures.has(name)) {
        ctx.add([...at, name === bm.reference?.measure ? 'reference' : 'value'], `no measure step is named "${name}"`, `measures in this file: ${[...measures].join(', ') || 'none'}`);
      }
    }
    if ((op === 'ratio') !== (bm.unit === 'ratio')) {
      ctx.add([...at, 'unit'], `value "${bm.value}" is ${op === 'ratio' ? 'a ratio' : 'in seconds'} but unit is ${bm.unit}`, op === 'ratio' ? 'use unit: ratio' : 'use unit: s');
    }
    const terr = targetSyntaxError(bm.unit, bm.target);
    if (terr) {
      ctx.add([...at, 'target'], terr, bm.unit === 'ratio' ? 'write e.g. `1.05x`' : 'write e.g. `0.3s` or `deadline + 1s`');
      return;
    }
    if (d.benchmarks!.findIndex((o) => o.id === bm.id) !== i) ctx.add([...at, 'id'], `benchmark id ${bm.id} is used twice`, 'give each benchmark its own id');
    out.push({
      id: bm.id,
      title: bm.title,
      subject,
      ...(baseline ? { baseline } : {}),
      op,
      formula: bm.value,
      unit: bm.unit,
      target: bm.unit === 'ratio' ? parseRatio(bm.target)! : evalDuration(bm.target, vars),
      judge: bm.judge,
      ...(bm.reference ? { reference: bm.reference } : {}),
      where: ctx.where(at),
    });
  });
  return out;
}

/** Reads and validates every file; throws ScenarioFileError listing every problem of every file. */
export async function loadScenarios(files: readonly string[], cwd: string = process.cwd()): Promise<Scenario[]> {
  const problems: Problem[] = [];
  const scenarios: Scenario[] = [];
  for (const f of files) {
    const rel = relative(cwd, f);
    const shown = rel && !rel.startsWith('..') ? rel : f;
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      problems.push({ where: `${shown}:1:1`, what: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, fix: 'check the path' });
      continue;
    }
    const r = parseScenario(text, shown);
    problems.push(...r.problems);
    if (r.scenario) scenarios.push(r.scenario);
  }
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    const prev = seen.get(s.id);
    if (prev) problems.push({ where: s.where, what: `scenario id "${s.id}" is also used at ${prev}`, fix: 'give each scenario its own id (it names namespaces, repositories and results)' });
    seen.set(s.id, s.where);
  }
  if (problems.length) throw new ScenarioFileError(problems);
  return scenarios;
}

export { FAULT_MODES, POLICIES, FAULT_CLASS_NAMES, OUTCOMES };
