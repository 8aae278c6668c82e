/**
 * Debian root filesystems from the Debian archive (debootstrap), and the docker plumbing every image we build
 * shares. No container registry is reachable, so every image starts here: a rootfs tarball is cached under
 * $CIF_CACHE/rootfs/<key>/ (key = suite + variant + package list), imported once with `docker import`, and
 * everything else is `docker build FROM` that local image (legacy builder: it never contacts a registry for a
 * FROM image that exists locally).
 *
 * Two rootfs flavours:
 * - `node`: what a kind node runs — systemd, containerd (Debian's 1.6), runc, the CNI plugins, iptables,
 *   conntrack and the tools kubeadm/kubelet call (mount, nsenter, ethtool, socat …).
 * - `slim`: the base of the component images — kube-proxy needs iptables/conntrack, our CNI daemon needs
 *   iproute2/iptables; the control plane, etcd and coredns are static binaries and only need it as a
 *   shared layer (one copy in each node's content store, whatever number of images use it).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pins } from '../pins.ts';
import { cached, hashInputs } from '../lib/cache.ts';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';

export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export interface RootfsSpec {
  name: 'node' | 'slim';
  packages: readonly string[];
}

export const ROOTFS: Record<RootfsSpec['name'], RootfsSpec> = {
  node: {
    name: 'node',
    packages: [
      'systemd',
      'containerd',
      'runc',
      'containernetworking-plugins',
      'iptables',
      'nftables',
      'conntrack',
      'ebtables',
      'ethtool',
      'socat',
      'iproute2',
      'kmod',
      'util-linux',
      'mount',
      'ca-certificates',
      'procps',
      'libseccomp2',
      'pigz',
    ],
  },
  slim: {
    name: 'slim',
    packages: ['iptables', 'conntrack', 'ipset', 'iproute2', 'kmod', 'ca-certificates'],
  },
};

export const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function rootfsKey(spec: RootfsSpec, suite: string = pins.debianSuite): string {
  return hashInputs({ what: 'debian-rootfs', suite, variant: 'minbase', mirror: DEBIAN_MIRROR, packages: [...spec.packages].sort() });
}

/** The debootstrap command line for a spec (pure: tests check the flags). */
export function debootstrapArgs(spec: RootfsSpec, target: string, suite: string = pins.debianSuite): string[] {
  return ['--variant=minbase', `--include=${[...spec.packages].sort().join(',')}`, '--components=main', suite, target, DEBIAN_MIRROR];
}

/** A cached rootfs tarball: debootstrap into a temp dir, trim what a container never needs, tar it. */
export async function debianRootfs(spec: RootfsSpec, log: (l: string) => void = () => {}): Promise<{ tar: string; key: string }> {
  const key = rootfsKey(spec);
  const entry = await cached('rootfs', `${spec.name}-${key}`, async (tmp) => {
    await requireDebootstrap();
    const dir = join(tmp, 'root');
    log(`debootstrap ${pins.debianSuite} (${spec.name}: ${spec.packages.length} packages)`);
    try {
      await run('debootstrap', debootstrapArgs(spec, dir), { timeout: 30 * 60_000 });
    } finally {
      // debootstrap can leave the target's /proc (and /sys, /dev/pts) mounted: unmount before rm or tar.
      await unmountUnder(dir);
    }
    // docker supplies /dev, /proc, /sys; apt caches and lists are dead weight in every layer.
    await run('sh', ['-c', 'rm -rf dev/* proc/* sys/* var/cache/apt/archives/*.deb var/lib/apt/lists/* var/log/*.log', '-'], { cwd: dir });
    await run('tar', ['--numeric-owner', '--xattrs', '-C', dir, '-cf', join(tmp, 'rootfs.tar'), '.']);
    await rm(dir, { recursive: true, force: true });
  });
  return { tar: join(entry.dir, 'rootfs.tar'), key };
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await run('findmnt', ['-rn', '-o', 'TARGET'], { reject: false })).stdout
    .split('\n')
    .filter((t) => t.startsWith(dir + '/'))
    .sort()
    .reverse();
  for (const m of mounts) await run('umount', ['-l', m], { reject: false });
}

