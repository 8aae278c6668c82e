/**
 * `go test -json`, counted: a streaming counter of passed/failed/skipped tests per package with the failing
 * output kept (bounded), one line per package as it finishes, and the run over the packages a series touches.
 */
import { createInterface } from 'node:readline';
import { HostError } from '../lib/errors.ts';
import { spawn, tailLines } from '../lib/exec.ts';
import { kubeImportPath } from './diff.ts';
import { requireTool } from './source.ts';
/** One package's outcome from a `go test -json` stream. */
export interface PackageResult {
  /** Import path, e.g. k8s.io/kubernetes/pkg/kubelet/images. */
  pkg: string;
  /** Top-level tests (TestX), by outcome. */
  passed: number;
  failed: number;
  skipped: number;
  /** Subtests (TestX/case) that passed / failed. */
  subtestsPassed: number;
  subtestsFailed: number;
  /** The package-level verdict: pass, fail, skip (no test files), or undefined while still running. */
  status?: 'pass' | 'fail' | 'skip';
  /** Seconds, from the package-level event. */
  elapsed?: number;
  /** Go reported the result from its test cache. */
  cached: boolean;
  /** The package (or its test binary) failed to build: a failure even with zero failed tests. */
  buildFailed: boolean;
  /** Names of failed top-level tests. */
  failedTests: string[];
  /** Output lines of failed tests and build errors, for the failure report (bounded). */
  failureOutput: string[];
  /** When its test binary started (Date.now()), from the `start` event: compiled, now running. */
  startedAt?: number;
}

interface GoTestEvent {
  Action: string;
  Package?: string;
  ImportPath?: string;
  Test?: string;
  Elapsed?: number;
  Output?: string;
  FailedBuild?: string;
}

const MAX_FAILURE_LINES = 60;

/**
 * Accumulates `go test -json` events (one JSON object per line) into per-package results. Feed lines as
 * they arrive; `onPackageDone` fires once per package when its verdict arrives.
 */
export class GoTestJsonCounter {
  readonly packages = new Map<string, PackageResult>();
  /** Lines that were not JSON events (go's own messages when it fails before testing). */
  readonly stray: string[] = [];
  private readonly testOutput = new Map<string, string[]>();

  constructor(private readonly onPackageDone: (r: PackageResult) => void = () => {}) {}

  private pkg(name: string): PackageResult {
    let r = this.packages.get(name);
    if (!r) {
      r = {
        pkg: name,
        passed: 0,
        failed: 0,
        skipped: 0,
        subtestsPassed: 0,
        subtestsFailed: 0,
        cached: false,
        buildFailed: false,
        failedTests: [],
        failureOutput: [],
      };
      this.packages.set(name, r);
    }
    return r;
  }

