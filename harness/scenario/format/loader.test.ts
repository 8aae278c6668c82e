import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_MODES, POLICIES, type Expectation } from '../../contract/index.ts';
import { isUnreachable } from '../../contract/index.ts';
import { loadScenarios, parseScenario, ScenarioFileError, type Problem } from './loader.ts';
import { SCENARIOS_DIR } from '../../app/main.ts';
import { faultGroups } from '../engine/schedule.ts';

const problems = (text: string): Problem[] => parseScenario(text, 'x.yaml').problems;
const one = (text: string): Problem => {
  const p = problems(text);
  expect(p, JSON.stringify(p, null, 2)).toHaveLength(1);
  return p[0]!;
};

const HEAD = `id: t\ntitle: T\ncluster: {workers: 1}\nsteps:\n`;

describe('the scenario files in scenarios/', () => {
  const files = readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.yaml')).map((f) => join(SCENARIOS_DIR, f));

  it('all load, with the default set and P1–P4', async () => {
    const all = await loadScenarios(files);
    const ids = all.map((s) => s.id);
    for (const id of ['tag-moved', 'fault-matrix', 'recovery', 'gate-off', 'two-nodes', 'crash-loop', 'pull-secrets', 'slow-registry', 'flapping-registry']) {
      expect(ids).toContain(id);
    }
    expect(all.flatMap((s) => s.benchmarks.map((b) => b.id)).sort()).toEqual(['P1-dns', 'P1-http-503', 'P1-refused', 'P2', 'P2d', 'P3', 'P3d', 'P4', 'P6']);
    const p2 = all.find((s) => s.id === 'p2-blackhole-deadline')!.benchmarks[0]!;
    expect(p2.target).toBe(11); // deadline 10 s + 1 s
    // P3 is judged against the same burst with IfNotPresent: deadline 10 s + 2 s
    expect(all.find((s) => s.id === 'p3-burst')!.benchmarks[0]!).toMatchObject({ target: 12, op: 'difference' });
    // the kubelet's defaults are the default shape; P1–P3 name their variant
    expect(all.find((s) => s.id === 'fault-matrix')!.needs.kubelet.serializeImagePulls).toBe(true);
    expect(all.find((s) => s.id === 'p2-blackhole-deadline')!.needs.kubelet).toMatchObject({ serializeImagePulls: false, registryPullQPS: 0 });
    expect(all.find((s) => s.id === 'p4-online-overhead')!.benchmarks[0]).toMatchObject({ op: 'ratio', target: 1.05, unit: 'ratio' });
    expect(all.find((s) => s.id === 'gate-off')!.needs.gate).toBe(false);
    expect(all.find((s) => s.id === 'pull-secrets')!.needs).toMatchObject({
      featureGates: { KubeletEnsureSecretPulledImages: true },
      kubelet: { imagePullCredentialsVerificationPolicy: 'NeverVerifyPreloadedImages' },
    });
  });

  it('the fault matrix expands to 3 policies × 10 faults × 2 cache states, run as 10 fault groups of 6', async () => {
    const [m] = await loadScenarios([join(SCENARIOS_DIR, '02-fault-matrix.yaml')]);
    expect(m!.cells).toHaveLength(60);
    expect(new Set(m!.cells.map((c) => c.key)).size).toBe(60);
    const groups = faultGroups(m!.cells);
    expect(groups).toHaveLength(10);
    expect(groups.every((g) => g.length === 6)).toBe(true);
    // the cache step exists exactly in the cached cells
    for (const c of m!.cells) expect(c.steps.some((s) => s.kind === 'cache')).toBe(c.vars!.cached);
  });

  it('the matrix rules say exactly what issue 3’s contract says, cell by cell', async () => {
    const [m] = await loadScenarios([join(SCENARIOS_DIR, '02-fault-matrix.yaml')]);
    // An independent statement of the contract (issue 3), not derived from the rules.
    const contract = (policy: string, fault: string, cached: boolean): Partial<Expectation> => {
      if (policy === 'IfNotPresent' && cached) return { outcome: 'Running', version: 'v1', fallbackEvent: false };
      if (policy === 'CachedIfFailed' && cached && isUnreachable(fault as never)) {
        // the kubelet's own pull start → decision: the deadline (10 s) plus 1 s for the cancellation's answer
        return { outcome: 'Running', version: 'v1', fallbackEvent: true, maxDecisionSeconds: 11 };
      }
      // containerd 1.6 never gives up on a registry that never answers: no deadline → never starts
      if (fault === 'hang') return { outcome: 'ContainerCreating', fallbackEvent: false };
      return { outcome: 'ErrImagePull', fallbackEvent: false };
    };
    for (const c of m!.cells) {
      const { policy, fault, cached } = c.vars!;
      const e = (c.steps.find((s) => s.kind === 'expect') as { expectation: Expectation }).expectation;
      expect(e, `${policy}/${fault}/${cached}`).toMatchObject(contract(policy, fault, cached));
      if (policy === 'CachedIfFailed' && !(cached && isUnreachable(fault))) expect(e.sameOutcomeAs, `${policy}/${fault}/${cached}`).toBe('Always');
      if (e.outcome === 'Running' && e.fallbackEvent) expect(e.version).toBe('v1');
    }
    // every fault mode the contract classifies is in the matrix
    for (const f of ['stopped', 'refused', 'blackhole', 'dns', 'hang', 'http-503', 'http-429', 'unauthorized', 'forbidden', 'not-found']) {
      expect(m!.matrix!.fault).toContain(f);
    }
  });
});

