/**
 * The runner: the only place that sequences steps. It groups scenarios by cluster needs (one Driver per
 * group), runs each scenario's cells through Driver sessions, compares expectations with observations and
 * returns results.json's ScenarioResult / BenchmarkResult entries.
 *
 * Isolation: every cell gets its own namespace and its own repositories (`<run>/<scenario>/<cell>/<name>`),
 * so cells and scenarios never see each other's pods or tags.
 *
 * Matrices run in lockstep by fault group: the cells that set the same faults share one Session (one registry
 * fault at a time); their steps between two fault steps run side by side, each cell's in order, and each
 * fault step runs once for the group. A 60-cell matrix thus costs about one pod start per fault, plus the
 * longest wait (hang) — not 60 sequential pod starts.
 *
 * The kubelet's fallback circuit breaker is keyed by registry host and outlives a session. When a session
 * whose registry host saw an unreachable fault is followed by another session on the same host, the runner
 * waits the breaker window out before the new session's first pod — unless that session sets an unreachable
 * fault before any pod, where an open breaker changes nothing the expectations can see.
 */
import { randomUUID } from 'node:crypto';
import { cleanups } from '../../lib/run-context.ts';
import type { BenchmarkResult, FaultMode, Observation, RunResults, ScenarioResult } from '../../contract/index.ts';
import { FALLBACK_EVENT_REASON, isUnreachable } from '../../contract/index.ts';
import { describeNeeds, needsKey, realClock, type Clock, type ClusterNeeds, type Driver, type DriverFactory, type PodHandle, type Session } from '../../drivers/driver.ts';
import { evaluate, stopWhen } from './expect.ts';
import { formatSeconds } from '../format/duration.ts';
import type { Cell, LocalImage, PodTemplate, Scenario, Step } from '../format/model.ts';
import { addPhases, computeBenchmark, round, type MeasureData } from './stats.ts';

export interface RunnerOptions {
  driverFactory: DriverFactory;
  runId: string;
  labels: Record<string, string>;
  clock?: Clock;
  /** Progress lines (the command feeds them to listr2 / the log). */
  log?: (scenario: string, line: string) => void;
  /** Cells of one fault group run at most this many at a time. */
  cellConcurrency?: number;
  signal?: AbortSignal;
}

export interface ScenarioRun {
  scenario: Scenario;
  results: ScenarioResult[];
  benchmarks: BenchmarkResult[];
  durationSeconds: number;
}

export interface ClusterGroup {
  needs: ClusterNeeds;
  scenarios: Scenario[];
}

/**
 * What `runAll` tells its subscribers, in order: per group `group-start`, then `group-ready` with its waves
 * (or `group-unrunnable`), every scenario's `scenario-start` … `scenario-end` (with `line`s between), then
 * `group-release` and `group-end`. The progress view is built from these alone.
 */
export type RunEvent =
  | { type: 'group-start'; group: number; needs: ClusterNeeds; scenarios: Scenario[] }
  | { type: 'group-ready'; group: number; waves: Scenario[][] }
  | { type: 'group-unrunnable'; group: number; reason: string }
  | { type: 'scenario-start'; scenario: Scenario }
  | { type: 'line'; scenario: string; line: string }
  | { type: 'scenario-end'; run: ScenarioRun }
  | { type: 'group-release'; group: number }
  | { type: 'group-end'; group: number };

/** Scenarios whose needs differ only in worker count share a cluster with the largest count. */
export function groupByNeeds(scenarios: readonly Scenario[]): ClusterGroup[] {
  const groups = new Map<string, ClusterGroup>();
  for (const s of scenarios) {
    const key = needsKey({ ...s.needs, workers: 0 });
    const g = groups.get(key);
    if (g) {
      g.scenarios.push(s);
      g.needs = { ...g.needs, workers: Math.max(g.needs.workers, s.needs.workers) };
    } else groups.set(key, { needs: { ...s.needs }, scenarios: [s] });
  }
  return [...groups.values()];
}