async function requireDebootstrap(): Promise<void> {
  if (!existsSync('/usr/sbin/debootstrap') && !existsSync('/usr/bin/debootstrap')) {
    throw new HostError('debootstrap not found (every image starts from a Debian rootfs)', {
      hint: 'apt-get install debootstrap (scripts/setup-host does this)',
    });
  }
}

/**
 * Labels on every image we build: `cif.image=<name>` (`docker images -f label=cif.image` lists them all).
 * Deliberately NOT cif.owner: a container inherits its image's labels, and kind's node containers (and any
 * test container on these images) must not look like a run's leftovers to label-based cleanup.
 */
export const IMAGE_LABEL = 'cif.image';
export function imageLabels(name: string): Record<string, string> {
  return { [IMAGE_LABEL]: name };
}

export async function imageExists(ref: string): Promise<boolean> {
  const r = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { reject: false });
  return r.exitCode === 0;
}

/** `cif/rootfs-<name>:<key>`: the imported rootfs, the FROM of every image built on it. */
export async function rootfsImage(spec: RootfsSpec, log: (l: string) => void = () => {}): Promise<{ ref: string; key: string }> {
  // the image key covers the tarball and the import changes (labels, env)
  const changes = [`ENV ${PATH_ENV}`, ...Object.entries(imageLabels(`rootfs-${spec.name}`)).map(([k, v]) => `LABEL ${k}=${v}`)];
  const key = hashInputs({ rootfs: rootfsKey(spec), changes });
  const ref = `cif/rootfs-${spec.name}:${key}`;
  if (await imageExists(ref)) return { ref, key };
  const { tar } = await debianRootfs(spec, log);
  log(`docker import ${ref} (${(statSync(tar).size / 2 ** 20).toFixed(0)} MiB)`);
  await run('docker', ['import', ...changes.flatMap((c) => ['--change', c]), tar, ref]);
  return { ref, key };
}

export interface DockerBuildInput {
  /** `cif/<name>`; the tag is a hash of `key` and the Dockerfile, and an existing tag is a cache hit. */
  repo: string;
  /** A hash of every input file (binaries, base image key); the Dockerfile is added here. */
  key: string;
  dockerfile: string;
  /** Files to place in the build context: relative path → content (string) or a host file to copy. */
  files: Record<string, string | { copyFrom: string; mode?: number }>;
  /** Extra tags (the names kubeadm / kind expect). */
  tags?: string[];
}

/** `docker build` from a generated context; never pulls (the FROM images are local). */
export async function dockerBuild(input: DockerBuildInput, log: (l: string) => void = () => {}): Promise<{ ref: string; key: string; hit: boolean }> {
  const key = hashInputs({ key: input.key, dockerfile: input.dockerfile });
  const ref = `${input.repo}:${key}`;
  let hit = true;
  if (!(await imageExists(ref))) {
    hit = false;
    const ctx = join(process.env.TMPDIR || '/tmp', `cif-build-${process.pid}-${Date.now()}`);
    await mkdir(ctx, { recursive: true });
    try {
      for (const [rel, src] of Object.entries(input.files)) {
        const dest = join(ctx, rel);
        await mkdir(join(dest, '..'), { recursive: true });
        if (typeof src === 'string') await writeFile(dest, src);
        else {
          await run('cp', ['-L', src.copyFrom, dest]);
          if (src.mode !== undefined) await run('chmod', [src.mode.toString(8), dest]);
        }
      }
      await writeFile(join(ctx, 'Dockerfile'), input.dockerfile);
      log(`docker build ${ref}`);
      await run('docker', ['build', '-q', '-t', ref, ctx], { env: { DOCKER_BUILDKIT: '0' }, timeout: 20 * 60_000 });
    } finally {
      await rm(ctx, { recursive: true, force: true });
    }
  }
  for (const t of input.tags ?? []) await run('docker', ['tag', ref, t]);
  return { ref, key, hit };
}

/** Dockerfile LABEL lines for imageLabels(). */
export function labelLines(name: string): string {
  return Object.entries(imageLabels(name))
    .map(([k, v]) => `LABEL ${k}="${v}"`)
    .join('\n');
}
