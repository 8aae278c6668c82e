/**
 * The kind node image, assembled to kind's layout the way `kind build node-image` does it — but from local
 * images, which kind's own builder can't use (it fetches with `ctr content fetch` inside its build
 * container):
 *   base image (node-files.ts)  +  kubelet/kubeadm/kubectl in /usr/bin  +  every image kubeadm and our
 *   manifests reference, imported into containerd's k8s.io namespace  +  /kind/version  +
 *   /kind/manifests/default-cni.yaml
 * then `docker commit`. No /kind/manifests/default-storage.yaml: kind then installs its legacy default
 * StorageClass (provisioner kubernetes.io/host-path, served by kube-controller-manager, which kind starts with
 * --enable-hostpath-provisioner) — dynamic volumes work without local-path-provisioner's images.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pins } from '../pins.ts';
import { cacheRoot, hashInputs } from '../lib/cache.ts';
import { HostError, NotBuiltError } from '../lib/errors.ts';
import { run, shellQuote } from '../lib/exec.ts';
import { cleanups } from '../lib/run-context.ts';
import type { KubeBuild } from '../kube/build.ts';
import { dockerBuild, imageExists, labelLines, rootfsImage, ROOTFS } from './base.ts';
import { GO_TOOLS, goModuleBinary, type ComponentImages } from './components.ts';
import { cniManifest } from './components-cni.ts';
import { NODE_FILES, nodeBaseDockerfile } from './node-files.ts';
import { processAlive } from '../lib/process.ts';

export const NODE_BINARIES = ['kubelet', 'kubeadm', 'kubectl'] as const;
export const NODE_REPO = 'cif/node';

export async function nodeBaseImage(log: (l: string) => void = () => {}): Promise<{ ref: string; key: string }> {
  const rootfs = await rootfsImage(ROOTFS.node, log);
  const crictl = await goModuleBinary(GO_TOOLS.crictl, log);
  const inputs = hashInputs({ what: 'node-base', rootfs: rootfs.key, files: NODE_FILES, crictl: GO_TOOLS.crictl });
  const files: Record<string, string | { copyFrom: string; mode?: number }> = { crictl: { copyFrom: crictl, mode: 0o755 } };
  for (const [p, f] of Object.entries(NODE_FILES)) files[`files/${p}`] = f.content;
  const r = await dockerBuild({ repo: 'cif/node-base', key: inputs, files, dockerfile: nodeBaseDockerfile(rootfs.ref, labelLines('node-base')) }, log);
  return { ref: r.ref, key: r.key };
}

export interface NodeImage {
  ref: string;
  key: string;
  kubeVersion: string;
  /** True when the patched kubelet knows the CachedIfFailed gate (recorded as an image label too). */
  hit: boolean;
}

export function nodeImageRef(kubeVersion: string, key: string): string {
  return `${NODE_REPO}:${kubeVersion}-${key.slice(0, 12)}`;
}

export async function buildNodeImage(
  kube: KubeBuild,
  components: ComponentImages,
  log: (l: string) => void = () => {},
): Promise<NodeImage> {
  const base = await nodeBaseImage(log);
  const manifest = cniManifest(components.cniImage);
  const key = hashInputs({ what: 'node', base: base.key, kube: kube.key, images: components.key, cni: manifest });
  const images = components.images.map((i) => i.name);
  return assembleNodeImage({
    base: base.ref,
    ref: nodeImageRef(kube.version.gitVersion, key),
    key,
    kube,
    images,
    files: {
      '/kind/version': `${kube.version.gitVersion}\n`,
      '/kind/manifests/default-cni.yaml': manifest,
      '/kind/images': images.join('\n') + '\n',
    },
    log,
  });
}

/**
 * `cif build --online`: the stock kindest/node image for the same minor (pins.kindNodeImage, pulled when
 * absent) with our kubelet/kubeadm/kubectl and our control-plane images swapped in. Everything else —
 * containerd, kindnetd, pause, etcd, coredns, storage — is kind's; images kubeadm v1.34.4 wants that the
 * stock image lacks (e.g. a newer etcd tag) are pulled by the kubelet, which is why this needs a registry.
 */
