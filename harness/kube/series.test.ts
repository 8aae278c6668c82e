import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError, InputError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import { goPackageDirs, kubeImportPath, parseApplyError, parseBaseFile, touchedFiles } from './diff.ts';
import { formatPackageLine, goTest, GoTestJsonCounter, type PackageResult } from './gotest.ts';
import { checkSeries } from './series.ts';
import { GIT_IDENTITY } from './source.ts';
import { readSeries } from './tree.ts';

const SERIES_DIFF = `From 1234 Mon Sep 17 00:00:00 2001
Subject: [PATCH] kubelet: something

---
 pkg/kubelet/images/image_manager.go | 2 +-
 pkg/kubelet/images/pull_errors.go   | 10 ++++
diff --git a/pkg/kubelet/images/image_manager.go b/pkg/kubelet/images/image_manager.go
index 1111111..2222222 100644
--- a/pkg/kubelet/images/image_manager.go
+++ b/pkg/kubelet/images/image_manager.go
@@ -10,3 +10,3 @@ import (
-	"fmt"
+	"errors"
diff --git a/pkg/kubelet/images/pull_errors.go b/pkg/kubelet/images/pull_errors.go
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/pkg/kubelet/images/pull_errors.go
@@ -0,0 +1,2 @@
+package images
+
diff --git a/pkg/kubelet/apis/config/scheme/testdata/KubeletConfiguration/after/v1beta1.yaml b/pkg/kubelet/apis/config/scheme/testdata/KubeletConfiguration/after/v1beta1.yaml
index 4444444..5555555 100644
--- a/pkg/kubelet/apis/config/scheme/testdata/KubeletConfiguration/after/v1beta1.yaml
+++ b/pkg/kubelet/apis/config/scheme/testdata/KubeletConfiguration/after/v1beta1.yaml
@@ -50,2 +50,3 @@
 imageMinimumGCAge: 2m0s
+imagePullFallbackTimeout: 10s
diff --git a/api/openapi-spec/swagger.json b/api/openapi-spec/swagger.json
index 6666666..7777777 100644
--- a/api/openapi-spec/swagger.json
+++ b/api/openapi-spec/swagger.json
@@ -1,1 +1,1 @@
-{}
+{ }
diff --git a/staging/src/k8s.io/api/core/v1/generated.proto b/staging/src/k8s.io/api/core/v1/generated.proto
index 8888888..9999999 100644
--- a/staging/src/k8s.io/api/core/v1/generated.proto
+++ b/staging/src/k8s.io/api/core/v1/generated.proto
@@ -1,1 +1,1 @@
-// a
+// b
diff --git a/pkg/old/gone.go b/pkg/old/gone.go
deleted file mode 100644
index aaaaaaa..0000000
--- a/pkg/old/gone.go
+++ /dev/null
@@ -1,1 +0,0 @@
-package old
-- 
2.39.5
`;

describe('touchedFiles', () => {
  it('lists every file of a format-patch text, deletions under their old path', () => {
    expect(touchedFiles(SERIES_DIFF)).toEqual([
      { path: 'pkg/kubelet/images/image_manager.go', deleted: false },
      { path: 'pkg/kubelet/images/pull_errors.go', deleted: false },
      { path: 'pkg/kubelet/apis/config/scheme/testdata/KubeletConfiguration/after/v1beta1.yaml', deleted: false },
      { path: 'api/openapi-spec/swagger.json', deleted: false },
      { path: 'staging/src/k8s.io/api/core/v1/generated.proto', deleted: false },
      { path: 'pkg/old/gone.go', deleted: true },
    ]);
  });

  it('ignores text that merely looks like a diff inside a commit message body', () => {
    expect(touchedFiles('Subject: x\n\n  diff --git a/x b/x (quoted)\n')).toEqual([]);
  });
});

