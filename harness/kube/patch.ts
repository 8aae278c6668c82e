/**
 * Check, apply and unit-test the patch series (patches/NNNN-*.patch) on the upstream tree.
 *
 * - check: every patch is tried with `git apply --check` against a scratch index holding the base plus the
 *   patches before it, so a failure names the patch, the hunk and the upstream file:line, and nothing in the
 *   base tree (or a user's --kube-src checkout) is touched.
 * - apply: check, then the series as commits in the cached patched worktree (tree.ts patchedTree).
 * - test: apply, then `go test -json` on every Go package the series touches — derived from the diffs, never
 *   listed by hand — printing each package with its counts as it finishes and a final `N passed, N failed`.
 *
 * The pure parts (package derivation, `go test -json` counting, apply-error parsing) are exported and unit
 * tested in patch.test.ts.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { pins } from '../pins.ts';
import { HostError, InputError } from '../lib/errors.ts';
import { run, spawn, tailLines } from '../lib/exec.ts';
import { externalTree, materializeUpstream, requireTool, type KubeTree } from './source.ts';
import { patchedTree, readSeries, REPO_ROOT, type PatchedTree, type Series } from './tree.ts';

// ---------------------------------------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------------------------------------

/** A file a patch touches: its path after the patch (before, for a deletion) and whether it is deleted. */
export interface TouchedFile {
  path: string;
  deleted: boolean;
}

/** The files a `git format-patch` / `git diff` text touches, in order of appearance. */
export function touchedFiles(diff: string): TouchedFile[] {
  const out: TouchedFile[] = [];
  const lines = diff.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^diff --git a\/(.+?) b\/(.+)$/.exec(lines[i]!);
    if (!m) continue;
    let deleted = false;
    // the extended header lines up to the first hunk or the next diff say whether the file is deleted
    for (let j = i + 1; j < lines.length && !lines[j]!.startsWith('diff --git ') && !lines[j]!.startsWith('@@'); j++) {
      if (lines[j]!.startsWith('deleted file mode') || lines[j] === '+++ /dev/null') deleted = true;
    }
    out.push({ path: deleted ? m[1]! : m[2]!, deleted });
  }
  return out;
}

/**
 * The directories whose Go tests a touched file can affect: a .go file's own directory; for a file under
 * `testdata/`, the package directory that holds that testdata (its tests read it); for any other file, its
 * directory (kept only if it holds Go files — `hasGoFiles` decides, so that a changed .proto beside Go code
 * counts and a changed api/openapi-spec/*.json does not). Sorted, unique, as `./dir` patterns for go test.
 */
export function goPackageDirs(files: readonly TouchedFile[], hasGoFiles: (dir: string) => boolean): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    const td = parts.indexOf('testdata');
    let dir: string;
    if (td >= 0) dir = parts.slice(0, td).join('/');
    else if (f.deleted && f.path.endsWith('.go')) {
      // a deleted Go file: its package is still tested if any Go file remains there
      dir = dirname(f.path);
    } else dir = dirname(f.path);
    if (dir === '.' || dir === '') continue;
    if (hasGoFiles(dir)) dirs.add(dir);
  }
  return [...dirs].sort().map((d) => `./${d}`);
}

/**
 * The import path of a package directory of the Kubernetes tree: staging/src/k8s.io/api/core/v1 is
 * k8s.io/api/core/v1 (its own module in the workspace); everything else is under k8s.io/kubernetes.
 */