describe('loader errors: file:line:col, what, fix', () => {
  it('YAML syntax', () => {
    const p = one('id: t\ntitle: [unclosed\nsteps:\n');
    expect(p.where).toMatch(/^x\.yaml:\d+:\d+$/);
    expect(p.what).toMatch(/^YAML: /);
  });

  it('a duplicate key', () => {
    const p = one('id: t\nid: u\ntitle: T\nsteps:\n  - wait: 1s\n');
    expect(p.where).toBe('x.yaml:2:1');
    expect(p.fix).toMatch(/repeated key/);
  });

  it('an unknown policy lists the valid ones, at the value', () => {
    const p = one(HEAD + '  - push: {image: app:v, version: v1}\n  - pod: {name: p, image: app:v, policy: CachedIfFail, node: worker-1}\n');
    expect(p.where).toBe('x.yaml:6:42');
    expect(p.what).toBe('unknown policy "CachedIfFail"');
    expect(p.fix).toContain('did you mean "CachedIfFailed"?');
    for (const pol of POLICIES) expect(p.fix).toContain(pol);
  });

  it('an unknown fault mode lists the valid ones', () => {
    const p = one(HEAD + '  - fault: outage\n');
    expect(p.where).toBe('x.yaml:5:12');
    expect(p.what).toBe('unknown fault mode "outage"');
    for (const f of FAULT_MODES) expect(p.fix).toContain(f);
  });

  it('an unknown step kind, an unknown key', () => {
    expect(one(HEAD + '  - pusj: {image: a:b, version: v1}\n')).toMatchObject({ where: 'x.yaml:5:5', what: 'unknown step kind "pusj"' });
    const k = one(HEAD + '  - push: {image: a:b, version: v1, privat: true}\n');
    expect(k).toMatchObject({ where: 'x.yaml:5:37', what: 'unknown key "privat" in steps[0].push' });
    expect(k.fix).toContain('did you mean "private"?');
  });

  it('a missing required field points at its map', () => {
    const p = one(HEAD + '  - push: {image: a:b}\n');
    expect(p.where).toBe('x.yaml:5:11');
    expect(p.what).toBe('steps[0].push.version is missing');
  });

  it('a missing top-level field and steps checked anyway', () => {
    const p = problems('id: t\nsteps:\n  - fault: nope\n');
    expect(p.map((x) => `${x.where} ${x.what}`)).toEqual(['x.yaml:1:1 title is missing', 'x.yaml:3:12 unknown fault mode "nope"']);
  });

  it('bad durations and node names', () => {
    expect(one(HEAD + '  - wait: soon\n').what).toContain('"soon" is not a duration');
    const n = one(HEAD + '  - push: {image: a:b, version: v1}\n  - cache: {image: a:b, node: worker-2}\n');
    expect(n.where).toBe('x.yaml:6:31');
    expect(n.what).toContain('cluster has 1 worker');
  });

  it('expect on a pod no step created', () => {
    const p = one(HEAD + '  - expect: {pod: ghost, outcome: Running}\n');
    expect(p).toMatchObject({ where: 'x.yaml:5:19', what: 'expect refers to pod "ghost", which no earlier step creates' });
  });

  it('an unknown outcome, and checks that can never be made', () => {
    const base = HEAD + '  - push: {image: a:b, version: v1}\n  - pod: {name: p, image: a:b, policy: Always, node: worker-1}\n';
    expect(one(base + '  - expect: {pod: p, outcome: Runnin}\n')).toMatchObject({ where: 'x.yaml:7:31', what: 'unknown outcome "Runnin"' });
    expect(one(base + '  - expect: {pod: p, outcome: ErrImagePull, version: v1}\n').what).toContain('version is only known for a container that ran');
    expect(one(base + '  - expect: {pod: p, outcome: Running, message: nope}\n').what).toContain('only checked for outcome Rejected');
  });

  it('$policy outside a matrix; a matrix cell no rule covers; a rule nothing reaches', () => {
    expect(one(HEAD + '  - fault: $fault\n').what).toBe('$fault is a matrix variable, but this scenario has no matrix');
    const m = (rules: string) =>
      problems(
        `id: m\ntitle: M\nmatrix:\n  policy: [Always, CachedIfFailed]\n  fault: [refused]\n  cached: [true]\nsteps:\n  - push: {image: a:b, version: v1}\n  - fault: $fault\n  - pod: {name: p, image: a:b, policy: $policy, node: worker-1}\n  - expect: {pod: p, from: rules}\nrules:\n${rules}`,
      );
    const uncovered = m('  - when: {policy: CachedIfFailed}\n    expect: {outcome: Running}\n');
    expect(uncovered).toHaveLength(1);
    expect(uncovered[0]).toMatchObject({ where: 'x.yaml:4:3', what: 'matrix cell Always × refused × cached matches no rule' });
    const unused = m('  - when: {}\n    expect: {outcome: Running}\n  - when: {policy: Always}\n    expect: {outcome: ErrImagePull}\n');
    expect(unused).toHaveLength(1);
    expect(unused[0]).toMatchObject({ where: 'x.yaml:15:11' });
    expect(unused[0]!.what).toContain('matches no matrix cell');
    expect(m('  - when: {fault: unreachabl}\n    expect: {outcome: Running}\n')[0]!.what).toContain('must be a fault mode');
  });

  it('benchmarks: unknown measure, unit mismatch, bad target', () => {
    const b = (bm: string) =>
      problems(HEAD + `  - push: {image: a:b, version: v1}\n  - measure: {name: m, pods: 2, pod: {image: a:b, policy: Always, node: worker-1}}\nbenchmarks:\n  - ${bm}\n`);
    expect(b('{id: B, title: t, value: m - floor, unit: s, target: 1s, judge: p50}')[0]!.what).toBe('no measure step is named "floor"');
    expect(b('{id: B, title: t, value: m, unit: ratio, target: 1.05x, judge: p50}')[0]!.what).toContain('unit is ratio');
    expect(b('{id: B, title: t, value: m, unit: s, target: fast, judge: p50}')[0]!.what).toContain('"fast" is not a duration');
    expect(b('{id: B, title: t, value: m, unit: s, target: deadline + 1s, judge: p99}')[0]!.what).toBe('unknown judge figure "p99"');
  });

  it('loadScenarios collects every problem of every file and refuses duplicate ids', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'cif-loader-'));
    await writeFile(join(dir, 'a.yaml'), HEAD + '  - wait: 1s\n');
    await writeFile(join(dir, 'b.yaml'), HEAD + '  - wait: 1s\n');
    await writeFile(join(dir, 'c.yaml'), HEAD + '  - fault: nope\n');
    const err = await loadScenarios([join(dir, 'a.yaml'), join(dir, 'b.yaml'), join(dir, 'c.yaml'), join(dir, 'missing.yaml')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScenarioFileError);
    const e = err as ScenarioFileError;
    expect(e.exitCode).toBe(2);
    const text = e.describe();
    expect(text).toMatch(/c\.yaml:5:12: unknown fault mode "nope"\n  fix: /);
    expect(text).toMatch(/missing\.yaml:1:1: cannot read: ENOENT/);
    expect(text).toMatch(/b\.yaml:1:5: scenario id "t" is also used at .*a\.yaml:1:5/);
  });

  it('misplaced matrix constructs', () => {
    expect(one(HEAD + '  - wait: 1s\n    when: {cached: true}\n').what).toBe('`when:` only applies inside a matrix scenario');
    const m = `id: m\ntitle: M\nmatrix:\n  policy: [Always]\n  fault: [refused]\nsteps:\n  - push: {image: a:b, version: v1}\n  - pod: {name: p, image: a:b, policy: $policy, node: worker-1}\n`;
    const withFields = problems(m + '  - expect: {pod: p, from: rules, outcome: Running}\nrules:\n  - when: {}\n    expect: {outcome: Running}\n');
    expect(withFields.map((x) => x.what)).toContain('`from: rules` takes the whole expectation from the rules table, but outcome is given too');
    expect(one(m + '  - expect: {pod: p}\n').what).toBe('expect needs an `outcome` (or, in a matrix, `from: rules`)');
    expect(one(m + '  - expect: {pod: p, outcome: ErrImagePull, eventually: true}\n').what).toContain('`eventually` watches until Running');
    expect(one(m + '  - expect: {pod: p, outcome: Running}\n  - fault: $pol\n').what).toBe('unknown variable $pol');
  });
});