describe('goPackageDirs', () => {
  const goDirs = new Set([
    'pkg/kubelet/images',
    'pkg/kubelet/apis/config/scheme',
    'staging/src/k8s.io/api/core/v1',
  ]);

  it('derives packages from Go files, testdata owners and Go directories, not from other files', () => {
    expect(goPackageDirs(touchedFiles(SERIES_DIFF), (d) => goDirs.has(d))).toEqual([
      './pkg/kubelet/apis/config/scheme',
      './pkg/kubelet/images',
      './staging/src/k8s.io/api/core/v1',
    ]);
  });

  it('drops a package whose directory no longer holds Go files', () => {
    expect(goPackageDirs([{ path: 'pkg/old/gone.go', deleted: true }], () => false)).toEqual([]);
  });

  it('deduplicates and sorts', () => {
    const files = [
      { path: 'b/x.go', deleted: false },
      { path: 'a/y.go', deleted: false },
      { path: 'b/z_test.go', deleted: false },
    ];
    expect(goPackageDirs(files, () => true)).toEqual(['./a', './b']);
  });

  it('never yields the repository root', () => {
    expect(goPackageDirs([{ path: 'go.work', deleted: false }], () => true)).toEqual([]);
  });
});

describe('kubeImportPath', () => {
  it('maps staging directories to their own module paths', () => {
    expect(kubeImportPath('./staging/src/k8s.io/api/core/v1')).toBe('k8s.io/api/core/v1');
    expect(kubeImportPath('./pkg/kubelet/images')).toBe('k8s.io/kubernetes/pkg/kubelet/images');
  });
});

function events(...evs: object[]): string[] {
  return evs.map((e) => JSON.stringify(e));
}

describe('GoTestJsonCounter', () => {
  const P = 'k8s.io/kubernetes/pkg/kubelet/images';

  it('counts top-level tests and subtests and reports each package once when done', () => {
    const done: PackageResult[] = [];
    const c = new GoTestJsonCounter((r) => done.push({ ...r }));
    for (const l of events(
      { Action: 'start', Package: P },
      { Action: 'run', Package: P, Test: 'TestA' },
      { Action: 'run', Package: P, Test: 'TestA/one' },
      { Action: 'pass', Package: P, Test: 'TestA/one', Elapsed: 0 },
      { Action: 'run', Package: P, Test: 'TestA/two' },
      { Action: 'pass', Package: P, Test: 'TestA/two', Elapsed: 0 },
      { Action: 'pass', Package: P, Test: 'TestA', Elapsed: 0 },
      { Action: 'run', Package: P, Test: 'TestB' },
      { Action: 'skip', Package: P, Test: 'TestB', Elapsed: 0 },
      { Action: 'run', Package: P, Test: 'TestC' },
      { Action: 'output', Package: P, Test: 'TestC', Output: '    x_test.go:12: want 1, got 2\n' },
      { Action: 'run', Package: P, Test: 'TestC/sub' },
      { Action: 'fail', Package: P, Test: 'TestC/sub', Elapsed: 0 },
      { Action: 'fail', Package: P, Test: 'TestC', Elapsed: 0.01 },
      { Action: 'output', Package: P, Output: 'FAIL\n' },
      { Action: 'fail', Package: P, Elapsed: 7.4 },
    )) {
      c.line(l);
    }
    expect(done).toHaveLength(1);
    const r = done[0]!;
    expect(r).toMatchObject({ pkg: P, passed: 1, failed: 1, skipped: 1, subtestsPassed: 2, subtestsFailed: 1, status: 'fail', elapsed: 7.4 });
    expect(r.failedTests).toEqual(['TestC']);
    expect(r.failureOutput).toContain('    x_test.go:12: want 1, got 2');
    expect(c.totals()).toEqual({ passed: 1, failed: 1, skipped: 1, failedPackages: [P] });
    expect(formatPackageLine(r)).toBe(`FAIL ${P}  1 passed, 1 failed, 1 skipped (3 subtests)  7.4s`);
  });

  it('marks cached results and packages without test files', () => {
    const c = new GoTestJsonCounter();
    for (const l of events(
      { Action: 'output', Package: 'k8s.io/kubernetes/pkg/features', Output: 'ok  \tk8s.io/kubernetes/pkg/features\t(cached)\n' },
      { Action: 'pass', Package: 'k8s.io/kubernetes/pkg/features', Elapsed: 0 },
      { Action: 'output', Package: 'k8s.io/kubernetes/pkg/kubelet/events', Output: '?   \tk8s.io/kubernetes/pkg/kubelet/events\t[no test files]\n' },
      { Action: 'skip', Package: 'k8s.io/kubernetes/pkg/kubelet/events', Elapsed: 0 },
    )) {
      c.line(l);
    }
    expect(c.packages.get('k8s.io/kubernetes/pkg/features')?.cached).toBe(true);
    expect(c.packages.get('k8s.io/kubernetes/pkg/kubelet/events')?.status).toBe('skip');
    expect(formatPackageLine(c.packages.get('k8s.io/kubernetes/pkg/kubelet/events')!)).toBe(
      'skip k8s.io/kubernetes/pkg/kubelet/events  no test files  0.0s',
    );
    expect(formatPackageLine(c.packages.get('k8s.io/kubernetes/pkg/features')!)).toBe(
      'ok   k8s.io/kubernetes/pkg/features  0 passed, 0 failed  0.0s (cached)',
    );
    expect(c.totals().failedPackages).toEqual([]);
  });

  it('counts a build failure as a failed package even with no failed test (Go >= 1.24 events)', () => {
    const c = new GoTestJsonCounter();
    for (const l of events(
      { ImportPath: `${P} [${P}.test]`, Action: 'build-output', Output: '# k8s.io/kubernetes/pkg/kubelet/images\n' },
      { ImportPath: `${P} [${P}.test]`, Action: 'build-output', Output: 'pkg/kubelet/images/x.go:3:2: undefined: foo\n' },
      { ImportPath: `${P} [${P}.test]`, Action: 'build-fail' },
      { Action: 'start', Package: P },
      { Action: 'output', Package: P, Output: `FAIL\t${P} [build failed]\n` },
      { Action: 'fail', Package: P, Elapsed: 0, FailedBuild: `${P} [${P}.test]` },
    )) {
      c.line(l);
    }
    const r = c.packages.get(P)!;
    expect(r.buildFailed).toBe(true);
    expect(r.failureOutput).toContain('pkg/kubelet/images/x.go:3:2: undefined: foo');
    expect(c.totals()).toMatchObject({ passed: 0, failed: 0, failedPackages: [P] });
    expect(formatPackageLine(r)).toBe(`FAIL ${P}  build failed  0.0s`);
  });

  it('names the packages whose test binaries are running', () => {
    const c = new GoTestJsonCounter();
    c.line(JSON.stringify({ Action: 'start', Package: P }));
    c.line(JSON.stringify({ Action: 'start', Package: 'k8s.io/api/core/v1' }));
    c.line(JSON.stringify({ Action: 'pass', Package: 'k8s.io/api/core/v1', Elapsed: 0.1 }));
    expect(c.running(Date.now() + 5_000)).toEqual(['pkg/kubelet/images (5s)']);
  });

  it('keeps lines that are not events instead of crashing', () => {
    const c = new GoTestJsonCounter();
    c.line('go: updates to go.mod needed');
    c.line('');
    expect(c.stray).toEqual(['go: updates to go.mod needed']);
    expect(c.packages.size).toBe(0);
  });
});

