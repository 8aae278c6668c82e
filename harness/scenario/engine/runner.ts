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
 * Each step runs through its handler in steps/ (a table keyed by kind); the waits for the kubelet's
 * fallback circuit breaker between sessions are breaker.ts's; what runs when is schedule.ts's.
 */
import { randomUUID } from 'node:crypto';
import { cleanups } from '../../lib/run-context.ts';
import { isUnreachable, type BenchmarkResult, type FaultMode, type ScenarioResult } from '../../contract/index.ts';
import { describeNeeds, realClock, type Clock, type ClusterNeeds, type Driver, type DriverFactory, type Session } from '../../drivers/driver.ts';
import { formatSeconds } from '../format/duration.ts';
import type { Scenario, Step } from '../format/model.ts';
import { bounded, CALL_BOUND_MS } from './bounded.ts';
import { BreakerMemory } from './breaker.ts';
import { CellState, faultBefore, resultId } from './cell.ts';
import { crossCheck, expectationResult } from './results.ts';
import { dnsLabel, faultGroups, groupByNeeds, splitAtFaults, wavesFor } from './schedule.ts';
import { computeBenchmark, round, type MeasureData } from './stats.ts';
import { failedExpect, handlerFor, type StepContext } from './steps/index.ts';

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

export class Runner {
  private readonly clock: Clock;
  private readonly runTag: string;
  private readonly breakers = new WeakMap<Driver, BreakerMemory>();

  private memory(driver: Driver): BreakerMemory {
    let m = this.breakers.get(driver);
    if (!m) this.breakers.set(driver, (m = new BreakerMemory()));
    return m;
  }

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
        results.push(
          expectationResult({
            id: resultId(scenario, cell, step.pod),
            scenario,
            matrix: cell.vars !== undefined,
            source: step.where,
            policy: cell.vars?.policy ?? pod?.policy ?? 'Always',
            fault: cell.vars?.fault ?? faultBefore(cell, pod),
            cached: cell.vars?.cached ?? false,
            expected: step.expectation,
            failures: [reason],
          }),
        );
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
        if (faults.some(isUnreachable)) mem.unreachableEnded(host, this.clock.now());
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

  private async runGroup(driver: Driver, session: Session, cells: CellState[], results: ScenarioResult[]): Promise<void> {
    const waitMs = this.memory(driver).waitBefore(session.registryHost, cells[0]!.scenario, cells[0]!.cell, this.clock.now());
    if (waitMs > 0) {
      this.log(cells[0]!.scenario.id, `waiting ${formatSeconds(waitMs / 1000)} for the kubelet's fallback circuit breaker on ${session.registryHost} to close`);
      await this.clock.sleep(waitMs);
    }
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
          if (isUnreachable(fault) && !isUnreachable(faultStep.mode)) this.memory(driver).unreachableEnded(session.registryHost, this.clock.now());
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
      .map((s) => failedExpect(st, s, st.broken ?? 'not run', 'none'));
  }

  /** One step through its handler (steps/); a failure breaks the cell, or fails the expectation it was. */
  private async runStep(driver: Driver, session: Session, st: CellState, step: Step, fault: FaultMode): Promise<ScenarioResult[]> {
    const sid = st.scenario.id;
    const ctx: StepContext = { driver, session, cell: st, fault, clock: this.clock, labels: this.opts.labels, log: (line) => this.log(sid, line) };
    try {
      const handler: (s: Step, c: StepContext) => Promise<ScenarioResult[] | void> = await handlerFor(step.kind);
      return (await handler(step, ctx)) ?? [];
    } catch (err) {
      if (step.kind === 'expect') return [failedExpect(st, step, `observing failed: ${(err as Error).message}`, fault)];
      st.broken ??= `step at ${step.where} (${step.kind}) failed: ${(err as Error).message}`;
      this.log(sid, st.broken);
      return [];
    }
  }
}

