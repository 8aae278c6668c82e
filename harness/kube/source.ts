/**
 * The upstream Kubernetes tree, materialized from the Go module proxy at the pinned version — no git clone,
 * no vendored copy in our repo. k8s.io/kubernetes@vX is the root module; its go.mod replaces 31 staging
 * modules (k8s.io/api …) with ./staging/src/k8s.io/<name>, and each is published as k8s.io/<name>@v0.X, so we
 * download those and put them back where upstream keeps them. The result is committed once into a local git
 * repo (the base commit) so that a patch series applies with upstream paths and `git am` / `git diff` work.
 *
 * Cache layout ($CIF_CACHE/kube-tree/<version>/): src/ is the git repo; a completed entry is never rebuilt.
 * `--kube-src DIR` skips all of this and uses the user's git checkout as the base instead.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pins } from '../pins.ts';
import { cached } from '../lib/cache.ts';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';

export interface KubeTree {
  /** The git work tree holding the upstream source at `baseRef`. */
  dir: string;
  /** The commit the series applies to. */
  baseRef: string;
  version: string;
  /** True when the user supplied the checkout (--kube-src); we never modify it in place. */
  external: boolean;
}

interface ModuleDownload {
  Path: string;
  Version: string;
  Dir?: string;
  Error?: string;
}

export const GIT_IDENTITY = ['-c', 'user.name=cif', '-c', 'user.email=cif@localhost', '-c', 'commit.gpgsign=false'];

/**
 * Staging modules that nothing in the build requires and that the module proxy does not serve (it answers
 * "This module version is not available" for the sample-* modules). They are dropped from go.work, and the
 * base commit's message says so; any other missing module is an error.
 */
export const OPTIONAL_STAGING = /^k8s\.io\/sample-(cli-plugin|controller)$/;

/** `go mod download -json m@v …` → the module cache directories, in the order given. */
export async function downloadModules(
  modules: readonly string[],
  optional: RegExp = /$^/,
): Promise<ModuleDownload[]> {
  const r = await run('go', ['mod', 'download', '-json', ...modules], {
    reject: false,
    // outside any module, so no go.mod/go.work of the caller's cwd interferes
    cwd: '/',
    env: { GOFLAGS: '-mod=mod', GOWORK: 'off' },
  });
  const downloads = parseJsonStream<ModuleDownload>(r.stdout);
  const failed = downloads.filter((d) => (d.Error || !d.Dir) && !optional.test(d.Path));
  if (failed.length > 0 || downloads.length !== modules.length) {
    const why = failed.map((d) => `${d.Path}@${d.Version}: ${d.Error}`).join('\n') || r.stderr;
    throw new HostError(`could not download Go modules from the module proxy:\n${why}`, {
      hint: 'check GOPROXY (go env GOPROXY) and that the proxy is reachable',
    });
  }
  return downloads;
}

/** The `k8s.io/x => ./staging/src/k8s.io/x` replace directives of a go.mod text. */
export function stagingReplaces(goMod: string): { module: string; path: string }[] {
  const out: { module: string; path: string }[] = [];
  for (const m of goMod.matchAll(/^\s*(?:replace\s+)?(k8s\.io\/[\w.-]+)\s+=>\s+(\.\/staging\/src\/k8s\.io\/[\w.-]+)\s*$/gm)) {
    out.push({ module: m[1]!, path: m[2]!.slice(2) });
  }
  return out;
}

/** go.work text without the `use` lines for the given relative paths. */
export function dropWorkUses(work: string, paths: readonly string[]): string {
  const drop = new Set(paths.map((p) => `./${p}`));
  return work
    .split('\n')
    .filter((line) => !drop.has(line.trim()))
    .join('\n');
}

/** v1.34.4 → v0.34.4: the tag the staging modules carry for a Kubernetes release. */
export function stagingVersion(kubeVersion: string): string {
  return kubeVersion.replace(/^v1\./, 'v0.');
}

export async function materializeUpstream(version: string = pins.kubernetes, log: (l: string) => void = () => {}): Promise<KubeTree> {
  await requireTool('go', 'the upstream tree is materialized from the Go module proxy');
  await requireTool('git', 'the series is applied with git');
  const entry = await cached('kube-tree', version, async (tmp) => {
    log(`downloading k8s.io/kubernetes@${version}`);
    const [root] = await downloadModules([`k8s.io/kubernetes@${version}`]);
    const src = join(tmp, 'src');
    await cp(root!.Dir!, src, { recursive: true });
    const replaces = stagingReplaces(await readFile(join(src, 'go.mod'), 'utf8'));
    if (replaces.length === 0) throw new HostError(`k8s.io/kubernetes@${version}: go.mod has no staging replaces`);
    log(`downloading ${replaces.length} staging modules @${stagingVersion(version)}`);
    const staged = await downloadModules(
      replaces.map((r) => `${r.module}@${stagingVersion(version)}`),
      OPTIONAL_STAGING,
    );
    const skipped: string[] = [];
    for (const [i, r] of replaces.entries()) {
      const dl = staged[i]!;
      if (dl.Dir) await cp(dl.Dir, join(src, r.path), { recursive: true });
      else skipped.push(r.path);
    }
    if (skipped.length > 0) {
      const workFile = join(src, 'go.work');
      const work = await readFile(workFile, 'utf8');
      await writeFile(workFile, dropWorkUses(work, skipped));
      log(`not served by the module proxy, dropped from go.work: ${skipped.join(', ')}`);
    }
    // the module cache is read-only; git and patches need to write
    await run('chmod', ['-R', 'u+w', src]);
    log('committing the base tree');
    await run('git', ['init', '-q', '-b', 'upstream', src]);
    await run('git', ['-C', src, 'add', '-A']);
    const note = skipped.length ? `\n\nNot served by the module proxy, dropped from go.work:\n${skipped.join('\n')}\n` : '';
    await run('git', ['-C', src, ...GIT_IDENTITY, 'commit', '-q', '-m', `k8s.io/kubernetes ${version} from the Go module proxy${note}`]);
    await run('git', ['-C', src, 'tag', version]);
  });
  const dir = join(entry.dir, 'src');
  return { dir, baseRef: version, version, external: false };
}

/** A user's checkout (--kube-src): must be a git repo; the series applies onto its HEAD in a worktree. */
export async function externalTree(dir: string): Promise<KubeTree> {
  if (!existsSync(join(dir, '.git')) && !existsSync(join(dir, 'go.mod'))) {
    throw new HostError(`${dir} is not a Kubernetes checkout (no .git, no go.mod)`, {
      hint: 'pass the root of a kubernetes/kubernetes git clone, or omit --kube-src',
    });
  }
  const head = await run('git', ['-C', dir, 'rev-parse', 'HEAD']);
  const version = await run('git', ['-C', dir, 'describe', '--tags', '--always'], { reject: false });
  return { dir, baseRef: head.stdout.trim(), version: version.stdout.trim() || 'unknown', external: true };
}

export async function requireTool(tool: string, why: string): Promise<void> {
  const r = await run(tool, ['version'], { reject: false }).catch(() => undefined);
  if (!r || r.exitCode !== 0) {
    throw new HostError(`${tool} not found on PATH (${why})`, {
      hint: tool === 'go' ? 'install Go >= 1.24 (scripts/setup-host checks this)' : `install ${tool}`,
    });
  }
}

function parseJsonStream<T>(text: string): T[] {
  // `go mod download -json` prints one JSON object per module, concatenated.
  const out: T[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as T);
  }
  return out;
}
