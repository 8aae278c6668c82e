import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../cli.ts';
import { writeRun } from '../report/write.ts';
import { FakeClock, fakeDriverFactory } from '../drivers/model/driver.ts';
import { runMain, SCENARIOS_DIR } from '../app/main.ts';
import { e2eMain } from '../app/e2e.ts';

function capture() {
  const io = { out: '', err: '' };
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((t: string | Uint8Array) => ((io.out += String(t)), true));
  return { io, cli: { out: (t: string) => (io.out += t), err: (t: string) => (io.err += t) }, restore: () => spy.mockRestore() };
}

afterEach(() => vi.restoreAllMocks());

describe('cif run', () => {
  it('a malformed file fails before anything runs: exit 2 with file:line:col', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cif-run-'));
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'id: bad\ntitle: B\nsteps:\n  - fault: outage\n');
    const c = capture();
    const code = await main(['run', join(SCENARIOS_DIR, '01-tag-moved.yaml'), bad], c.cli);
    c.restore();
    expect(code).toBe(2);
    expect(c.io.err).toContain(`${bad}:4:12: unknown fault mode "outage"`);
    expect(c.io.err).toContain('fix: valid fault modes: none, stopped');
  });

  it('--check validates the default set', async () => {
    const c = capture();
    const code = await main(['run', '--check'], c.cli);
    c.restore();
    expect(code).toBe(0);
    expect(c.io.out).toMatch(/^\d+ scenario file\(s\) valid: \d+ cells, 9 benchmarks\n$/);
  });

  it('without a build it says so (exit 2) after validating, before any cluster', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'cif-nobuild-'));
    const saved = process.env.CIF_CACHE;
    process.env.CIF_CACHE = cache;
    const c = capture();
    try {
      const code = await main(['run', join(SCENARIOS_DIR, '04-gate-off.yaml')], c.cli);
      c.restore();
      expect(code).toBe(2);
      expect(c.io.err).toMatch(/the node image .* is not built yet/);
    } finally {
      c.restore();
      if (saved === undefined) delete process.env.CIF_CACHE;
      else process.env.CIF_CACHE = saved;
    }
  });
});

describe('runMain', () => {
  it('writes the reports, ends with `N passed, N failed`, exits 1 when an expectation fails', async () => {
    const reportsDir = await mkdtemp(join(tmpdir(), 'cif-main-'));
    const clock = new FakeClock();
    const lines: string[] = [];
    const { factory } = fakeDriverFactory({ clock, bugs: { fallbackOnDenied: true } });
    const r = await runMain({
      files: [join(SCENARIOS_DIR, '02-fault-matrix.yaml')],
      driverFactory: factory,
      driver: 'simulated',
      clock,
      reportsDir,
      runId: 'main-test',
      progress: false,
      out: (l) => lines.push(l),
    });
    expect(r.exitCode).toBe(1);
    expect(lines[lines.length - 1]).toBe('57 passed, 3 failed');
    expect(lines.filter((l) => l.startsWith('FAIL '))).toHaveLength(3);
    // simulated runs are written under their own name and never become latest (latest feeds the KEP)
    expect(r.runDir).toBe(join(reportsDir, 'main-test-simulated'));
    expect(existsSync(join(reportsDir, 'latest'))).toBe(false);
    expect(JSON.parse(await readFile(join(r.runDir, 'results.json'), 'utf8')).driver).toBe('simulated');

    // (driver: 'cluster' here only to exercise the latest pointer; the factory is still the model)
    const ok = await runMain({
      files: [join(SCENARIOS_DIR, '01-tag-moved.yaml')],
      driverFactory: fakeDriverFactory({ clock }).factory,
      driver: 'cluster',
      clock,
      reportsDir,
      runId: 'main-ok',
      progress: false,
      out: (l) => lines.push(l),
    });
    expect(ok.exitCode).toBe(0);
    expect(lines[lines.length - 1]).toBe('4 passed, 0 failed');
    expect(await readlink(join(reportsDir, 'latest'))).toBe('main-ok');
  });

  it('e2e composes build → driver → default set; the build is wired by the caller', async () => {
    const calls: string[] = [];
    const reportsDir = await mkdtemp(join(tmpdir(), 'cif-e2e-'));
    const clock = new FakeClock();
    const r = await e2eMain({
      online: true,
      build: async (o) => void calls.push(`build online=${o.online}`),
      driverFactory: async () => {
        calls.push('driver');
        return fakeDriverFactory({ clock }).factory;
      },
      main: { clock, reportsDir, runId: 'e2e-test', progress: false, out: () => {} },
    });
    expect(calls).toEqual(['build online=true', 'driver']);
    expect(r.exitCode).toBe(0);
    expect(r.results.scenarios.length).toBeGreaterThan(70);
    expect(r.results.benchmarks.map((b) => b.id).sort()).toEqual(['P1-dns', 'P1-http-503', 'P1-refused', 'P2', 'P2d', 'P3', 'P3d', 'P4', 'P6']);
  });
});

describe('cif report', () => {
  it('re-renders a run folder; --kep refuses a simulated run; a missing folder is exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cif-report-'));
    const run = await writeRun(
      { kubernetes: 'v1.34.4', series: 's', runId: 'r', startedAt: '2026-11-27T12:00:00Z', durationSeconds: 1, scenarios: [], benchmarks: [] },
      { reportsDir: dir, runId: 'r', complete: true },
    );
    await writeFile(join(run, 'report.md'), 'stale');
    let c = capture();
    expect(await main(['report', run], c.cli)).toBe(0);
    c.restore();
    expect(c.io.out).toContain('re-rendered junit.xml, report.md, latency.svg, report.html');
    expect(await readFile(join(run, 'report.md'), 'utf8')).toContain('0 passed, 0 failed');
    const sim = await writeRun(
      { kubernetes: 'v1.34.4', series: 's', runId: 'r-sim', driver: 'simulated', startedAt: '2026-11-27T12:00:00Z', durationSeconds: 1, scenarios: [], benchmarks: [] },
      { reportsDir: dir, runId: 'r-sim', complete: false },
    );
    c = capture();
    expect(await main(['report', sim, '--kep'], c.cli)).toBe(2);
    c.restore();
    expect(c.io.err).toContain('a SIMULATED run cannot feed the KEP');
    c = capture();
    expect(await main(['report', join(dir, 'nope')], c.cli)).toBe(2);
    c.restore();
    expect(c.io.err).toContain('no run folder at');
  });
});