/** At most this many scenarios run side by side in one wave (each has its own sessions and registries). */
export const MAX_SIDE_BY_SIDE = 6;

/**
 * A scenario that measures (benchmarks or measure steps) or expands a matrix runs alone: its figures and
 * its tight startup bounds are what the run is for, and a matrix already runs its cells side by side.
 */
export function runsAlone(s: Scenario): boolean {
  return s.benchmarks.length > 0 || s.matrix !== undefined || s.cells.some((c) => c.steps.some((x) => x.kind === 'measure'));
}

/**
 * The order a cluster group runs in: file order, with consecutive scenarios that don't run alone batched
 * into one wave that runs side by side. They are the one-to-three-pod scenarios that spend their time
 * waiting (the fallback deadline, the breaker window, a slow or flapping registry, a crash-loop back-off),
 * and they share nothing when the driver gives every session a registry of its own
 * (`Driver.sessionsIsolated`; otherwise pass max 1): own registry host (so its own kubelet breaker), fault
 * mode, namespace and repositories, and image removal goes by reference.
 */
export function waves(scenarios: readonly Scenario[], max = MAX_SIDE_BY_SIDE): Scenario[][] {
  const out: Scenario[][] = [];
  let batch: Scenario[] = [];
  const flush = () => {
    if (batch.length) out.push(batch);
    batch = [];
  };
  for (const s of scenarios) {
    if (runsAlone(s)) {
      flush();
      out.push([s]);
    } else {
      if (batch.length >= max) flush();
      batch.push(s);
    }
  }
  flush();
  return out;
}

/** The waves of a group on this driver: side by side only when its sessions are isolated. */
export function wavesFor(driver: Driver, scenarios: readonly Scenario[]): Scenario[][] {
  return waves(scenarios, driver.sessionsIsolated ? MAX_SIDE_BY_SIDE : 1);
}

/** Cells that set the same faults in the same order run together in one session. */
export function faultGroups(cells: readonly Cell[]): Cell[][] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const sig = JSON.stringify(c.steps.filter((s) => s.kind === 'fault').map((s) => (s as { mode: FaultMode }).mode));
    const g = groups.get(sig);
    if (g) g.push(c);
    else groups.set(sig, [c]);
  }
  return [...groups.values()];
}

/** A DNS-1123 label: lowercase, ≤ 63, a short hash keeps long names unique. */
export function dnsLabel(text: string, max = 63): string {
  let s = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (s.length > max) {
    let h = 0;
    for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    s = `${s.slice(0, max - 7).replace(/-+$/, '')}-${h.toString(36).slice(0, 6)}`;
  }
  return s;
}

/** Per-registry-host memory of unreachable faults, for the breaker wait. */
interface BreakerMemory {
  /** host → ms when the last unreachable fault on it ended */
  lastUnreachableEnd: Map<string, number>;
}

class CellState {
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

export class Runner {
  private readonly clock: Clock;
  private readonly runTag: string;
  private readonly breakers = new WeakMap<Driver, BreakerMemory>();

  constructor(private readonly opts: RunnerOptions) {
    this.clock = opts.clock ?? realClock;
    this.runTag = opts.runId.replace(/[^a-z0-9]/g, '').slice(-6) || randomUUID().slice(0, 6);
  }

  private readonly subscribers = new Set<(e: RunEvent) => void>();

