/**
 * The engine's output in results.json's terms: one builder for an expectation's result (observed, not run,
 * or broken), the cross-cell check, and the run's RunResults.
 */
import type { Expectation, FaultMode, Observation, RunResults, ScenarioResult } from '../../contract/index.ts';
import type { Scenario } from '../format/model.ts';
import { round } from './stats.ts';
import type { ScenarioRun } from './runner.ts';

/** The one shape of an expectation's result; `failures` empty → passed. */
export function expectationResult(r: {
  id: string;
  scenario: Scenario;
  matrix: boolean;
  source: string;
  policy: ScenarioResult['policy'];
  fault: FaultMode;
  cached: boolean;
  expected: Expectation;
  observed?: Observation;
  failures: string[];
  durationSeconds?: number;
}): ScenarioResult {
  return {
    id: r.id,
    scenario: r.scenario.id,
    ...(r.matrix ? { matrix: true } : {}),
    source: r.source,
    policy: r.policy,
    fault: r.fault,
    cached: r.cached,
    expected: r.expected,
    observed: r.observed ?? { outcome: 'NotRun', fallbackEvent: false },
    pass: r.failures.length === 0,
    ...(r.durationSeconds !== undefined ? { durationSeconds: r.durationSeconds } : {}),
    ...(r.failures.length ? { failures: r.failures } : {}),
  };
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