export async function buildOnlineNodeImage(
  kube: KubeBuild,
  controlPlane: ComponentImages,
  log: (l: string) => void = () => {},
): Promise<NodeImage> {
  const stock = await ensureStockNodeImage(log);
  const baseId = (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', stock])).stdout.trim();
  const key = hashInputs({ what: 'node-online', base: baseId, kube: kube.key, images: controlPlane.key });
  return assembleNodeImage({
    base: stock,
    ref: `${NODE_REPO}:${kube.version.gitVersion}-online-${key.slice(0, 12)}`,
    key,
    kube,
    images: controlPlane.images.map((i) => i.name),
    files: { '/kind/version': `${kube.version.gitVersion}\n` },
    log,
  });
}

/** The stock kindest/node image, pulled when absent (the first step of `cif build --online`: fail early). */
export async function ensureStockNodeImage(log: (l: string) => void = () => {}): Promise<string> {
  const stock = pins.kindNodeImage;
  if (await imageExists(stock)) return stock;
  log(`docker pull ${stock}`);
  const r = await run('docker', ['pull', stock], { reject: false, timeout: 20 * 60_000 });
  if (r.exitCode !== 0) {
    throw new HostError(`--online: could not pull ${stock}: ${r.stderr.trim().split('\n').pop()}`, {
      hint: 'no container registry is reachable from this host: use `cif build` (air-gapped) instead',
    });
  }
  return stock;
}

export interface NodeAssembly {
  /** The image to start from (our node base, or kindest/node). Its ENTRYPOINT/CMD are kept. */
  base: string;
  ref: string;
  key: string;
  kube: KubeBuild;
  /** Local docker images to import into the node's containerd (k8s.io namespace). */
  images: string[];
  /** Files to write in the node: absolute path → content. */
  files: Record<string, string>;
  log?: (l: string) => void;
}

/** What kind's `build node-image` does, from local images: binaries, images into containerd, files, commit. */
export async function assembleNodeImage(a: NodeAssembly): Promise<NodeImage> {
  const log = a.log ?? (() => {});
  const kubeVersion = a.kube.version.gitVersion;
  if (await imageExists(a.ref)) return { ref: a.ref, key: a.key, kubeVersion, hit: true };
  const cfg = JSON.parse((await run('docker', ['image', 'inspect', '--format', '{{json .Config}}', a.base])).stdout) as {
    Entrypoint: string[] | null;
    Cmd: string[] | null;
  };

  await removeStaleBuildContainers();
  const name = `cif-nodebuild-${process.pid}-${Date.now()}`;
  log(`assembling ${a.ref}`);
  // SIGINT/SIGTERM mid-assembly: remove the build container (a SIGKILL leaves it for the next run, above).
  const unregister = cleanups.add(`remove ${name}`, async () => {
    await run('docker', ['rm', '-f', name], { reject: false });
  });
  await run('docker', ['run', '-d', '--privileged', '--name', name, '--entrypoint', 'sleep', a.base, 'infinity']);
  try {
    const exec = (args: string[], input?: string) => run('docker', ['exec', ...(input ? ['-i'] : []), name, ...args], input ? { input } : {});
    for (const b of NODE_BINARIES) await run('docker', ['cp', join(a.kube.binDir, b), `${name}:/usr/bin/${b}`]);
    // containerd only long enough to import: the content store lands in /var/lib/containerd, which is part
    // of the image (kind mounts /var as a volume, and docker seeds a new volume from the image's /var).
    await exec(['sh', '-c', 'containerd >/var/log/cif-containerd-build.log 2>&1 &']);
    await waitFor(() => exec(['ctr', 'version']).then(() => true, () => false), 30, 'containerd in the build container');
    log(`importing ${a.images.length} images`);
    // --no-unpack: the build container's root is overlayfs, where containerd's overlay snapshotter can't mount;
    // the CRI unpacks on first use inside the node (whose /var is a volume).
    await importImages(name, a.images);
    const listed = (await exec(['ctr', '-n', 'k8s.io', 'images', 'ls', '-q'])).stdout.split('\n');
    const missing = a.images.filter((n) => !listed.includes(n));
    if (missing.length) throw new HostError(`images missing from the node's containerd after import: ${missing.join(', ')}`);
    for (const [path, content] of Object.entries(a.files)) {
      await exec(['sh', '-c', `mkdir -p "$(dirname '${path}')" && cat > '${path}'`], content);
    }
    // stop containerd cleanly so its bolt DB is closed before the commit (PID 1 is `sleep`, which doesn't reap:
    // an exited containerd stays a zombie, so wait for "no live containerd", not "no containerd").
    await exec(['sh', '-c', 'pkill -x containerd; for i in $(seq 100); do ps -o stat= -C containerd | grep -qv "^Z" || exit 0; sleep 0.2; done; exit 1']);
    await exec(['rm', '-f', '/var/log/cif-containerd-build.log']);
    await run('docker', [
      'commit',
      '--change', `ENTRYPOINT ${JSON.stringify(cfg.Entrypoint ?? [])}`,
      '--change', `CMD ${JSON.stringify(cfg.Cmd ?? [])}`,
      // (no labels on the build container: commit would bake them into the image and every kind node)
      '--change', `LABEL cif.image=node cif.kube-version=${kubeVersion} cif.series=${a.kube.seriesHash} cif.series-length=${a.kube.seriesLength}`,
      name, a.ref,
    ]);
  } finally {
    await run('docker', ['rm', '-f', name], { reject: false });
    unregister();
  }
  return { ref: a.ref, key: a.key, kubeVersion, hit: false };
}

/** Build containers whose builder process is gone (killed mid-build): their names carry the builder's PID. */
export async function removeStaleBuildContainers(): Promise<string[]> {
  const r = await run('docker', ['ps', '-a', '--filter', 'name=^cif-nodebuild-', '--format', '{{.Names}}'], { reject: false });
  const stale = r.stdout
    .split('\n')
    .filter(Boolean)
    .filter((n) => {
      const pid = Number(/^cif-nodebuild-(\d+)-/.exec(n)?.[1]);
      return Number.isInteger(pid) && !processAlive(pid);
    });
  for (const n of stale) await run('docker', ['rm', '-f', n], { reject: false });
  return stale;
}


/** `docker save names… | docker exec -i C ctr -n k8s.io images import --no-unpack -` (one stream: shared layers once) */
async function importImages(container: string, names: string[]): Promise<void> {
  const q = shellQuote;
  await run('bash', [
    '-c',
    `set -o pipefail; docker save ${names.map(q).join(' ')} | docker exec -i ${q(container)} ctr -n k8s.io images import --no-unpack --all-platforms -`,
  ], { timeout: 20 * 60_000 });
}

async function waitFor(probe: () => Promise<boolean>, seconds: number, what: string): Promise<void> {
  for (let i = 0; i < seconds * 2; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new HostError(`timed out after ${seconds}s waiting for ${what}`);
}


// ---------------------------------------------------------------------------------------------------------
// The build record: what `cif build` produced last, read by `cif cluster up` (and anything else that needs
// the node image) without re-running the build.

export interface BuildRecord {
  nodeImage: string;
  kubeVersion: string;
  seriesHash: string;
  seriesLength: number;
  /** What the built binaries support (asked of the kubelet binary, not inferred from the series). */
  capabilities: { gate: boolean; fallbackConfig: boolean };
  /** Host paths of tools built alongside (kind, kubectl), for the cluster layer. */
  tools: { kind: string; kubectl: string };
  images: string[];
  builtAt: string;
}

export function buildRecordPath(): string {
  return join(cacheRoot(), 'builds', 'latest.json');
}

export async function writeBuildRecord(rec: BuildRecord): Promise<void> {
  const p = buildRecordPath();
  await mkdir(dirname(p), { recursive: true });
  await writeFile(`${p}.tmp-${process.pid}`, JSON.stringify(rec, null, 2) + '\n');
  await rename(`${p}.tmp-${process.pid}`, p);
}

export async function readBuildRecord(): Promise<BuildRecord> {
  const p = buildRecordPath();
  let rec: BuildRecord;
  try {
    rec = JSON.parse(await readFile(p, 'utf8')) as BuildRecord;
  } catch {
    throw new NotBuiltError(`the node image (no ${p})`);
  }
  if (!(await imageExists(rec.nodeImage))) throw new NotBuiltError(`the node image ${rec.nodeImage} (recorded in ${p}, but not in docker)`);
  return rec;
}
