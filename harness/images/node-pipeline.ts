/**
 * `cif build`: everything a cluster needs, in order, each step cached —
 *   host preflight → Kubernetes tree (+ series) → binaries → kind, crictl → Debian rootfs images →
 *   component images → node base → node image → build record.
 * A no-op rebuild is a chain of cache hits (one `go env`, a few `docker image inspect`s, two file hashes).
 */
import { join } from 'node:path';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import { runTasks, type Task } from '../lib/progress.ts';
import { hostProbe, runChecks, type HostProbe } from '../host/doctor.ts';
import { materializeUpstream } from '../kube/source.ts';
import { patchedTree, readSeries, type PatchedTree } from '../kube/tree.ts';
import { buildKube, kubeletCapabilities, type KubeBuild } from '../kube/build.ts';
import { rootfsImage, ROOTFS } from './base.ts';
import { buildComponentImages, GO_TOOLS, goModuleBinary, type ComponentImages } from './components.ts';
import { buildNodeImage, buildOnlineNodeImage, ensureStockNodeImage, nodeBaseImage, writeBuildRecord, type BuildRecord, type NodeImage } from './node.ts';

export interface BuildContext {
  tree?: PatchedTree;
  kube?: KubeBuild;
  kind?: string;
  components?: ComponentImages;
  node?: NodeImage;
  record?: BuildRecord;
  timings: Record<string, number>;
}

/** Host tools the build runs besides docker and Go: name → [how to check, the Debian package]. */
export const BUILD_TOOLS: Record<string, { check: [string, string[]]; pkg: string; why: string }> = {
  git: { check: ['git', ['--version']], pkg: 'git', why: 'the series is applied with git am' },
  debootstrap: { check: ['sh', ['-c', 'command -v debootstrap || test -x /usr/sbin/debootstrap']], pkg: 'debootstrap', why: 'every image starts from a Debian rootfs' },
  // pause.c is compiled static: gcc plus glibc's static archive (libc6-dev)
  'gcc -static': { check: ['sh', ['-c', 'test -f "$(gcc -print-file-name=libc.a)"']], pkg: 'gcc libc6-dev', why: 'the pause image is pause.c compiled static' },
};

export type ToolCheck = (file: string, args: string[]) => Promise<boolean>;
const realToolCheck: ToolCheck = async (file, args) => (await run(file, args, { reject: false, timeout: 15_000 }).catch(() => ({ exitCode: 1 }))).exitCode === 0;

