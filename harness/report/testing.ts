/**
 * A realistic RunResults for the renderer tests: the fault matrix, a plain scenario and P2, run against the
 * contract model with a kubelet that wrongly falls back on 401/403/404 — so there are failing cells.
 */
import { join } from 'node:path';
import { FakeClock, fakeDriverFactory } from '../drivers/model/driver.ts';
import { loadScenarios } from '../scenario/format/loader.ts';
import { SCENARIOS_DIR } from '../app/main.ts';
import { Runner } from '../scenario/engine/runner.ts';
import { toRunResults } from '../scenario/engine/results.ts';
import type { RunResults } from '../contract/index.ts';

export async function fixtureResults(): Promise<RunResults> {
  const files = ['02-fault-matrix.yaml', '05-two-nodes.yaml', 'p2-blackhole-deadline.yaml'].map((f) => join(SCENARIOS_DIR, f));
  const scenarios = await loadScenarios(files);
  const clock = new FakeClock(Date.UTC(2026, 10, 27, 12));
  const { factory } = fakeDriverFactory({ clock, bugs: { fallbackOnDenied: true } });
  const startedAt = new Date(clock.now());
  const runs = await new Runner({ driverFactory: factory, runId: 'fixture-run', labels: {}, clock }).runAll(scenarios);
  return toRunResults(runs, {
    kubernetes: 'v1.34.4',
    series: 'abc123 (5 patches)',
    runId: 'fixture-run',
    driver: 'simulated',
    startedAt,
    finishedAt: new Date(clock.now()),
  });
}