  line(raw: string): void {
    const text = raw.trim();
    if (!text) return;
    let ev: GoTestEvent;
    try {
      ev = JSON.parse(text) as GoTestEvent;
    } catch {
      this.stray.push(text);
      return;
    }
    if (typeof ev !== 'object' || ev === null || typeof ev.Action !== 'string') {
      this.stray.push(text);
      return;
    }
    // Go >= 1.24 reports build output and failures as build-output / build-fail events keyed by ImportPath.
    if (ev.Action === 'build-output' || ev.Action === 'build-fail') {
      const name = (ev.ImportPath ?? '').replace(/ \[.*\]$/, '');
      if (!name) return;
      const r = this.pkg(name);
      if (ev.Action === 'build-fail') r.buildFailed = true;
      if (ev.Output) pushBounded(r.failureOutput, ev.Output.trimEnd());
      return;
    }
    if (!ev.Package) return;
    const r = this.pkg(ev.Package);
    if (ev.FailedBuild) r.buildFailed = true;
    if (ev.Test) {
      const key = `${ev.Package}\0${ev.Test}`;
      const top = !ev.Test.includes('/');
      switch (ev.Action) {
        case 'output':
          if (ev.Output !== undefined) {
            const buf = this.testOutput.get(key) ?? [];
            pushBounded(buf, ev.Output.trimEnd());
            this.testOutput.set(key, buf);
          }
          break;
        case 'pass':
          if (top) r.passed++;
          else r.subtestsPassed++;
          this.testOutput.delete(key);
          break;
        case 'fail':
          if (top) {
            r.failed++;
            r.failedTests.push(ev.Test);
            for (const l of this.testOutput.get(key) ?? []) pushBounded(r.failureOutput, l);
          } else r.subtestsFailed++;
          this.testOutput.delete(key);
          break;
        case 'skip':
          if (top) r.skipped++;
          this.testOutput.delete(key);
          break;
      }
      return;
    }
    switch (ev.Action) {
      case 'output':
        if (ev.Output?.includes('(cached)')) r.cached = true;
        // package-level output of a failing package (build errors before Go 1.24, panics, TestMain)
        if (ev.Output && /^(FAIL|panic:|#|.*\.go:\d+)/.test(ev.Output)) pushBounded(r.failureOutput, ev.Output.trimEnd());
        break;
      case 'start':
        r.startedAt = Date.now();
        break;
      case 'pass':
      case 'fail':
      case 'skip':
        r.status = ev.Action;
        if (ev.Elapsed !== undefined) r.elapsed = ev.Elapsed;
        if (ev.Action === 'fail' && r.failed === 0) r.buildFailed = r.buildFailed || r.passed === 0;
        this.onPackageDone(r);
        break;
    }
  }

  /** `running: pkg/kubelet (42s), …` — test binaries started but not finished; the rest still compile. */
  running(now: number = Date.now()): string[] {
    return [...this.packages.values()]
      .filter((r) => r.startedAt !== undefined && r.status === undefined)
      .map((r) => `${r.pkg.replace(/^k8s\.io\/kubernetes\//, '')} (${Math.round((now - r.startedAt!) / 1000)}s)`);
  }

  /** Totals over all packages. A package that failed without a failed test (build, panic) counts as failed. */
  totals(): { passed: number; failed: number; skipped: number; failedPackages: string[] } {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const failedPackages: string[] = [];
    for (const r of this.packages.values()) {
      passed += r.passed;
      failed += r.failed;
      skipped += r.skipped;
      if (r.status === 'fail' || r.buildFailed || (r.status === undefined && r.failed > 0)) failedPackages.push(r.pkg);
    }
    return { passed, failed, skipped, failedPackages };
  }
}

function pushBounded(arr: string[], line: string): void {
  if (arr.length < MAX_FAILURE_LINES) arr.push(line);
  else if (arr.length === MAX_FAILURE_LINES) arr.push('… (truncated)');
}

/** One line per package: `ok   k8s.io/…/images  42 passed, 0 failed, 1 skipped (130 subtests)  7.4s`. */
export function formatPackageLine(r: PackageResult, width = 0): string {
  const verdict = r.status === 'pass' ? 'ok  ' : r.status === 'skip' ? 'skip' : 'FAIL';
  const counts =
    r.buildFailed && r.passed + r.failed === 0
      ? 'build failed'
      : r.status === 'skip' && r.passed + r.failed + r.skipped === 0
        ? 'no test files'
        : `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}` +
        (r.subtestsPassed + r.subtestsFailed ? ` (${r.subtestsPassed + r.subtestsFailed} subtests)` : '');
  const time = r.elapsed !== undefined ? `  ${r.elapsed.toFixed(1)}s` : '';
  return `${verdict} ${r.pkg.padEnd(width)}  ${counts}${time}${r.cached ? ' (cached)' : ''}`;
}

export interface GoTestSummary {
  packages: PackageResult[];
  passed: number;
  failed: number;
  skipped: number;
  failedPackages: string[];
  wallSeconds: number;
}

export interface GoTestOptions {
  /** Printed per finished package and for progress. */
  out?: (line: string) => void;
  progress?: (line: string) => void;
  /** How often to say "still running" while Go compiles (ms). */
  heartbeatMs?: number;
  /** Overall limit for the go test run (ms). */
  timeoutMs?: number;
  extraArgs?: string[];
}

/**
 * `go test -json <packages>` in the tree, streaming: each package's line is printed as it finishes, and a
 * heartbeat names the packages still pending while Go compiles (the first run on 2 cores takes minutes).
 */
export async function goTest(treeDir: string, packages: readonly string[], o: GoTestOptions = {}): Promise<GoTestSummary> {
  await requireTool('go', 'the series is tested with go test');
  const out = o.out ?? ((l) => process.stdout.write(`${l}\n`));
  const progress = o.progress ?? ((l) => process.stderr.write(`${l}\n`));
  const started = Date.now();
  const counter = new GoTestJsonCounter((r) => out(formatPackageLine(r)));
  const args = ['test', '-json', '-timeout', '30m', ...(o.extraArgs ?? []), ...packages];
  progress(`go ${args.join(' ')}  (in ${treeDir})`);
  const child = spawn('go', args, {
    cwd: treeDir,
    timeout: o.timeoutMs ?? 90 * 60_000,
  });
  const heartbeat = setInterval(() => {
    const finished = [...counter.packages.values()].filter((r) => r.status !== undefined).length;
    const running = counter.running();
    const s = Math.round((Date.now() - started) / 1000);
    progress(
      `… go test ${s}s: ${finished}/${packages.length} packages finished` +
        (running.length ? `, running ${running.join(', ')}` : '') +
        `, ${packages.length - finished - running.length} compiling`,
    );
  }, o.heartbeatMs ?? 30_000);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => counter.line(l));
  let exitCode: number | undefined;
  try {
    const res = await child;
    exitCode = res.exitCode;
  } catch (err) {
    exitCode = (err as { exitCode?: number }).exitCode;
    if ((err as { timedOut?: boolean }).timedOut) {
      throw new HostError(`go test did not finish within ${Math.round((o.timeoutMs ?? 90 * 60_000) / 60_000)} minutes`, {
        hint: 'the host may be overloaded; retry, or run go test on single packages in the patched tree',
      });
    }
  } finally {
    clearInterval(heartbeat);
    rl.close();
  }
  const t = counter.totals();
  // go exits non-zero before emitting any event when the patterns themselves are wrong
  if (counter.packages.size === 0 && exitCode !== 0) {
    throw new HostError(`go test failed before running any test:\n${indent(tailLines(stderr || counter.stray.join('\n'), 20))}`, {
      hint: 'run the same go test command in the patched tree to see the full output',
    });
  }
  const missing = packages.filter((p) => !counter.packages.has(kubeImportPath(p)));
  const failedPackages = [...t.failedPackages];
  for (const m of missing) failedPackages.push(`${m} (no result)`);
  if (exitCode !== 0 && failedPackages.length === 0 && t.failed === 0) failedPackages.push(`go test exited ${exitCode}`);
  return {
    packages: [...counter.packages.values()],
    passed: t.passed,
    failed: t.failed,
    skipped: t.skipped,
    failedPackages,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

/** Four spaces before every line: command output quoted inside an error message. */
export function indent(s: string): string {
  return s
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
