/**
 * The images kubeadm v1.34 and our kind node layout run, under the exact names and tags they expect, all built
 * here: the control plane and kube-proxy from our Kubernetes build; pause from the Kubernetes tree's pause.c
 * (gcc, static); etcd, coredns, crictl and kind from their Go modules on the module proxy; and `cif-net`, our
 * CNI daemon (see cni.ts for why it is not kindnetd).
 *
 * Each image is tagged twice: `cif/<name>:<key>` (key = hash of every input; its existence is the cache
 * check) and the name kubeadm/kind reference (`registry.k8s.io/kube-apiserver:<version>` …).
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { pins } from '../pins.ts';
import { cached, hashInputs } from '../lib/cache.ts';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import type { KubeBuild } from '../kube/build.ts';
import { dockerBuild, labelLines, PATH_ENV, rootfsImage, ROOTFS } from './base.ts';
import { CNI_DAEMON_SCRIPT, CNI_IMAGE_REPO } from './components-cni.ts';

// ---------------------------------------------------------------------------------------------------------
// Go modules → static binaries

export interface GoModuleBinary {
  /** Output file name. */
  name: string;
  module: string;
  version: string;
  /** The main package (import path) inside the module. */
  pkg: string;
  ldflags?: string[];
}

export const GO_TOOLS = {
  etcd: { name: 'etcd', module: 'go.etcd.io/etcd/server/v3', version: pins.etcd, pkg: 'go.etcd.io/etcd/server/v3' },
  etcdctl: { name: 'etcdctl', module: 'go.etcd.io/etcd/etcdctl/v3', version: pins.etcd, pkg: 'go.etcd.io/etcd/etcdctl/v3' },
  coredns: { name: 'coredns', module: 'github.com/coredns/coredns', version: pins.coredns, pkg: 'github.com/coredns/coredns' },
  crictl: {
    name: 'crictl',
    module: 'sigs.k8s.io/cri-tools',
    version: pins.criTools,
    pkg: 'sigs.k8s.io/cri-tools/cmd/crictl',
    ldflags: [`-X sigs.k8s.io/cri-tools/pkg/version.Version=${pins.criTools}`],
  },
  kind: { name: 'kind', module: 'sigs.k8s.io/kind', version: pins.kind, pkg: 'sigs.k8s.io/kind' },
} as const satisfies Record<string, GoModuleBinary>;

/**
 * Builds a main package of a module from the proxy inside a throwaway module that requires it. (`go install
 * m@v` refuses modules whose go.mod has replace directives, and etcd's point at sibling modules; in
 * dependency mode those are ignored and the required versions — the same release — are used.)
 */
export async function goModuleBinary(b: GoModuleBinary, log: (l: string) => void = () => {}): Promise<string> {
  const key = hashInputs({ what: 'go-module-binary', ...b, cgo: 0, trimpath: true });
  const entry = await cached('go-bin', `${b.name}-${b.version}-${key}`, async (tmp) => {
    const mod = join(tmp, 'mod');
    const env = { GOFLAGS: '-mod=mod', GOWORK: 'off', CGO_ENABLED: '0', GOTOOLCHAIN: 'local' };
    await run('mkdir', ['-p', mod]);
    await run('go', ['mod', 'init', `cif.local/build/${b.name}`], { cwd: mod, env });
    log(`go get ${b.module}@${b.version}`);
    await run('go', ['get', `${b.module}@${b.version}`], { cwd: mod, env, timeout: 15 * 60_000 });
    log(`go build ${b.pkg}`);
    await run('go', ['build', '-trimpath', `-ldflags=${['-s', '-w', ...(b.ldflags ?? [])].join(' ')}`, '-o', join(tmp, b.name), b.pkg], {
      cwd: mod,
      env,
      timeout: 40 * 60_000,
    });
    await run('rm', ['-rf', mod]);
  });
  return join(entry.dir, b.name);
}

/** pause from the Kubernetes tree (build/pause/linux/pause.c), static, as upstream's Makefile compiles it. */
export async function pauseBinary(kubeTreeDir: string, log: (l: string) => void = () => {}): Promise<string> {
  const src = join(kubeTreeDir, 'build/pause/linux/pause.c');
  if (!existsSync(src)) throw new HostError(`${src} not found`, { hint: 'the Kubernetes tree is incomplete; delete $CIF_CACHE/kube-tree and rebuild' });
  const key = hashInputs({ what: 'pause', pause: pins.pause, src: (await run('sha256sum', [src])).stdout.split(' ')[0] });
  const entry = await cached('pause', key, async (tmp) => {
    log(`gcc -static pause.c (${pins.pause})`);
    const gcc = await run('gcc', ['-Os', '-Wall', '-Werror', '-static', `-DVERSION=v${pins.pause}`, '-o', join(tmp, 'pause'), src], { reject: false }).catch(
      (err: Error) => ({ exitCode: -1, stderr: err.message }),
    );
    if (gcc.exitCode !== 0) {
      throw new HostError(`could not compile pause.c with gcc:\n${gcc.stderr}`, { hint: 'apt-get install gcc libc6-dev' });
    }
  });
  return join(entry.dir, 'pause');
}

// ---------------------------------------------------------------------------------------------------------
// Images

export interface ImageRef {
  /** The name kubeadm / kind / our manifests use. */
  name: string;
  /** Our content-keyed tag of the same image. */
  ref: string;
  hit: boolean;
}

export interface ComponentImages {
  /** Every image the node imports, expected name first. */
  images: ImageRef[];
  cniImage: string;
  key: string;
}

export const CONTROL_PLANE = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'] as const;