  /** Follow the run's lifecycle (see RunEvent); returns the unsubscribe. */
  subscribe(fn: (e: RunEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private emit(e: RunEvent): void {
    for (const fn of this.subscribers) fn(e);
  }

  private log(scenario: string, line: string) {
    this.opts.log?.(scenario, line);
    this.emit({ type: 'line', scenario, line });
  }

  /** Runs every scenario, one cluster group after the other, each group wave by wave (see `waves`). */
  async runAll(scenarios: readonly Scenario[]): Promise<ScenarioRun[]> {
    const runs: ScenarioRun[] = [];
    for (const [i, group] of groupByNeeds(scenarios).entries()) {
      this.emit({ type: 'group-start', group: i, needs: group.needs, scenarios: group.scenarios });
      let driver: Driver;
      try {
        this.log('cluster', `cluster: ${describeNeeds(group.needs)}`);
        driver = await this.opts.driverFactory(group.needs, {
          runId: this.opts.runId,
          labels: this.opts.labels,
          ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        });
      } catch (err) {
        // No cluster: every expectation of the group fails with the reason, the run goes on with other groups.
        const reason = `no cluster for ${describeNeeds(group.needs)}: ${(err as Error).message}`;
        this.emit({ type: 'group-unrunnable', group: i, reason });
        for (const s of group.scenarios) runs.push(this.unrunnable(s, reason));
        continue;
      }
      const release = cleanups.add(`driver for ${describeNeeds(group.needs)}`, () => driver.close());
      const planned = wavesFor(driver, group.scenarios);
      this.emit({ type: 'group-ready', group: i, waves: planned });
      try {
        for (const wave of planned) {
          this.opts.signal?.throwIfAborted();
          // results keep file order whatever finishes first
          runs.push(...(await Promise.all(wave.map((s) => this.runScenario(driver, s)))));
        }
      } finally {
        this.emit({ type: 'group-release', group: i });
        release();
        await driver.close();
        this.emit({ type: 'group-end', group: i });
      }
    }
    return runs;
  }

  /** Every expectation of a scenario that could not run, as a failed result with the reason. */
  unrunnable(scenario: Scenario, reason: string): ScenarioRun {
    const results: ScenarioResult[] = [];
    for (const cell of scenario.cells) {
      for (const step of cell.steps) {
        if (step.kind !== 'expect') continue;
        const pod = cell.steps.find((s) => s.kind === 'pod' && s.name === step.pod) as (Step & { kind: 'pod' }) | undefined;
        results.push({
          id: resultId(scenario, cell, step.pod),
          scenario: scenario.id,
          ...(cell.vars ? { matrix: true } : {}),
          source: step.where,
          policy: cell.vars?.policy ?? pod?.policy ?? 'Always',
          fault: cell.vars?.fault ?? faultBefore(cell, pod),
          cached: cell.vars?.cached ?? false,
          expected: step.expectation,
          observed: { outcome: 'NotRun', fallbackEvent: false },
          pass: false,
          failures: [reason],
        });
      }
    }
    const benchmarks = scenario.benchmarks.map((b) => ({
      id: b.id,
      title: b.title,
      p50: NaN,
      p95: NaN,
      unit: b.unit,
      target: b.target,
      judge: b.judge,
      formula: b.formula,
      pass: false,
      failures: [reason],
      source: b.where,
    }));
    return { scenario, results, benchmarks, durationSeconds: 0 };
  }

  async runScenario(driver: Driver, scenario: Scenario): Promise<ScenarioRun> {
    this.emit({ type: 'scenario-start', scenario });
    const run = await this.scenarioRun(driver, scenario);
    this.emit({ type: 'scenario-end', run });
    return run;
  }

  private async scenarioRun(driver: Driver, scenario: Scenario): Promise<ScenarioRun> {
    const t0 = this.clock.now();
    if (driver.nodes.length < scenario.needs.workers) {
      return this.unrunnable(scenario, `the cluster has ${driver.nodes.length} worker(s), the scenario needs ${scenario.needs.workers}`);
    }
    const results: ScenarioResult[] = [];
    const states: CellState[] = [];
    for (const group of faultGroups(scenario.cells)) {
      this.opts.signal?.throwIfAborted();
      const cells = group.map((cell) => {
        const st = new CellState(
          scenario,
          cell,
          dnsLabel(`cif-${this.runTag}-${scenario.id}${cell.key ? `-${cell.key}` : ''}`),
          `${this.runTag}/${scenario.id}/${cell.key || 'main'}`,
        );
        states.push(st);
        return st;
      });
      const faults = group[0]!.steps.filter((s) => s.kind === 'fault').map((s) => (s as { mode: FaultMode }).mode);
      const sessionId = `${scenario.id}${faults.length && scenario.matrix ? `-${faults.join('-')}` : ''}`;
      this.log(scenario.id, `${sessionId}: ${cells.length} cell${cells.length === 1 ? '' : 's'}`);
      let session: Session;
      try {
        session = await driver.openSession({ id: dnsLabel(sessionId), labels: { ...this.opts.labels, 'cif.scenario': scenario.id } });
      } catch (err) {
        for (const st of cells) st.broken = `opening the registry session failed: ${(err as Error).message}`;
        for (const st of cells) results.push(...this.brokenResults(st));
        continue;
      }
      try {
        await this.runGroup(driver, session, cells, results);
      } finally {
        const host = session.registryHost;
        const mem = this.memory(driver);
        if (faults.some(isUnreachable)) mem.lastUnreachableEnd.set(host, this.clock.now());
        await session.close().catch((err: Error) => this.log(scenario.id, `closing ${sessionId} failed: ${err.message}`));
      }
    }
    crossCheck(results);
    const benchmarks = scenario.benchmarks.map((b) => {
      const merged = new Map<string, MeasureData>();
      for (const st of states) for (const [k, v] of st.measures) merged.set(k, v);
      return computeBenchmark(b, merged, b.where);
    });
    const passed = results.filter((r) => r.pass).length;
    this.log(scenario.id, `${scenario.id}: ${passed}/${results.length} expectations met${benchmarks.length ? `, ${benchmarks.filter((b) => b.pass).length}/${benchmarks.length} benchmarks on target` : ''}`);
    return { scenario, results, benchmarks, durationSeconds: round((this.clock.now() - t0) / 1000, 1) };
  }

  private memory(driver: Driver): BreakerMemory {
    let m = this.breakers.get(driver);
    if (!m) this.breakers.set(driver, (m = { lastUnreachableEnd: new Map() }));
    return m;
  }

  /** Waits out a breaker another session may have opened on this registry host (see the file comment). */
  private async quietBreaker(driver: Driver, session: Session, cells: CellState[]): Promise<void> {
    const window = cells[0]!.scenario.needs.kubelet.imagePullFallbackCircuitBreakerWindow;
    const end = this.memory(driver).lastUnreachableEnd.get(session.registryHost);
    if (!window || end === undefined) return;
    const steps = cells[0]!.cell.steps;
    const firstPod = steps.findIndex((s) => s.kind === 'pod' || s.kind === 'measure' || (s.kind === 'cache' && s.via === 'kubelet'));
    const firstUnreachable = steps.findIndex((s) => s.kind === 'fault' && isUnreachable(s.mode));
    if (firstPod < 0 || (firstUnreachable >= 0 && firstUnreachable < firstPod)) return;
    const waitMs = end + (window + 2) * 1000 - this.clock.now();
    if (waitMs <= 0) return;
    this.log(cells[0]!.scenario.id, `waiting ${formatSeconds(waitMs / 1000)} for the kubelet's fallback circuit breaker on ${session.registryHost} to close`);
    await this.clock.sleep(waitMs);
  }

  private async runGroup(driver: Driver, session: Session, cells: CellState[], results: ScenarioResult[]): Promise<void> {
    await this.quietBreaker(driver, session, cells);
    // Split every cell's steps at its fault steps; segment k of all cells runs side by side, then fault k once.
    const segments = cells.map((st) => splitAtFaults(st.cell.steps));
    const rounds = Math.max(...segments.map((s) => s.segments.length));
    let fault: FaultMode = 'none';
    for (let k = 0; k < rounds; k++) {
      this.opts.signal?.throwIfAborted();
      await this.limit(
        cells.map((st, i) => async () => {
          for (const step of segments[i]!.segments[k] ?? []) {
            if (st.broken && step.kind !== 'expect') continue;
            results.push(...(await this.runStep(driver, session, st, step, fault)));
          }
        }),
      );
      const faultStep = segments[0]!.faults[k];
      if (faultStep) {
        this.log(cells[0]!.scenario.id, `fault: ${faultStep.mode}`);
        try {
          if (faultStep.mode === 'none') await bounded(session.clearFault(), CALL_BOUND_MS, 'clearing the fault');
          else await bounded(session.setFault(faultStep.mode), CALL_BOUND_MS, `setting fault ${faultStep.mode}`);
          if (isUnreachable(fault) && !isUnreachable(faultStep.mode)) this.memory(driver).lastUnreachableEnd.set(session.registryHost, this.clock.now());
          fault = faultStep.mode;
        } catch (err) {
          for (const st of cells) st.broken ??= `setting fault ${faultStep.mode} (${faultStep.where}) failed: ${(err as Error).message}`;
        }
      }
    }
  }

  /** Runs tasks with at most cellConcurrency in flight. */
  private async limit(tasks: (() => Promise<void>)[]): Promise<void> {
    const n = Math.max(1, this.opts.cellConcurrency ?? 12);
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) await tasks[next++]!();
    };
    await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  }

