/**
 * The composition `cif run` and `cif e2e` share: load + validate every file (nothing runs if one is bad),
 * run the scenarios cluster group by cluster group with live progress, write reports/<run-id>/ atomically,
 * repoint reports/latest, print `N passed, N failed`. The Driver comes from a factory the caller passes:
 * the real adapter (wired by the e2e composition) or the contract model (`--simulate`).
 */
import { readdir } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pins } from '../pins.ts';
import { readSeries, REPO_ROOT } from '../kube/tree.ts';
import { newRunId, runLabels } from '../lib/run-context.ts';
import { InputError } from '../lib/errors.ts';
import { tallies } from '../report/summary.ts';
import { defaultReportsDir, writeRun } from '../report/write.ts';
import type { RunResults } from '../contract/index.ts';
import type { Clock, DriverFactory } from '../drivers/driver.ts';
import { loadScenarios } from '../scenario/format/loader.ts';
import type { Scenario } from '../scenario/format/model.ts';
import { runWithProgress } from './progress.ts';
import { Runner } from '../scenario/engine/runner.ts';
import { toRunResults } from '../scenario/engine/results.ts';

export const SCENARIOS_DIR = join(REPO_ROOT, 'scenarios');

export interface MainOptions {
  /** Scenario files; default: every scenarios/*.yaml (the default set and P1–P4). */
  files?: string[];
  /** The files already loaded (the caller validated them first): they are not read again. */
  scenarios?: Scenario[];
  driverFactory: DriverFactory;
  driver: 'cluster' | 'simulated';
  reportsDir?: string;
  runId?: string;
  clock?: Clock;
  /** Final lines (paths, `N passed, N failed`); progress goes to stderr through listr2. */
  out?: (line: string) => void;
  /** Use listr2 live progress (default); tests turn it off. */
  progress?: boolean;
  signal?: AbortSignal;
}

export interface MainResult {
  exitCode: 0 | 1;
  runDir: string;
  results: RunResults;
}

export async function defaultScenarioFiles(dir: string = SCENARIOS_DIR): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new InputError(`no scenarios folder at ${dir}`, { hint: 'run from the repository, or pass scenario files' });
  }
  const files = names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(dir, n));
  if (files.length === 0) throw new InputError(`no *.yaml in ${dir}`, { hint: 'pass scenario files explicitly' });
  return files;
}

export async function runMain(opts: MainOptions): Promise<MainResult> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  // All files validated before anything starts: a malformed one fails here (exit 2, file:line:col).
  const scenarios = opts.scenarios ?? (await loadScenarios(opts.files?.length ? opts.files.map((f) => resolve(f)) : await defaultScenarioFiles()));
  const runId = opts.runId ?? newRunId();
  const labels = runLabels(runId);
  const startedAt = new Date(opts.clock?.now() ?? Date.now());
  const series = await readSeries().catch(() => ({ hash: 'unknown', patches: [] as string[] }));
  const runner = new Runner({
    driverFactory: opts.driverFactory,
    runId,
    labels,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const runs = opts.progress === false ? await runner.runAll(scenarios) : await runWithProgress(runner, scenarios);
  const results = toRunResults(runs, {
    kubernetes: pins.kubernetes,
    series: `${series.hash} (${series.patches.length} patches)`,
    runId,
    driver: opts.driver,
    startedAt,
    finishedAt: new Date(opts.clock?.now() ?? Date.now()),
    host: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), cgroup: process.platform === 'linux' ? await cgroupVersion() : 'v2', kernel: release() },
  });
  const reportsDir = opts.reportsDir ?? defaultReportsDir(REPO_ROOT);
  // A simulated run is written (under its own name) but never becomes reports/latest: latest feeds the KEP.
  const simulated = opts.driver === 'simulated';
  const runDir = await writeRun(results, { reportsDir, runId: simulated ? `${runId}-simulated` : runId, complete: !simulated });
  const t = tallies(results);
  for (const s of results.scenarios.filter((x) => !x.pass)) out(`FAIL ${s.id}: ${(s.failures ?? []).join('; ')}`);
  for (const b of results.benchmarks.filter((x) => !x.pass)) out(`FAIL ${b.id}: ${(b.failures ?? []).join('; ')}`);
  out(`reports: ${runDir} (report.html, report.md, junit.xml, results.json)`);
  if (simulated) out('SIMULATED: these results come from the contract model, not a cluster (reports/latest left as it was)');
  out(`${t.passed} passed, ${t.failed} failed`);
  return { exitCode: t.failed ? 1 : 0, runDir, results };
}

async function cgroupVersion(): Promise<'v1' | 'v2'> {
  const { access } = await import('node:fs/promises');
  return access('/sys/fs/cgroup/cgroup.controllers').then(
    () => 'v2' as const,
    () => 'v1' as const,
  );
}
