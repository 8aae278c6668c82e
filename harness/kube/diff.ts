/**
 * Reading the series' diffs and git's answers about them: which files and Go packages a patch touches, where
 * a patch that does not apply fails (patch, hunk, upstream file:line), and the BASE file. Pure; tested in
 * patch.test.ts.
 */
import { dirname } from 'node:path';
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