/** The names kubeadm v1.34 gives its images for a Kubernetes version (constants.go; imageRepository default). */
export function kubeadmImageNames(kubeVersion: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of CONTROL_PLANE) out[c] = `registry.k8s.io/${c}:${kubeVersion}`;
  out.pause = `registry.k8s.io/pause:${pins.pause}`;
  out.etcd = `registry.k8s.io/etcd:${pins.etcdImageTag}`;
  out.coredns = `registry.k8s.io/coredns/coredns:${pins.coredns}`;
  return out;
}

export async function buildComponentImages(
  kube: KubeBuild,
  kubeTreeDir: string,
  log: (l: string) => void = () => {},
  opts: { controlPlaneOnly?: boolean } = {},
): Promise<ComponentImages> {
  const slim = await rootfsImage(ROOTFS.slim, log);
  const names = kubeadmImageNames(kube.version.gitVersion);
  const images: ImageRef[] = [];

  // Control plane + kube-proxy: one static binary on the slim Debian layer (kube-proxy needs its iptables).
  for (const c of CONTROL_PLANE) {
    const key = hashInputs({ c, kube: kube.key, base: slim.key });
    const r = await dockerBuild(
      {
        repo: `cif/${c}`,
        key,
        tags: [names[c]!],
        files: { [c]: { copyFrom: join(kube.binDir, c), mode: 0o755 } },
        dockerfile: `FROM ${slim.ref}\n${labelLines(c)}\nCOPY ${c} /usr/local/bin/${c}\nENV ${PATH_ENV}\n`,
      },
      log,
    );
    images.push({ name: names[c]!, ref: r.ref, hit: r.hit });
  }

  // --online: kindest/node brings pause, etcd, coredns and its CNI
  if (opts.controlPlaneOnly) return { images, cniImage: '', key: hashInputs(images.map((i) => [i.name, i.ref])) };

  // pause: static, FROM scratch, running as 65535 like upstream's image.
  const pause = await pauseBinary(kubeTreeDir, log);
  {
    const key = hashInputs({ c: 'pause', bin: await fileHash(pause) });
    const r = await dockerBuild(
      {
        repo: `cif/pause`,
        key,
        tags: [names.pause!],
        files: { pause: { copyFrom: pause, mode: 0o755 } },
        dockerfile: `FROM scratch\n${labelLines('pause')}\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n`,
      },
      log,
    );
    images.push({ name: names.pause!, ref: r.ref, hit: r.hit });
  }

  // etcd (+ etcdctl for debugging): kubeadm runs `etcd --flags…` from PATH.
  {
    const etcd = await goModuleBinary(GO_TOOLS.etcd, log);
    const etcdctl = await goModuleBinary(GO_TOOLS.etcdctl, log);
    const key = hashInputs({ c: 'etcd', etcd: await fileHash(etcd), etcdctl: await fileHash(etcdctl), base: slim.key });
    const r = await dockerBuild(
      {
        repo: `cif/etcd`,
        key,
        tags: [names.etcd!],
        files: { etcd: { copyFrom: etcd, mode: 0o755 }, etcdctl: { copyFrom: etcdctl, mode: 0o755 } },
        dockerfile: `FROM ${slim.ref}\n${labelLines('etcd')}\nCOPY etcd etcdctl /usr/local/bin/\nENV ${PATH_ENV}\n`,
      },
      log,
    );
    images.push({ name: names.etcd!, ref: r.ref, hit: r.hit });
  }

  // coredns: kubeadm's Deployment passes only args (-conf …), so the entrypoint is the binary.
  {
    const coredns = await goModuleBinary(GO_TOOLS.coredns, log);
    const key = hashInputs({ c: 'coredns', bin: await fileHash(coredns), base: slim.key });
    const r = await dockerBuild(
      {
        repo: `cif/coredns`,
        key,
        tags: [names.coredns!],
        files: { coredns: { copyFrom: coredns, mode: 0o755 } },
        dockerfile: `FROM ${slim.ref}\n${labelLines('coredns')}\nCOPY coredns /coredns\nEXPOSE 53 53/udp\nENTRYPOINT ["/coredns"]\n`,
      },
      log,
    );
    images.push({ name: names.coredns!, ref: r.ref, hit: r.hit });
  }

  // cif-net: the CNI daemon (bash + iproute2 + iptables from the slim layer, our kubectl).
  let cniImage: string;
  {
    const key = hashInputs({ c: 'cif-net', kube: kube.key, base: slim.key, script: CNI_DAEMON_SCRIPT });
    const dockerfile = `FROM ${slim.ref}\n${labelLines('cif-net')}\nCOPY kubectl /usr/local/bin/kubectl\nCOPY cif-net /usr/local/bin/cif-net\nRUN chmod 755 /usr/local/bin/cif-net\nENV ${PATH_ENV}\nENTRYPOINT ["/usr/local/bin/cif-net"]\n`;
    cniImage = `${CNI_IMAGE_REPO}:${hashInputs({ key, dockerfile })}`;
    const r = await dockerBuild(
      {
        repo: `cif/cif-net`,
        key,
        tags: [cniImage],
        files: { kubectl: { copyFrom: join(kube.binDir, 'kubectl'), mode: 0o755 }, 'cif-net': CNI_DAEMON_SCRIPT },
        dockerfile,
      },
      log,
    );
    images.push({ name: cniImage, ref: r.ref, hit: r.hit });
  }

  return { images, cniImage, key: hashInputs(images.map((i) => [i.name, i.ref])) };
}

export async function fileHash(path: string): Promise<string> {
  return (await run('sha256sum', [path])).stdout.split(' ')[0]!.slice(0, 16);
}