  private brokenResults(st: CellState): ScenarioResult[] {
    return st.cell.steps
      .filter((s): s is Step & { kind: 'expect' } => s.kind === 'expect')
      .map((s) => this.failedExpect(st, s, st.broken ?? 'not run', 'none'));
  }

  private failedExpect(st: CellState, step: Step & { kind: 'expect' }, reason: string, fault: FaultMode): ScenarioResult {
    const pod = st.pods.get(step.pod);
    return {
      id: resultId(st.scenario, st.cell, step.pod),
      scenario: st.scenario.id,
      ...(st.cell.vars ? { matrix: true } : {}),
      source: step.rule ? `${step.where} (rule ${step.rule})` : step.where,
      policy: pod?.policy ?? st.cell.vars?.policy ?? 'Always',
      fault: pod?.fault ?? st.cell.vars?.fault ?? fault,
      cached: pod?.cached ?? st.cell.vars?.cached ?? false,
      expected: step.expectation,
      observed: { outcome: 'NotRun', fallbackEvent: false },
      pass: false,
      failures: [reason],
    };
  }

  private async runStep(driver: Driver, session: Session, st: CellState, step: Step, fault: FaultMode): Promise<ScenarioResult[]> {
    const sid = st.scenario.id;
    const node = (i: number) => driver.nodes[i]!;
    try {
      switch (step.kind) {
        case 'push':
          await bounded(session.pushImage(st.ref(step.image), step.version, { private: step.private }), CALL_BOUND_MS, 'push');
          return [];
        case 'delete-tag':
          await bounded(session.deleteTag(st.ref(step.image)), CALL_BOUND_MS, 'delete-tag');
          return [];
        case 'cache':
          if (step.via === 'runtime') await bounded(session.cacheOnNode(node(step.node), st.ref(step.image)), CALL_BOUND_MS, 'cache');
          else await this.cacheViaKubelet(session, st, step, node(step.node));
          st.markCached(step.node, step.image, true);
          return [];
        case 'uncache':
          await bounded(session.uncacheOnNode(node(step.node), st.ref(step.image)), CALL_BOUND_MS, 'uncache');
          st.markCached(step.node, step.image, false);
          return [];
        case 'wait':
          this.log(sid, `wait ${formatSeconds(step.seconds)}`);
          await this.clock.sleep(step.seconds * 1000);
          return [];
        case 'fault':
          return []; // run once per group by runGroup
        case 'pod': {
          const cached = st.isCached(step.node, step.image);
          const r = await session.createPod({
            namespace: st.namespace,
            name: step.name,
            node: node(step.node),
            image: st.ref(step.image),
            policy: step.policy,
            pullSecret: step.pullSecret,
            command: step.command,
            labels: { ...this.opts.labels, 'cif.scenario': sid, ...(st.cell.key ? { 'cif.cell': st.cell.key } : {}) },
          });
          st.pods.set(step.name, {
            ...('created' in r ? { handle: r.created } : { rejected: r.rejected }),
            policy: step.policy,
            fault,
            cached,
            node: step.node,
            where: step.where,
          });
          return [];
        }
        case 'expect':
          return [await this.expect(session, st, step, fault)];
        case 'measure':
          await this.measure(driver, session, st, step, fault);
          return [];
      }
    } catch (err) {
      if (step.kind === 'expect') return [this.failedExpect(st, step, `observing failed: ${(err as Error).message}`, fault)];
      st.broken ??= `step at ${step.where} (${step.kind}) failed: ${(err as Error).message}`;
      this.log(sid, st.broken);
      return [];
    }
  }

