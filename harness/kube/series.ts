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
 * The pure parts are diff.ts (package derivation, apply-error parsing) and gotest.ts (`go test -json`
 * counting); all three are tested in patch.test.ts.
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
import { goPackageDirs, parseApplyError, parseBaseFile, touchedFiles, type TouchedFile } from './diff.ts';
import { goTest, indent, type GoTestOptions, type GoTestSummary } from './gotest.ts';


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