const PATCH_TEXT = `From 1 Mon Sep 17 00:00:00 2001
Subject: [PATCH 6/7] kubelet: fall back

---
diff --git a/pkg/a.go b/pkg/a.go
index 1..2 100644
--- a/pkg/a.go
+++ b/pkg/a.go
@@ -3,3 +3,4 @@ package a
 x
+y
@@ -97,6 +98,9 @@ func (m *imageManager) pullImage(
 z
+w
diff --git a/pkg/b.go b/pkg/b.go
index 3..4 100644
--- a/pkg/b.go
+++ b/pkg/b.go
@@ -1,1 +1,1 @@
-q
+r
`;

describe('parseApplyError', () => {
  it('names the failing hunk, its header and its line in the patch file', () => {
    const stderr = 'error: patch failed: pkg/a.go:97\nerror: pkg/a.go: patch does not apply\n';
    expect(parseApplyError(stderr, PATCH_TEXT)).toEqual({
      file: 'pkg/a.go',
      line: 97,
      hunk: 2,
      hunkHeader: '@@ -97,6 +98,9 @@ func (m *imageManager) pullImage(',
      patchLine: 12,
      reason: 'error: patch failed: pkg/a.go:97\nerror: pkg/a.go: patch does not apply',
    });
  });

  it('names a missing file and the line of its section', () => {
    const f = parseApplyError('error: pkg/b.go: No such file or directory\n', PATCH_TEXT);
    expect(f).toMatchObject({ file: 'pkg/b.go', patchLine: 15 });
  });

  it('keeps git’s words when it cannot tell more', () => {
    expect(parseApplyError('error: corrupt patch at line 12\n', PATCH_TEXT)).toEqual({ reason: 'error: corrupt patch at line 12' });
  });
});