  private async expect(session: Session, st: CellState, step: Step & { kind: 'expect' }, fault: FaultMode): Promise<ScenarioResult> {
    if (st.broken) return this.failedExpect(st, step, st.broken, fault);
    const pod = st.pods.get(step.pod)!;
    const e = step.expectation;
    const t0 = this.clock.now();
    let observed: Observation;
    if (pod.rejected !== undefined) observed = { outcome: 'Rejected', message: pod.rejected, fallbackEvent: false };
    else {
      const timeoutMs = (e.timeoutSeconds ?? 120) * 1000;
      observed = await bounded(session.observe(pod.handle!, { timeoutMs, until: stopWhen(e) }), timeoutMs + OBSERVE_GRACE_MS, `observing ${step.pod}`);
    }
    const podStep = st.cell.steps.find((s): s is Step & { kind: 'pod' } => s.kind === 'pod' && s.name === step.pod);
    // a pod that ran has its image on the node now, whatever put it there
    if (observed.outcome === 'Running' && podStep) st.markCached(pod.node, podStep.image, true);
    const failures = evaluate(e, observed);
    const result: ScenarioResult = {
      id: resultId(st.scenario, st.cell, step.pod),
      scenario: st.scenario.id,
      ...(st.cell.vars ? { matrix: true } : {}),
      source: step.rule ? `${step.where} (rule ${step.rule})` : step.where,
      policy: pod.policy,
      fault: pod.fault,
      cached: pod.cached,
      expected: e,
      observed,
      pass: failures.length === 0,
      durationSeconds: round((this.clock.now() - t0) / 1000, 1),
      ...(failures.length ? { failures } : {}),
    };
    this.log(st.scenario.id, `${result.pass ? 'pass' : 'FAIL'} ${result.id}${failures.length ? `: ${failures[0]}` : ''}`);
    return result;
  }

