import { describe, expect, it } from 'vitest';
import { FakeClock, fakeDriverFactory } from '../drivers/model/driver.ts';
import { defaultScenarioFiles } from './main.ts';
import { loadScenarios } from '../scenario/format/loader.ts';
import { runWithProgress } from './progress.ts';
import { Runner, type RunEvent, type ScenarioRun } from '../scenario/engine/runner.ts';
import type { DriverFactory } from '../drivers/driver.ts';

const runner = (factory: DriverFactory, clock: FakeClock) => new Runner({ driverFactory: factory, runId: '20260101-000000-beef', labels: {}, clock });
const cells = (runs: ScenarioRun[]) => runs.flatMap((r) => r.results.map((x) => `${x.id} ${x.pass} ${x.observed.outcome} ${x.observed.version ?? ''}`));

describe('one scheduler, one subscriber', () => {
  it('runAll tells its lifecycle in order: group, waves, scenarios, release', async () => {
    const all = await loadScenarios(await defaultScenarioFiles());
    const clock = new FakeClock();
    const r = runner(fakeDriverFactory({ clock, registryPerSession: true }).factory, clock);
    const events: RunEvent[] = [];
    r.subscribe((e) => events.push(e));
    const runs = await r.runAll(all);
    const kinds = events.filter((e) => e.type !== 'line').map((e) => e.type);
    expect(kinds[0]).toBe('group-start');
    expect(kinds.at(-1)).toBe('group-end');
    expect(kinds.filter((k) => k === 'scenario-end')).toHaveLength(runs.length);
    expect(kinds.filter((k) => k === 'group-start')).toHaveLength(kinds.filter((k) => k === 'group-end').length);
    const waves = events.flatMap((e) => (e.type === 'group-ready' ? e.waves : []));
    expect(waves.flat().map((s) => s.id).sort()).toEqual(all.map((s) => s.id).sort());
    expect(waves.some((w) => w.length > 1)).toBe(true);
  });

  it('the progress view only follows: the same runs as runAll alone, and an unrunnable group still ends', async () => {
    const all = await loadScenarios(await defaultScenarioFiles());
    const c1 = new FakeClock();
    const alone = await runner(fakeDriverFactory({ clock: c1, registryPerSession: true }).factory, c1).runAll(all);
    const c2 = new FakeClock();
    const viewed = await runWithProgress(runner(fakeDriverFactory({ clock: c2, registryPerSession: true }).factory, c2), all);
    expect(cells(viewed)).toEqual(cells(alone));

    const c3 = new FakeClock();
    const broken: DriverFactory = async () => {
      throw new Error('kind create failed');
    };
    const none = await runWithProgress(runner(broken, c3), all.slice(0, 2));
    expect(none.flatMap((r) => r.results).every((x) => !x.pass && x.failures?.[0]?.includes('kind create failed'))).toBe(true);
  });
});
