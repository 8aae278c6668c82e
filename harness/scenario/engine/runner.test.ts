import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock, fakeDriverFactory, type FakeBugs } from '../../drivers/model/driver.ts';
import { defaultScenarioFiles } from '../../app/main.ts';
import { loadScenarios, parseScenario } from '../format/loader.ts';
import type { Scenario } from '../format/model.ts';
import { Runner, type ScenarioRun } from './runner.ts';
import { bounded } from './bounded.ts';
import { podPhases, pullToFallbackSeconds } from './measurement.ts';
import { dnsLabel, groupByNeeds, runsAlone, waves } from './schedule.ts';

/** N passed, N failed over expectations and benchmarks. */
function tally(runs: readonly ScenarioRun[]): { passed: number; failed: number } {
  const all = runs.flatMap((r) => [...r.results, ...r.benchmarks]);
  return { passed: all.filter((x) => x.pass).length, failed: all.filter((x) => !x.pass).length };
}
import type { DriverFactory } from '../../drivers/driver.ts';
import { SCENARIOS_DIR } from '../../app/main.ts';

async function runWith(scenarios: Scenario[], opts: { bugs?: FakeBugs; registryPerSession?: boolean; failOn?: 'pushImage' | 'setFault' | 'createPod' } = {}) {
  const clock = new FakeClock();
  const { factory, clusters } = fakeDriverFactory({ clock, ...opts });
  const lines: string[] = [];
  const runner = new Runner({ driverFactory: factory, runId: '20260101-000000-beef', labels: { 'cif.run': 'r' }, clock, log: (_, l) => lines.push(l) });
  const t0 = clock.now();
  const runs = await runner.runAll(scenarios);
  return { runs, lines, clusters, seconds: (clock.now() - t0) / 1000 };
}

const find = (runs: ScenarioRun[], id: string) => runs.flatMap((r) => r.results).find((r) => r.id === id)!;
const yaml = (text: string) => {
  const r = parseScenario(text, 'inline.yaml');
  if (!r.scenario) throw new Error(JSON.stringify(r.problems));
  return r.scenario;
};