/** Fails before any long step when the host can't build: no docker, no privileged containers, no Go, no disk, no tools. */
export async function preflight(probe: HostProbe = hostProbe, toolCheck: ToolCheck = realToolCheck): Promise<void> {
  const checks = await runChecks(probe);
  for (const [name, t] of Object.entries(BUILD_TOOLS)) {
    if (!(await toolCheck(...t.check))) {
      checks.push({ name, status: 'fail', detail: `missing (${t.why})`, fix: `apt-get install ${t.pkg}` });
    }
  }
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length > 0) {
    throw new HostError(`this host can't build the node image:\n${failed.map((c) => `  ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('\n')}`, {
      hint: 'run `cif doctor` for the full list',
    });
  }
}

function timed<T>(ctx: BuildContext, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  return fn().finally(() => {
    ctx.timings[name] = (Date.now() - t0) / 1000;
  });
}

export interface BuildOptions {
  /** A patch series directory other than patches/ (e.g. one under review). */
  seriesDir?: string;
  /** Start from the stock kindest/node image (pins.kindNodeImage) instead of our Debian node base. */
  online?: boolean;
}

export function buildTasks(opts: BuildOptions = {}): Task<BuildContext>[] {
  return [
    {
      title: 'host preflight (docker, privileged, Go, disk)',
      task: (ctx, task) =>
        timed(ctx, 'preflight', async () => {
          await preflight();
          if (opts.online) await ensureStockNodeImage((l) => (task.output = l));
        }),
    },
    {
      title: 'Kubernetes tree + patch series',
      task: (ctx, task) =>
        timed(ctx, 'tree', async () => {
          const base = await materializeUpstream(undefined, (l) => (task.output = l));
          const series = await readSeries(opts.seriesDir);
          ctx.tree = await patchedTree(base, series, (l) => (task.output = l));
          task.title = `Kubernetes tree ${base.version} + ${series.patches.length} patches (series ${series.hash})`;
        }),
    },
    {
      // CPU-bound Go builds and network/disk-bound debootstrap overlap: on 2 cores that is most of a cold build.
      title: 'binaries and base images',
      task: (_ctx, parent) =>
        parent.newListr(
          [
            {
              title: 'Go builds',
              task: (_c, t) =>
                t.newListr(
                  [
                    {
                      title: 'Kubernetes binaries',
                      task: (ctx, task) =>
                        timed(ctx, 'binaries', async () => {
                          ctx.kube = await buildKube(ctx.tree!, (l) => (task.output = l));
                          task.title = `Kubernetes binaries ${ctx.kube.version.gitVersion}${ctx.kube.hit ? ' (cached)' : ''}`;
                        }),
                    },
                    {
                      title: 'kind, crictl, etcd, etcdctl, coredns from the Go module proxy',
                      task: (ctx, task) =>
                        timed(ctx, 'tools', async () => {
                          ctx.kind = await goModuleBinary(GO_TOOLS.kind, (l) => (task.output = l));
                          const more = opts.online ? [] : [GO_TOOLS.crictl, GO_TOOLS.etcd, GO_TOOLS.etcdctl, GO_TOOLS.coredns];
                          for (const t of more) {
                            await goModuleBinary(t, (l) => (task.output = l));
                          }
                        }),
                    },
                  ],
                  { concurrent: false },
                ),
            },
            {
              title: 'Debian rootfs images (debootstrap)',
              task: (ctx, task) =>
                timed(ctx, 'rootfs', async () => {
                  await rootfsImage(ROOTFS.slim, (l) => (task.output = l));
                  if (!opts.online) await rootfsImage(ROOTFS.node, (l) => (task.output = l));
                }),
            },
          ],
          { concurrent: true, exitOnError: true },
        ),
    },
    {
      title: 'node base image',
      skip: () => (opts.online ? 'online: kindest/node is the base' : false),
      task: (ctx, task) => timed(ctx, 'node-base', () => nodeBaseImage((l) => (task.output = l)).then(() => undefined)),
    },
    {
      title: 'component images (control plane, pause, etcd, coredns, cif-net)',
      task: (ctx, task) =>
        timed(ctx, 'components', async () => {
          ctx.components = await buildComponentImages(ctx.kube!, ctx.tree!.dir, (l) => (task.output = l), { controlPlaneOnly: opts.online ?? false });
          const built = ctx.components.images.filter((i) => !i.hit).length;
          task.title = `component images: ${ctx.components.images.length} (${built} built)`;
        }),
    },
    {
      title: 'kind node image',
      task: (ctx, task) =>
        timed(ctx, 'node', async () => {
          ctx.node = opts.online
            ? await buildOnlineNodeImage(ctx.kube!, ctx.components!, (l) => (task.output = l))
            : await buildNodeImage(ctx.kube!, ctx.components!, (l) => (task.output = l));
          const caps = await kubeletCapabilities(ctx.kube!.binDir);
          ctx.record = {
            nodeImage: ctx.node.ref,
            kubeVersion: ctx.node.kubeVersion,
            seriesHash: ctx.kube!.seriesHash,
            seriesLength: ctx.kube!.seriesLength,
            capabilities: caps,
            tools: { kind: ctx.kind!, kubectl: join(ctx.kube!.binDir, 'kubectl') },
            images: ctx.components!.images.map((i) => i.name),
            builtAt: new Date().toISOString(),
          };
          await writeBuildRecord(ctx.record);
          task.title = `kind node image ${ctx.node.ref}${ctx.node.hit ? ' (cached)' : ''}; gate ${caps.gate ? 'supported' : 'not in these binaries'}`;
        }),
    },
  ];
}

export async function buildAll(opts: BuildOptions = {}): Promise<BuildContext> {
  return runTasks(buildTasks(opts), { timings: {} } as BuildContext);
}