export function kubeImportPath(dir: string): string {
  const d = dir.replace(/^\.\//, '');
  return d.startsWith('staging/src/') ? d.slice('staging/src/'.length) : `k8s.io/kubernetes/${d}`;
}

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

/** Where `git apply --check` stopped: the upstream file and line, and the hunk of the patch it belongs to. */
export interface ApplyFailure {
  /** Upstream path the failing hunk is for. */
  file?: string;
  /** The line in the upstream file (`patch failed: file:line`). */
  line?: number;
  /** 1-based index of the failing hunk within that file's section of the patch. */
  hunk?: number;
  /** The hunk header, e.g. `@@ -97,6 +97,9 @@ func (m *imageManager) …`. */
  hunkHeader?: string;
  /** 1-based line of that hunk header in the .patch file: where to look. */
  patchLine?: number;
  /** git's own words, trimmed. */
  reason: string;
}

/**
 * Parses `git apply --check` stderr against the patch text it was given:
 *
 *   error: patch failed: pkg/kubelet/images/image_manager.go:97
 *   error: pkg/kubelet/images/image_manager.go: patch does not apply
 *   error: pkg/foo.go: No such file or directory        (a patched file is missing)
 *   error: pkg/foo.go: already exists in working directory / index
 */
export function parseApplyError(stderr: string, patchText: string): ApplyFailure {
  const reason = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Checking patch') && !l.startsWith('hint:'))
    .join('\n');
  const failed = /patch failed: (.+):(\d+)\s*$/m.exec(stderr);
  if (failed) {
    const file = failed[1]!;
    const line = Number(failed[2]);
    const hunk = findHunk(patchText, file, line);
    return { file, line, ...hunk, reason };
  }
  const other = /^error: (.+?): (No such file or directory|does not exist in index|already exists in (?:working directory|index)|does not match index|patch does not apply)\s*$/m.exec(stderr);
  if (other) {
    const file = other[1]!;
    const section = fileSection(patchText, file);
    return { file, ...(section ? { patchLine: section.line } : {}), reason };
  }
  return { reason: reason || stderr.trim() };
}

/** The hunk of `file` in the patch whose old-side start is `line` (git reports that line); else the nearest. */
function findHunk(patchText: string, file: string, line: number): Pick<ApplyFailure, 'hunk' | 'hunkHeader' | 'patchLine'> {
  const section = fileSection(patchText, file);
  if (!section) return {};
  const lines = patchText.split('\n');
  let best: { hunk: number; header: string; patchLine: number; distance: number } | undefined;
  let n = 0;
  for (let i = section.line; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('diff --git ')) break;
    const m = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/.exec(l);
    if (!m) continue;
    n++;
    const distance = Math.abs(Number(m[1]) - line);
    if (!best || distance < best.distance) best = { hunk: n, header: l, patchLine: i + 1, distance };
    if (distance === 0) break;
  }
  return best ? { hunk: best.hunk, hunkHeader: best.header, patchLine: best.patchLine } : {};
}

/** 1-based line of `diff --git a/<file> b/<file>` in the patch. */
function fileSection(patchText: string, file: string): { line: number } | undefined {
  const lines = patchText.split('\n');
  const idx = lines.findIndex((l) => l === `diff --git a/${file} b/${file}` || l.endsWith(` b/${file}`));
  return idx >= 0 ? { line: idx + 1 } : undefined;
}