describe('runner against the contract model', () => {
  it('the whole default set passes against a kubelet that keeps the contract', async () => {
    const all = await loadScenarios(await defaultScenarioFiles());
    const { runs, clusters } = await runWith(all);
    const t = tally(runs);
    const failures = runs.flatMap((r) => [...r.results, ...r.benchmarks]).filter((x) => !x.pass);
    expect(failures.map((f) => `${f.id}: ${f.failures?.join('; ')}`)).toEqual([]);
    expect(t.passed).toBe(runs.reduce((n, r) => n + r.results.length + r.benchmarks.length, 0));
    expect(t.passed).toBeGreaterThan(80);
    // main (breaker 30 s), breaker-off (matrix, P1, P2), gate off, KEP-2535 — two-nodes joins main with 2 workers
    expect(clusters.map((c) => c.needs.workers)).toEqual([2, 1, 1, 1]);
  });

  it('with a registry per session, the waiting scenarios run side by side: same outcomes, less time', async () => {
    const all = await loadScenarios(await defaultScenarioFiles());
    const outcomes = (runs: ScenarioRun[]) => runs.flatMap((r) => r.results.map((x) => `${x.id} ${x.pass} ${x.observed.outcome} ${x.observed.version ?? ''}`));
    const side = await runWith(all, { registryPerSession: true });
    const failures = side.runs.flatMap((r) => [...r.results, ...r.benchmarks]).filter((x) => !x.pass);
    expect(failures.map((f) => `${f.id}: ${f.failures?.join('; ')}`)).toEqual([]);
    // one at a time: a driver that does not promise isolated sessions never gets scenarios side by side
    const alone = await runWith(all);
    expect(outcomes(side.runs)).toEqual(outcomes(alone.runs));
    expect(side.runs.map((r) => r.scenario.id)).toEqual(alone.runs.map((r) => r.scenario.id));
    // recovery, two-nodes, crash-loop, slow and flapping (~3 min of waiting one after the other) overlap
    expect(alone.seconds - side.seconds).toBeGreaterThan(90);
  });

  it('a kubelet that falls back on 401/403/404 fails exactly those cells, with readable reasons', async () => {
    const [m] = await loadScenarios([join(SCENARIOS_DIR, '02-fault-matrix.yaml')]);
    const { runs } = await runWith([m!], { bugs: { fallbackOnDenied: true } });
    const failed = runs[0]!.results.filter((r) => !r.pass);
    expect(failed.map((r) => r.id).sort()).toEqual([
      'fault-matrix/CachedIfFailed/forbidden/cached',
      'fault-matrix/CachedIfFailed/not-found/cached',
      'fault-matrix/CachedIfFailed/unauthorized/cached',
    ]);
    const r = find(runs, 'fault-matrix/CachedIfFailed/unauthorized/cached');
    expect(r.pass).toBe(false);
    expect(r.failures).toContain('behaves unlike Always: Always → ErrImagePull, this → Running');
    expect(r.failures![0]).toMatch(/^expected ErrImagePull, observed Running after/);
    expect(r.failures!.some((f) => f.startsWith('expected no PullFailedUsingCached event; got one: '))).toBe(true);
    expect(r.source).toMatch(/02-fault-matrix\.yaml:\d+:\d+ \(rule .*02-fault-matrix\.yaml:\d+:\d+\)/);
  });

  it('a kubelet without the deadline fails the blackhole/hang cells and P2, not the others', async () => {
    const files = ['02-fault-matrix.yaml', 'p2-blackhole-deadline.yaml'].map((f) => join(SCENARIOS_DIR, f));
    // one registry per session, as the cluster driver does (the matrix keeps the breaker on and relies on it)
    const { runs } = await runWith(await loadScenarios(files), { bugs: { noDeadline: true }, registryPerSession: true });
    const failed = runs.flatMap((r) => [...r.results, ...r.benchmarks]).filter((r) => !r.pass).map((r) => r.id).sort();
    expect(failed).toEqual(['P2', 'fault-matrix/CachedIfFailed/blackhole/cached', 'fault-matrix/CachedIfFailed/hang/cached']);
    const hang = find(runs, 'fault-matrix/CachedIfFailed/hang/cached');
    expect(hang.observed).toMatchObject({ outcome: 'ContainerCreating', timedOut: true, waitedSeconds: 120 });
    expect(hang.failures![0]).toBe('expected Running, observed ContainerCreating (still, after watching 120 s)');
  });

  it('gate off: a cluster whose API server accepts CachedIfFailed fails the gate-off scenario', async () => {
    const [g] = await loadScenarios([join(SCENARIOS_DIR, '04-gate-off.yaml')]);
    const ok = await runWith([g!]);
    expect(find(ok.runs, 'gate-off/cachedifailed')).toMatchObject({ pass: true, observed: { outcome: 'Rejected' } });
    const bad = await runWith([g!], { bugs: { gateOffAccepts: true } });
    expect(find(bad.runs, 'gate-off/cachedifailed').failures![0]).toMatch(/^expected Rejected, observed Running/);
  });

  it('delete-pod removes a pod an earlier step made; deleting one never made breaks the cell', async () => {
    const s = yaml(`id: again\ntitle: A\nsteps:\n  - push: {image: a:b, version: v1}\n  - pod: {name: p, image: a:b, policy: Always, node: worker-1}\n  - expect: {pod: p, outcome: Running, version: v1}\n  - delete-pod: {pod: p}\n  - fault: refused\n  - pod: {name: q, image: a:b, policy: IfNotPresent, node: worker-1}\n  - expect: {pod: q, outcome: Running, version: v1}\n`);
    const { runs } = await runWith([s]);
    expect(runs[0]!.results.map((r) => [r.id, r.pass])).toEqual([
      ['again/p', true],
      ['again/q', true],
    ]);
    const bad = yaml(`id: bad\ntitle: B\nsteps:\n  - push: {image: a:b, version: v1}\n  - delete-pod: {pod: nope}\n  - pod: {name: p, image: a:b, policy: Always, node: worker-1}\n  - expect: {pod: p, outcome: Running}\n`);
    const broken = await runWith([bad]);
    expect(broken.runs[0]!.results[0]!.failures![0]).toMatch(/\(delete-pod\) failed: no pod "nope"/);
  });

  it('a failing step fails its cell’s expectations with the reason and the run goes on', async () => {
    const s = yaml(`id: broken\ntitle: B\nsteps:\n  - push: {image: a:b, version: v1}\n  - pod: {name: p, image: a:b, policy: Always, node: worker-1}\n  - expect: {pod: p, outcome: Running, version: v1}\n`);
    const s2 = yaml(`id: fine\ntitle: F\nsteps:\n  - push: {image: a:b, version: v1}\n  - pod: {name: p, image: a:b, policy: Always, node: worker-1}\n  - expect: {pod: p, outcome: Running, version: v1}\n`);
    const { runs } = await runWith([s, s2], { failOn: 'pushImage' });
    expect(find(runs, 'broken/p')).toMatchObject({ pass: false, observed: { outcome: 'NotRun' } });
    expect(find(runs, 'broken/p').failures![0]).toBe('step at inline.yaml:4:5 (push) failed: fake pushImage failure');
    expect(find(runs, 'fine/p').pass).toBe(true);
  });

  it('no cluster for a group: its expectations fail with why, other groups still run', async () => {
    const a = yaml(`id: a\ntitle: A\ncluster: {gate: off}\nsteps:\n  - push: {image: a:b, version: v1}\n  - pod: {name: p, image: a:b, policy: Always, node: worker-1}\n  - expect: {pod: p, outcome: Running}\n`);
    const b = yaml(`id: b\ntitle: B\nsteps:\n  - push: {image: a:b, version: v1}\n  - pod: {name: p, image: a:b, policy: Always, node: worker-1}\n  - expect: {pod: p, outcome: Running}\n`);
    const clock = new FakeClock();
    const { factory } = fakeDriverFactory({ clock });
    const runner = new Runner({
      driverFactory: async (needs, ctx) => {
        if (!needs.gate) throw new Error('kind create cluster failed');
        void ctx;
        return factory(needs);
      },
      runId: 'r1',
      labels: {},
      clock,
    });
    const runs = await runner.runAll([a, b]);
    expect(find(runs, 'a/p').failures).toEqual(['no cluster for 1 worker, gate off, deadline 10s, breaker 30s: kind create cluster failed']);
    expect(find(runs, 'b/p').pass).toBe(true);
  });

  it('waits the breaker window out between sessions on a shared registry host, not with one host per session', async () => {
    const crash = (await loadScenarios([join(SCENARIOS_DIR, '05-two-nodes.yaml')]))[0]!;
    const after = yaml(`id: after\ntitle: A\nsteps:\n  - push: {image: a:b, version: v1}\n  - cache: {image: a:b, node: worker-1}\n  - push: {image: a:b, version: v2}\n  - pod: {name: p, image: a:b, policy: CachedIfFailed, node: worker-1}\n  - expect: {pod: p, outcome: Running, version: v2, fallbackEvent: false}\n`);
    const shared = await runWith([crash, after]);
    expect(shared.lines.some((l) => /^waiting .* for the kubelet's fallback circuit breaker on registry\.cif:5000 to close$/.test(l))).toBe(true);
    expect(find(shared.runs, 'after/p').pass).toBe(true);
    const isolated = await runWith([crash, after], { registryPerSession: true });
    expect(isolated.lines.some((l) => l.startsWith('waiting'))).toBe(false);
    expect(find(isolated.runs, 'after/p').pass).toBe(true);
    expect(isolated.seconds).toBeLessThan(shared.seconds);
  });

  /** Records every driver call in order: [method, namespace-or-mode, repo]. */
  async function spyRun(scenarios: Scenario[]) {
    const clock = new FakeClock();
    const { factory } = fakeDriverFactory({ clock });
    const calls: [string, string, string][] = [];
    const spying: DriverFactory = async (needs, ctx) => {
      void ctx;
      const d = await factory(needs);
      return {
        nodes: d.nodes,
        sessionsIsolated: d.sessionsIsolated,
        close: () => d.close(),
        openSession: async (o) => {
          const s = await d.openSession(o);
          return {
            registryHost: s.registryHost,
            pushImage: (i, v, x) => (calls.push(['push', '', i.repo]), s.pushImage(i, v, x)),
            deleteTag: (i) => s.deleteTag(i),
            cacheOnNode: (n, i) => (calls.push(['cache', '', i.repo]), s.cacheOnNode(n, i)),
            uncacheOnNode: (n, i) => s.uncacheOnNode(n, i),
            setFault: (m) => (calls.push(['setFault', m, '']), s.setFault(m)),
            clearFault: () => (calls.push(['clearFault', '', '']), s.clearFault()),
            createPod: (p) => (calls.push(['createPod', p.namespace, p.image.repo]), s.createPod(p)),
            observe: (h, x) => (calls.push(['observe', h.namespace, '']), s.observe(h, x)),
            pullDecisions: (h, n) => s.pullDecisions(h, n),
            deletePod: (h) => s.deletePod(h),
            close: () => (calls.push(['close', '', '']), s.close()),
          };
        },
      };
    };
    const runner = new Runner({ driverFactory: spying, runId: '20260101-000000-beef', labels: {}, clock });
    const runs = await runner.runAll(scenarios);
    return { calls, runs };
  }

  it('cells run in lockstep by fault: one setFault per fault group, all pods of a group created before any is watched', async () => {
    const [m] = await loadScenarios([join(SCENARIOS_DIR, '02-fault-matrix.yaml')]);
    const { calls, runs } = await spyRun([m!]);
    expect(runs[0]!.results).toHaveLength(60);
    expect(calls.filter((c) => c[0] === 'setFault').map((c) => c[1])).toEqual(m!.matrix!.fault);
    expect(calls.filter((c) => c[0] === 'close')).toHaveLength(10);
    // within each session: every createPod precedes every observe
    let session: [string, string, string][] = [];
    const sessions: (typeof session)[] = [];
    for (const c of calls) {
      session.push(c);
      if (c[0] === 'close') sessions.push(session), (session = []);
    }
    for (const s of sessions) {
      const lastCreate = s.map((c) => c[0]).lastIndexOf('createPod');
      const firstObserve = s.map((c) => c[0]).indexOf('observe');
      expect(s.filter((c) => c[0] === 'createPod')).toHaveLength(6);
      expect(lastCreate).toBeLessThan(firstObserve);
      const fault = s.findIndex((c) => c[0] === 'setFault');
      expect(fault).toBeLessThan(s.map((c) => c[0]).indexOf('createPod'));
    }
  });

  it('isolation: every cell has its own namespace and its own repositories', async () => {
    const [m] = await loadScenarios([join(SCENARIOS_DIR, '02-fault-matrix.yaml')]);
    const { calls } = await spyRun([m!]);
    const pods = calls.filter((c) => c[0] === 'createPod');
    expect(new Set(pods.map((c) => c[1])).size).toBe(60);
    expect(new Set(pods.map((c) => c[2])).size).toBe(60);
    for (const [, ns] of pods) expect(ns).toMatch(/^cif-00beef-fault-matrix-[a-z0-9-]+$/);
    expect(pods.map((c) => c[2])).toContain('00beef/fault-matrix/cachediffailed-hang-cached/app');
    const long = dnsLabel('x'.repeat(80));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(dnsLabel('x'.repeat(80))).not.toBe(dnsLabel('x'.repeat(81)));
  });

  it('groups scenarios by needs, merging worker counts', async () => {
    const all = await loadScenarios(await defaultScenarioFiles());
    const groups = groupByNeeds(all);
    expect(groups).toHaveLength(4);
    expect(groups[0]!.scenarios.map((s) => s.id)).toContain('two-nodes');
    expect(groups[0]!.needs.workers).toBe(2);
  });

  it('a driver call that never returns is bounded', async () => {
    await expect(bounded(new Promise(() => {}), 20, 'observing p')).rejects.toThrow('observing p did not return within 20 ms');
    await expect(bounded(Promise.resolve(7), 20, 'x')).resolves.toBe(7);
  });
});

describe('pullToFallbackSeconds', () => {
  const obs = (timeline: { atSeconds: number; reason: string }[]) => ({ outcome: 'Running', fallbackEvent: true, timeline });
  it.each([
    { name: 'Pulling → fallback', timeline: [{ atSeconds: 0.3, reason: 'Scheduled' }, { atSeconds: 0.5, reason: 'Pulling' }, { atSeconds: 10.6, reason: 'PullFailedUsingCached' }, { atSeconds: 10.7, reason: 'Started' }], want: 10.1 },
    { name: 'the first of each (a restart pulls again)', timeline: [{ atSeconds: 1, reason: 'Pulling' }, { atSeconds: 11, reason: 'PullFailedUsingCached' }, { atSeconds: 20, reason: 'Pulling' }, { atSeconds: 21, reason: 'PullFailedUsingCached' }], want: 10 },
    { name: 'no fallback event', timeline: [{ atSeconds: 1, reason: 'Pulling' }, { atSeconds: 2, reason: 'Failed' }], want: undefined },
    { name: 'no Pulling event', timeline: [{ atSeconds: 2, reason: 'PullFailedUsingCached' }], want: undefined },
  ])('$name', ({ timeline, want }) => {
    const got = pullToFallbackSeconds(obs(timeline));
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(want, 6);
  });
});

describe('podPhases', () => {
  const at = (atSeconds: number, reason: string) => ({ atSeconds, reason });
  it.each([
    {
      name: 'fallback: sandbox, deadline, start',
      o: { outcome: 'Running', startupSeconds: 12.5, timeline: [at(1.5, 'Pulling'), at(11.5, 'PullFailedUsingCached'), at(11.6, 'Created'), at(11.7, 'Started')] },
      want: [['creation → Pulling', 1.5], ['Pulling → fallback', 10], ['fallback → Running', 1]],
    },
    {
      name: 'a pull that got through',
      o: { outcome: 'Running', startupSeconds: 2, timeline: [at(0.5, 'Pulling'), at(1.2, 'Pulled'), at(1.5, 'Started')] },
      want: [['creation → Pulling', 0.5], ['Pulling → Pulled', 0.7], ['Pulled → Running', 0.8]],
    },
    { name: 'no pull (IfNotPresent, cached)', o: { outcome: 'Running', startupSeconds: 0.9, timeline: [at(0.8, 'Started')] }, want: [['creation → Running', 0.9]] },
    { name: 'a failed pull has no end', o: { outcome: 'ErrImagePull', startupSeconds: 0.4, timeline: [at(0.2, 'Pulling'), at(0.4, 'Failed')] }, want: [['creation → Pulling', 0.2]] },
  ])('$name', ({ o, want }) => {
    expect(podPhases({ fallbackEvent: false, ...o }).map((p) => [p.name, p.seconds])).toEqual(want);
  });
});

describe('waves', () => {
  const s = (id: string, extra = '') => yaml(`id: ${id}\ntitle: T\nsteps:\n  - push: {image: a:b, version: v1}\n${extra}`);
  const measure = `  - measure: {name: m, pods: 2, concurrency: all, pod: {image: a:b, policy: Always, node: worker-1}}\nbenchmarks:\n  - {id: B, title: B, value: m, unit: s, target: 5s, judge: p50}\n`;
  const ids = (w: Scenario[][]) => w.map((x) => x.map((y) => y.id).join('+'));

  it.each([
    { name: 'consecutive plain scenarios batch', list: ['a', 'b', 'c'], max: 6, want: ['a+b+c'] },
    { name: 'a measuring scenario runs alone and splits the batch', list: ['a', 'M', 'b', 'c'], max: 6, want: ['a', 'M', 'b+c'] },
    { name: 'batches are capped', list: ['a', 'b', 'c'], max: 2, want: ['a+b', 'c'] },
    { name: 'max 1: one at a time', list: ['a', 'b'], max: 1, want: ['a', 'b'] },
  ])('$name', ({ list, max, want }) => {
    const scenarios = list.map((id) => (id === 'M' ? s('m', measure) : s(id)));
    expect(ids(waves(scenarios, max))).toEqual(want.map((w) => w.replace('M', 'm')));
  });

  it('the default set: the matrices and P1–P4 run alone, the rest may share', async () => {
    const all = await loadScenarios(await defaultScenarioFiles());
    expect(all.filter(runsAlone).map((x) => x.id)).toEqual(['tag-moved', 'fault-matrix', 'p1-unreachable-overhead', 'p2-blackhole-deadline', 'p2d-serialized-blackhole', 'p3-burst', 'p3d-burst-defaults', 'p4-online-overhead', 'p6-breaker-refusal']);
  });
});