  /** Caches an image the way KEP-2535 records it: a short-lived Always pod (with the pull secret) pulls it. */
  private async cacheViaKubelet(session: Session, st: CellState, step: Step & { kind: 'cache' }, nodeName: string): Promise<void> {
    const name = dnsLabel(`cache-${step.image.name}-${step.image.tag}`);
    const r = await session.createPod({
      namespace: st.namespace,
      name,
      node: nodeName,
      image: st.ref(step.image),
      policy: 'Always',
      pullSecret: step.pullSecret,
      command: 'serve',
      labels: { ...this.opts.labels, 'cif.scenario': st.scenario.id },
    });
    if (!('created' in r)) throw new Error(`the caching pod was rejected: ${r.rejected}`);
    const o = await session.observe(r.created, { timeoutMs: 120_000, until: stopWhen({ outcome: 'Running' }) });
    if (o.outcome !== 'Running') throw new Error(`the caching pod did not run: ${o.outcome}${o.message ? ` (${o.message})` : ''}`);
    await session.deletePod(r.created);
  }

  private async measure(driver: Driver, session: Session, st: CellState, step: Step & { kind: 'measure' }, fault: FaultMode): Promise<void> {
    const e = step.expectation ?? { outcome: 'Running' };
    const data: MeasureData = { samples: [], failures: [] };
    st.measures.set(step.name, data);
    this.log(st.scenario.id, `measure ${step.name}: ${step.pods} ${step.template.policy} pods (${step.concurrency}), fault ${fault}`);
    const create = async (i: number): Promise<PodHandle | undefined> => {
      const image = step.images[i % step.images.length]!;
      const r = await session.createPod({
        namespace: st.namespace,
        name: `${step.name}-${i + 1}`,
        node: driver.nodes[step.template.node]!,
        image: st.ref(image),
        policy: step.template.policy,
        pullSecret: step.template.pullSecret,
        command: step.template.command,
        labels: { ...this.opts.labels, 'cif.scenario': st.scenario.id, 'cif.measure': step.name },
      });
      if ('created' in r) return r.created;
      data.failures.push(`pod ${i + 1} was rejected: ${r.rejected}`);
      return undefined;
    };
    const watch = async (i: number, h: PodHandle | undefined) => {
      if (!h) return;
      const o = await bounded(session.observe(h, { timeoutMs: step.timeoutSeconds * 1000, until: stopWhen(e) }), step.timeoutSeconds * 1000 + OBSERVE_GRACE_MS, `observing ${h.name}`);
      const f = evaluate(e, o);
      data.outcome ??= o.outcome;
      const sample = step.sample === 'pull-to-fallback' ? pullToFallbackSeconds(o) : o.startupSeconds;
      addPhases(data, podPhases(o));
      if (f.length) data.failures.push(`pod ${i + 1}: ${f.join('; ')}`);
      else if (sample !== undefined) data.samples.push(sample);
      else data.failures.push(`pod ${i + 1}: no ${step.sample === 'pull-to-fallback' ? 'Pulling → PullFailedUsingCached interval' : 'startup time'} observed`);
    };
    if (step.concurrency === 'all') {
      const handles = await Promise.all(Array.from({ length: step.pods }, (_, i) => create(i)));
      await Promise.all(handles.map((h, i) => watch(i, h)));
    } else {
      for (let i = 0; i < step.pods; i++) await watch(i, await create(i));
    }
  }
}

/**
 * One pod's start, cut at the events the watch saw: creation → Pulling (the sandbox: network, pause
 * container — before any pull), Pulling → PullFailedUsingCached or → Pulled (the registry and the
 * deadline), then → Running (container start and the kubelet's status report). Only a pod that ran has
 * the last interval; a pod that never pulled (IfNotPresent, cached) has just creation → Running.
 */
export function podPhases(o: Observation): { name: string; seconds: number }[] {
  const timeline = o.timeline ?? [];
  const first = (reason: string) => timeline.find((t) => t.reason === reason)?.atSeconds;
  const pulling = first('Pulling');
  const fallback = first(FALLBACK_EVENT_REASON);
  const pulled = first('Pulled');
  const end = o.outcome === 'Running' ? o.startupSeconds : undefined;
  const phases: { name: string; seconds: number }[] = [];
  const add = (name: string, from: number | undefined, to: number | undefined) => {
    if (from !== undefined && to !== undefined && to >= from) phases.push({ name, seconds: round(to - from) });
  };
  if (pulling === undefined) {
    add('creation → Running', 0, end);
    return phases;
  }
  add('creation → Pulling', 0, pulling);
  const answered = fallback !== undefined && fallback >= pulling ? { name: 'fallback', at: fallback } : pulled !== undefined && pulled >= pulling ? { name: 'Pulled', at: pulled } : undefined;
  if (answered) {
    add(`Pulling → ${answered.name}`, pulling, answered.at);
    add(`${answered.name} → Running`, answered.at, end);
  }
  return phases;
}

/**
 * The first Pulling → the first PullFailedUsingCached in the watch's timeline: how long the kubelet tried
 * the registry before it fell back, the interval its fallback deadline bounds.
 */
export function pullToFallbackSeconds(o: Observation): number | undefined {
  return podPhases(o).find((p) => p.name === 'Pulling → fallback')?.seconds;
}

/**
 * Bounds a driver call in real time: an adapter that never returns must not hang the run. Tests with a
 * virtual clock resolve at once, so the timer is always cleared.
 */
export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not return within ${formatSeconds(ms / 1000)}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Grace beyond an observe timeout before the runner gives up on the driver; and the bound for other calls. */
const OBSERVE_GRACE_MS = 60_000;
const CALL_BOUND_MS = 10 * 60_000;

function splitAtFaults(steps: readonly Step[]): { segments: Step[][]; faults: (Step & { kind: 'fault' })[] } {
  const segments: Step[][] = [[]];
  const faults: (Step & { kind: 'fault' })[] = [];
  for (const s of steps) {
    if (s.kind === 'fault') {
      faults.push(s);
      segments.push([]);
    } else segments[segments.length - 1]!.push(s);
  }
  return { segments, faults };
}

function faultBefore(cell: Cell, pod: Step | undefined): FaultMode {
  let f: FaultMode = 'none';
  for (const s of cell.steps) {
    if (s === pod) break;
    if (s.kind === 'fault') f = s.mode;
  }
  return f;
}

export function resultId(s: Scenario, cell: Cell, pod: string): string {
  if (!cell.vars) return `${s.id}/${pod}`;
  const expects = cell.steps.filter((x) => x.kind === 'expect').length;
  const base = `${s.id}/${cell.vars.policy}/${cell.vars.fault}/${cell.vars.cached ? 'cached' : 'uncached'}`;
  return expects > 1 ? `${base}/${pod}` : base;
}

/** sameOutcomeAs: compares a cell with the cell of the named policy under the same fault and cache state. */
export function crossCheck(results: ScenarioResult[]): void {
  for (const r of results) {
    const other = r.expected.sameOutcomeAs;
    if (!other) continue;
    const ref = results.find((x) => x.policy === other && x.fault === r.fault && x.cached === r.cached && x.scenario === r.scenario);
    const failures = r.failures ?? [];
    if (!ref) failures.push(`no ${other} cell with fault ${r.fault}, ${r.cached ? 'cached' : 'uncached'} to compare with`);
    else if (ref.observed.outcome !== r.observed.outcome) {
      failures.push(`behaves unlike ${other}: ${other} → ${ref.observed.outcome}, this → ${r.observed.outcome}`);
    }
    if (failures.length) {
      r.failures = failures;
      r.pass = false;
    }
  }
}

/** N passed, N failed over expectations and benchmarks. */
export function tally(runs: readonly ScenarioRun[]): { passed: number; failed: number } {
  let passed = 0;
  let failed = 0;
  for (const r of runs) {
    for (const x of [...r.results, ...r.benchmarks]) x.pass ? passed++ : failed++;
  }
  return { passed, failed };
}

export interface RunMeta {
  kubernetes: string;
  series: string;
  runId: string;
  driver: 'cluster' | 'simulated';
  startedAt: Date;
  finishedAt: Date;
  host?: RunResults['host'];
}

/** results.json from the scenario runs. */
export function toRunResults(runs: readonly ScenarioRun[], meta: RunMeta): RunResults {
  return {
    kubernetes: meta.kubernetes,
    series: meta.series,
    runId: meta.runId,
    driver: meta.driver,
    startedAt: meta.startedAt.toISOString(),
    durationSeconds: round((meta.finishedAt.getTime() - meta.startedAt.getTime()) / 1000, 1),
    ...(meta.host ? { host: meta.host } : {}),
    titles: Object.fromEntries(runs.map((r) => [r.scenario.id, r.scenario.title])),
    scenarios: runs.flatMap((r) => r.results),
    benchmarks: runs.flatMap((r) => r.benchmarks),
  };
}
