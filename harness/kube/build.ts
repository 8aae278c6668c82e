/**
 * Kubernetes binaries from the patched tree (tree.ts), built the way upstream's hack/lib/golang.sh builds a
 * release: static (CGO_ENABLED=0), -trimpath, stripped, and stamped with the version through the same `-X`
 * ldflags on k8s.io/component-base/version and k8s.io/client-go/pkg/version. The version is a valid semver
 * that names the series (`v1.34.4-cif.<series-hash>`), so `kubectl get nodes` shows which series a node runs.
 *
 * Cached by (pins, series hash, Go version, build flags): a hit costs one `go env` call. The Go build cache
 * keeps a changed series cheap too — only the packages the patches touch recompile.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cached, hashInputs } from '../lib/cache.ts';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import type { PatchedTree } from './tree.ts';

/** What `cif build` produces from the tree, in the order upstream's release lists them. */
export const KUBE_BINARIES = [
  'kubelet',
  'kubeadm',
  'kubectl',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kube-proxy',
] as const;
export type KubeBinary = (typeof KUBE_BINARIES)[number];

/** Flags that shape the binaries; part of the cache key, so changing one rebuilds. */
export const GO_BUILD_FLAGS = ['-trimpath'] as const;
export const GO_LDFLAGS_BASE = ['-s', '-w'] as const;
export const GO_BUILD_ENV = { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64', GOFLAGS: '-buildvcs=false' } as const;

export interface VersionInfo {
  gitVersion: string;
  gitMajor: string;
  gitMinor: string;
  gitCommit: string;
  gitTreeState: 'clean' | 'dirty';
  buildDate: string;
}

export interface KubeBuild {
  /** Directory holding one file per KUBE_BINARIES entry. */
  binDir: string;
  version: VersionInfo;
  /** The cache key: stable across runs for the same inputs, part of every downstream image key. */
  key: string;
  /** Patches in the series this build came from (0 = upstream). */
  seriesLength: number;
  seriesHash: string;
  hit: boolean;
}

/**
 * `v1.34.4` + series hash → `v1.34.4-cif.<hash>`. A semver pre-release identifier that is all digits must not
 * have a leading zero, so a purely numeric hash gets a letter in front; the result is always valid semver and
 * a valid image tag (no `+`).
 */
export function cifVersion(kubeVersion: string, seriesHash: string): string {
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(kubeVersion);
  if (!m) throw new HostError(`pinned Kubernetes version ${kubeVersion} is not vMAJOR.MINOR.PATCH`);
  if (!/^[0-9a-f]+$/.test(seriesHash)) throw new HostError(`series hash ${seriesHash} is not hex`);
  const id = /^\d+$/.test(seriesHash) ? `h${seriesHash}` : seriesHash;
  return `${kubeVersion}-cif.${id}`;
}

/** The SemVer 2.0 grammar Kubernetes' hack/lib/version.sh enforces before it builds. */
export const SEMVER = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

export function versionInfo(gitVersion: string, gitCommit: string, treeState: 'clean' | 'dirty', buildDate: string): VersionInfo {
  const m = /^v(\d+)\.(\d+)\./.exec(gitVersion);
  if (!m || !SEMVER.test(gitVersion)) throw new HostError(`${gitVersion} is not a valid semantic version`);
  return { gitVersion, gitMajor: m[1]!, gitMinor: m[2]!, gitCommit, gitTreeState: treeState, buildDate };
}

/** The `-ldflags` value: upstream's `-X` pairs for both version packages, plus strip flags. */
export function versionLdflags(v: VersionInfo): string {
  const pairs: [string, string][] = [
    ['buildDate', v.buildDate],
    ['gitCommit', v.gitCommit],
    ['gitTreeState', v.gitTreeState],
    ['gitVersion', v.gitVersion],
    ['gitMajor', v.gitMajor],
    ['gitMinor', v.gitMinor],
  ];
  const x = pairs.flatMap(([k, val]) => [
    `-X 'k8s.io/client-go/pkg/version.${k}=${val}'`,
    `-X 'k8s.io/component-base/version.${k}=${val}'`,
  ]);
  return [...GO_LDFLAGS_BASE, ...x].join(' ');
}

/** The cache key for a build: every input that changes the bytes, none that doesn't (paths, time). */
export function buildKey(inputs: { kubernetes: string; seriesHash: string; goVersion: string; gitCommit: string }): string {
  return hashInputs({
    what: 'kube-binaries',
    ...inputs,
    binaries: KUBE_BINARIES,
    flags: GO_BUILD_FLAGS,
    ldflagsBase: GO_LDFLAGS_BASE,
    env: GO_BUILD_ENV,
  });
}

export async function goVersion(): Promise<string> {
  const r = await run('go', ['env', 'GOVERSION'], { reject: false, cwd: '/' }).catch(() => undefined);
  if (!r || r.exitCode !== 0) {
    throw new HostError('go not found on PATH (the Kubernetes binaries and every image are built with Go)', {
      hint: 'install Go >= 1.24 (scripts/setup-host checks this)',
    });
  }
  return r.stdout.trim();
}

export async function buildKube(tree: PatchedTree, log: (l: string) => void = () => {}): Promise<KubeBuild> {
  const go = await goVersion();
  const head = (await run('git', ['-C', tree.dir, 'rev-parse', 'HEAD'])).stdout.trim();
  const key = buildKey({ kubernetes: tree.version, seriesHash: tree.series.hash, goVersion: go, gitCommit: head });
  const entry = await cached('kube-bin', key, async (tmp) => {
    const dirty = (await run('git', ['-C', tree.dir, 'status', '--porcelain', '--untracked-files=no'])).stdout.trim();
    // buildDate from the commit, not the clock: the same inputs give the same bytes.
    const date = (await run('git', ['-C', tree.dir, 'log', '-1', '--format=%cd', '--date=format-local:%Y-%m-%dT%H:%M:%SZ'], {
      env: { TZ: 'UTC' },
    })).stdout.trim();
    const v = versionInfo(cifVersion(tree.version, tree.series.hash), head, dirty ? 'dirty' : 'clean', date);
    const binDir = join(tmp, 'bin');
    await mkdir(binDir);
    log(`go build ${KUBE_BINARIES.join(' ')} (${v.gitVersion}, ${go})`);
    await run(
      'go',
      ['build', ...GO_BUILD_FLAGS, `-ldflags=${versionLdflags(v)}`, '-o', binDir + '/', ...KUBE_BINARIES.map((b) => `./cmd/${b}`)],
      { cwd: tree.dir, env: { ...GO_BUILD_ENV } },
    );
    // A static binary is the contract (pause and etcd images carry no libc). `file` is optional: without it
    // the check is skipped — CGO_ENABLED=0 makes them static anyway.
    for (const b of KUBE_BINARIES) {
      const f = (await run('file', ['-b', join(binDir, b)], { reject: false })).stdout;
      if (f && !/statically linked|static-pie/.test(f)) throw new HostError(`${b} is not statically linked: ${f}`);
    }
    const got = (await run(join(binDir, 'kubelet'), ['--version'])).stdout.trim();
    if (got !== `Kubernetes ${v.gitVersion}`) throw new HostError(`kubelet reports "${got}", expected "Kubernetes ${v.gitVersion}"`);
    await writeFile(join(tmp, 'version.json'), JSON.stringify({ ...v, series: tree.series.patches.length, seriesHash: tree.series.hash }, null, 2) + '\n');
  });
  const meta = JSON.parse(await readFile(join(entry.dir, 'version.json'), 'utf8')) as VersionInfo & { series: number; seriesHash: string };
  const { series, seriesHash, ...version } = meta;
  return { binDir: join(entry.dir, 'bin'), version, key, seriesLength: series, seriesHash, hit: entry.hit };
}

/**
 * What the built kubelet supports, asked of the binary itself (never inferred from the series), so an
 * unpatched build never gets a gate or config fields it would reject at startup:
 * - gate: `kubelet --help` lists every feature gate it knows;
 * - fallbackConfig: the KubeletConfiguration JSON field names are in the binary (struct tags survive -s -w).
 */
export async function kubeletCapabilities(binDir: string): Promise<{ gate: boolean; fallbackConfig: boolean }> {
  const help = await run(join(binDir, 'kubelet'), ['--help'], { reject: false });
  const gate = new RegExp(`${CIF_FEATURE_GATE}=`).test(help.stdout + help.stderr);
  const bytes = await readFile(join(binDir, 'kubelet'));
  const fallbackConfig = bytes.includes('imagePullFallbackTimeout') && bytes.includes('imagePullFallbackCircuitBreakerWindow');
  return { gate, fallbackConfig };
}

export const CIF_FEATURE_GATE = 'ImagePullPolicyCachedIfFailed';