/** `k8s.io/kubernetes v1.34.4` from patches/BASE (comments and blank lines ignored). */
export function parseBaseFile(text: string): { module: string; version: string; line: number } | undefined {
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const l = raw.replace(/#.*/, '').trim();
    if (!l) continue;
    const m = /^(\S+)\s+(v\d+\.\d+\.\d+\S*)$/.exec(l);
    return m ? { module: m[1]!, version: m[2]!, line: i + 1 } : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------------------------

export interface PatchOptions {
  /** A git checkout to use as the base instead of the pinned tree from the module proxy. */
  kubeSrc?: string;
  /** The series directory (default: the repo's patches/). */
  seriesDir?: string;
  log?: (line: string) => void;
}

/** The series and the base it applies to. Checks patches/BASE against pins.kubernetes. */
export async function loadSeries(seriesDir?: string): Promise<Series> {
  const series = await readSeries(seriesDir);
  if (series.patches.length === 0) {
    throw new InputError(`no patches (NNNN-*.patch) in ${relative(REPO_ROOT, series.dir) || series.dir}`, {
      hint: 'regenerate the series with `git format-patch <base> -o patches/`',
    });
  }
  const baseFile = join(series.dir, 'BASE');
  if (existsSync(baseFile)) {
    const base = parseBaseFile(await readFile(baseFile, 'utf8'));
    const where = relative(REPO_ROOT, baseFile) || baseFile;
    if (!base) throw new InputError('no `<module> <version>` line', { where, hint: 'write e.g. `k8s.io/kubernetes vX.Y.Z`' });
    if (base.version !== pins.kubernetes) {
      throw new InputError(`the series is pinned to ${base.version} but harness/pins.ts pins ${pins.kubernetes}`, {
        where: `${where}:${base.line}`,
        hint: 'rebase the series and update BASE and pins.ts together',
      });
    }
  }
  return series;
}

export async function baseTree(o: PatchOptions): Promise<KubeTree> {
  return o.kubeSrc ? externalTree(o.kubeSrc) : materializeUpstream(pins.kubernetes, o.log);
}

/**
 * `git apply --check` of each patch in order, against a scratch index (GIT_INDEX_FILE) that starts as the
 * base and takes each patch after it checks, so patch N is checked on base + 1..N-1. Neither the base work
 * tree nor its index is touched. Throws InputError naming the patch, the hunk and file:line on failure.
 */
export async function checkSeries(base: KubeTree, series: Series, log: (l: string) => void = () => {}): Promise<void> {
  await requireTool('git', 'the series is checked with git apply');
  const scratch = await mkdtemp(join(tmpdir(), 'cif-apply-check-'));
  const env = { GIT_INDEX_FILE: join(scratch, 'index') };
  try {
    await run('git', ['-C', base.dir, 'read-tree', base.baseRef], { env });
    for (const p of series.patches) {
      const name = relative(REPO_ROOT, p) || p;
      log(`git apply --check ${name}`);
      const r = await run('git', ['-C', base.dir, 'apply', '--cached', '--check', p], { env, reject: false });
      if (r.exitCode !== 0) {
        const f = parseApplyError(r.stderr, await readFile(p, 'utf8'));
        const at = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : 'unknown file';
        const hunk = f.hunk ? `hunk #${f.hunk} (${f.hunkHeader}) of ` : '';
        throw new InputError(`does not apply to ${base.version}: ${hunk}${at}\n${indent(f.reason)}`, {
          where: f.patchLine ? `${name}:${f.patchLine}` : name,
          hint: `rebase the series onto ${base.version} (git am in a checkout of it, fix the hunk, git format-patch again)`,
        });
      }
      await run('git', ['-C', base.dir, 'apply', '--cached', p], { env });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The Go package patterns the series touches, checked against the patched tree for Go files. */
export async function seriesPackages(series: Series, treeDir: string): Promise<string[]> {
  const files: TouchedFile[] = [];
  for (const p of series.patches) files.push(...touchedFiles(await readFile(p, 'utf8')));
  return goPackageDirs(files, (dir) => {
    const abs = join(treeDir, dir);
    if (!existsSync(abs)) return false;
    return readdirSync(abs).some((n) => n.endsWith('.go'));
  });
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

export interface PatchTestResult {
  tree: PatchedTree;
  packages: string[];
  summary: GoTestSummary;
}

/** check → apply → go test of every touched package. */
export async function testSeries(o: PatchOptions & GoTestOptions): Promise<PatchTestResult> {
  const log = o.log ?? (() => {});
  const series = await loadSeries(o.seriesDir);
  const base = await baseTree(o);
  await checkSeries(base, series, log);
  const tree = await patchedTree(base, series, log);
  const packages = await seriesPackages(series, tree.dir);
  log(`${packages.length} Go packages touched by the series:\n${packages.map((p) => `  ${p}`).join('\n')}`);
  const summary = await goTest(tree.dir, packages, o);
  return { tree, packages, summary };
}

function indent(s: string): string {
  return s
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