describe('parseBaseFile', () => {
  it('reads the module and version, skipping comments', () => {
    expect(parseBaseFile('# base\n\nk8s.io/kubernetes v1.34.4\n')).toEqual({ module: 'k8s.io/kubernetes', version: 'v1.34.4', line: 3 });
    expect(parseBaseFile('# nothing\n')).toBeUndefined();
    expect(parseBaseFile('k8s.io/kubernetes latest\n')).toBeUndefined();
  });
});

// checkSeries against a real (tiny) git repository: git is all it needs, so it always runs.
describe('checkSeries', () => {
  let root: string;
  let repo: string;
  let patches: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cif-patch-test-'));
    repo = join(root, 'repo');
    patches = join(root, 'patches');
    await mkdir(join(repo, 'pkg'), { recursive: true });
    await mkdir(patches);
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    await writeFile(join(repo, 'pkg', 'a.go'), `${lines.join('\n')}\n`);
    await run('git', ['init', '-q', '-b', 'main', repo]);
    await run('git', ['-C', repo, 'add', '-A']);
    await run('git', ['-C', repo, ...GIT_IDENTITY, 'commit', '-q', '-m', 'base']);
    await run('git', ['-C', repo, 'tag', 'v0.0.1']);
    // two commits on a branch → a two-patch series; the second depends on the first
    await run('git', ['-C', repo, 'checkout', '-q', '-b', 'series']);
    await writeFile(join(repo, 'pkg', 'a.go'), `${lines.map((l, i) => (i === 4 ? 'line five' : l)).join('\n')}\n`);
    await run('git', ['-C', repo, ...GIT_IDENTITY, 'commit', '-q', '-am', 'one']);
    await writeFile(
      join(repo, 'pkg', 'a.go'),
      `${lines.map((l, i) => (i === 4 ? 'line five' : i === 24 ? 'line twenty-five' : l)).join('\n')}\n`,
    );
    await run('git', ['-C', repo, ...GIT_IDENTITY, 'commit', '-q', '-am', 'two']);
    await run('git', ['-C', repo, 'format-patch', '-q', 'v0.0.1', '-o', patches]);
    await run('git', ['-C', repo, 'checkout', '-q', 'main']);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const tree = () => ({ dir: repo, baseRef: 'v0.0.1', version: 'v0.0.1', external: true });

  it('checks each patch on top of the ones before it, without touching the checkout', async () => {
    const series = await readSeries(patches);
    expect(series.patches).toHaveLength(2);
    const seen: string[] = [];
    await checkSeries(tree(), series, (l) => seen.push(l));
    expect(seen).toHaveLength(2);
    const status = await run('git', ['-C', repo, 'status', '--porcelain']);
    expect(status.stdout).toBe('');
  });

  it('names the patch, the hunk and the upstream file:line when a patch does not apply', async () => {
    // move the base under the second patch's hunk: line 25 changes upstream
    const second = (await readSeries(patches)).patches[1]!;
    const text = await readFile(second, 'utf8');
    await writeFile(second, text.replace(/^-line 25$/m, '-line 25 (changed upstream)'));
    const series = await readSeries(patches);
    const err = await checkSeries(tree(), series).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    expect(e.exitCode).toBe(2);
    expect(e.where).toMatch(/0002-two\.patch:\d+$/);
    expect(e.message).toMatch(/hunk #1 \(@@ -22,7 \+22,7 @@.*\) of pkg\/a\.go:22/);
    const patchLine = Number(e.where!.split(':').pop());
    const lines = (await readFile(second, 'utf8')).split('\n');
    expect(lines[patchLine - 1]).toMatch(/^@@ -22,7 \+22,7 @@/);
  });
});

describe('goTest without a Go toolchain', () => {
  it('fails with a HostError that says what is missing and how to fix it', async () => {
    const emptyBin = await mkdtemp(join(tmpdir(), 'cif-no-go-'));
    const savedPath = process.env.PATH;
    process.env.PATH = emptyBin;
    try {
      const err = await goTest(emptyBin, ['./pkg/x']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostError);
      expect((err as HostError).message).toMatch(/^go not found on PATH/);
      expect((err as HostError).hint).toMatch(/install Go/);
      expect((err as HostError).exitCode).toBe(1);
    } finally {
      process.env.PATH = savedPath;
      await rm(emptyBin, { recursive: true, force: true });
    }
  });
});
