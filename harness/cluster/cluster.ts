/**
 * kind clusters running our node image: create (or reuse), wait until every node is Ready, write a kubeconfig,
 * and on failure export kind's logs and clean up. The API other parts call:
 *
 *   ensureCluster({ name?, workers?, gate?, keep?, ... }) → ClusterInfo
 *   parkCluster(name)
 *   deleteCluster(name)
 *   clusterInfo(name) → ClusterInfo | undefined   (a running cluster, without creating anything)
 *
 * A cluster's identity is the hash of its generated kind config (kind-config.ts), stored as the node label
 * `cif.config-hash`: an existing cluster with the same hash is reused once all its nodes are Ready.
 *
 * Parking: `docker pause` freezes a cluster's nodes (no CPU, memory kept) so a cluster kept for the next run
 * costs nothing while other clusters measure; ensureCluster unpauses it. Its clocks jump on unpause: the
 * kubelets report NotReady for ~10 s until their next status update (measured: Ready again after 12 s, no
 * component restarted), which is why reuse waits for Ready instead of recreating at once.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot } from '../lib/cache.ts';
import { CifError, HostError, UsageError } from '../lib/errors.ts';
import { run, tailLines } from '../lib/exec.ts';
import { note } from '../lib/progress.ts';
import { newRunId } from '../lib/run-context.ts';
import { readBuildRecord, type BuildRecord } from '../images/node.ts';
import { REPO_ROOT } from '../kube/tree.ts';
import {
  CIF_GATE,
  CONFIG_HASH_LABEL,
  DEFAULT_CIRCUIT_BREAKER_WINDOW,
  DEFAULT_FALLBACK_TIMEOUT,
  configHash,
  kindConfig,
  renderKindConfig,
  type ClusterSpec,
} from './kind-config.ts';
import { processAlive } from '../lib/process.ts';

export const DEFAULT_CLUSTER = 'cif';
/** The main job's clusters: `cif-e2e-<8 hex of their needs>` (scenario/cluster-driver names them). */
export const E2E_CLUSTER_PREFIX = 'cif-e2e-';
/** kind puts every cluster's nodes on this docker network. */
export const KIND_NETWORK = 'kind';
const READY_TIMEOUT_S = 180;
/** How long a reused (unparked or restarted) cluster gets to report every node Ready before it is recreated. */
const REUSE_READY_TIMEOUT_S = 90;

export interface ClusterNode {
  /** The Kubernetes node name (= the container's hostname). */
  name: string;
  containerName: string;
  role: 'control-plane' | 'worker';
}

export interface ClusterInfo {
  name: string;
  kubeconfigPath: string;
  nodes: ClusterNode[];
  network: typeof KIND_NETWORK;
  /** The ImagePullPolicyCachedIfFailed gate as configured on this cluster. */
  gate: boolean;
  kubeVersion: string;
  nodeImage: string;
  configHash: string;
  /** True when an existing compatible cluster was reused. */
  reused: boolean;
}

export interface ClusterOptions {
  name?: string;
  workers?: number;
  /** Default: on when the binaries know the gate, else off. `true` on binaries without it is an error. */
  gate?: boolean;
  keep?: boolean;
  fallbackTimeout?: string;
  circuitBreakerWindow?: string;
  /** Further kubelet feature gates (kubelet configuration only), e.g. { KubeletEnsureSecretPulledImages: true }. */
  kubeletFeatureGates?: Record<string, boolean>;
  /** Default false. */
  serializeImagePulls?: boolean;
  imagePullCredentialsVerificationPolicy?: ClusterSpec['imagePullCredentialsVerificationPolicy'];
  /** The kubelet's pull rate limit; 0 = unlimited; unset = the kubelet's default. */
  registryPullQPS?: number;
  /** Where `kind export logs` goes on failure (default reports/<run-id>/kind-logs-<name>). */
  logsDir?: string;
  log?: (line: string) => void;
  /** Defaults to the record `cif build` wrote. */
  build?: BuildRecord;
}

export function clusterDir(name: string): string {
  return join(cacheRoot(), 'clusters', name);
}

export function kubeconfigPath(name: string): string {
  return join(clusterDir(name), 'kubeconfig');
}

export async function ensureCluster(opts: ClusterOptions = {}): Promise<ClusterInfo> {
  const name = opts.name ?? DEFAULT_CLUSTER;
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) throw new UsageError(`cluster name ${JSON.stringify(name)} is not a valid kind cluster name`, { hint: 'lowercase letters, digits and -' });
  // one creator per cluster name at a time (parallel runners share the cif cluster)
  return withLock(`${clusterDir(name)}.lock`, 15 * 60, () => ensureClusterLocked(name, opts));
}

async function ensureClusterLocked(name: string, opts: ClusterOptions): Promise<ClusterInfo> {
  const log = opts.log ?? note;
  const build = opts.build ?? (await readBuildRecord());
  const gate = opts.gate ?? build.capabilities.gate;
  if (gate && !build.capabilities.gate) {
    throw new CifError(`--gate on: the built binaries (${build.kubeVersion}) do not know the ${CIF_GATE} feature gate`, {
      exitCode: 2,
      hint: 'the patch series in patches/ is empty or does not add the gate yet; rebuild with `cif build` once it does, or use --gate off',
    });
  }
  const spec: ClusterSpec = {
    name,
    image: build.nodeImage,
    workers: opts.workers ?? 1,
    gate,
    fallbackTimeout: opts.fallbackTimeout ?? DEFAULT_FALLBACK_TIMEOUT,
    circuitBreakerWindow: opts.circuitBreakerWindow ?? DEFAULT_CIRCUIT_BREAKER_WINDOW,
    capabilities: build.capabilities,
    ...(opts.kubeletFeatureGates ? { kubeletFeatureGates: opts.kubeletFeatureGates } : {}),
    ...(opts.serializeImagePulls !== undefined ? { serializeImagePulls: opts.serializeImagePulls } : {}),
    ...(opts.imagePullCredentialsVerificationPolicy ? { imagePullCredentialsVerificationPolicy: opts.imagePullCredentialsVerificationPolicy } : {}),
    ...(opts.registryPullQPS !== undefined ? { registryPullQPS: opts.registryPullQPS } : {}),
  };
  const config = kindConfig(spec);
  const hash = configHash(config);
  const kubeconfig = kubeconfigPath(name);
  const kind = build.tools.kind;

  const existing = await clusterNodes(name);
  if (existing.length > 0) {
    const unparked = await unparkCluster(name).catch((err: Error) => {
      log(`cluster ${name} could not be unparked (${err.message.split('\n')[0]}): recreating`);
      return -1;
    });
    if (unparked > 0) log(`unparked cluster ${name} (${unparked} nodes)`);
    const labels = unparked < 0 ? undefined : await nodeHashes(name).catch(() => undefined);
    const sameConfig = labels !== undefined && labels.length === existing.length && labels.every((l) => l.hash === hash);
    let ready = false;
    if (sameConfig) {
      await exportKubeconfig(kind, name, kubeconfig);
      ready =
        labels.every((l) => l.ready) ||
        (await waitReady(build.tools.kubectl, kubeconfig, existing.length, REUSE_READY_TIMEOUT_S).then(
          () => true,
          () => false,
        ));
    }
    if (ready) {
      log(`reusing cluster ${name} (config ${hash}, ${existing.length} nodes Ready)`);
      return { name, kubeconfigPath: kubeconfig, nodes: existing, network: KIND_NETWORK, gate, kubeVersion: build.kubeVersion, nodeImage: build.nodeImage, configHash: hash, reused: true };
    }
    log(`cluster ${name} exists with ${sameConfig ? `nodes not Ready within ${REUSE_READY_TIMEOUT_S}s` : 'a different config'}: recreating`);
    await deleteCluster(name, kind);
  }

  await mkdir(clusterDir(name), { recursive: true });
  const configFile = join(clusterDir(name), 'kind-config.yaml');
  await writeFile(configFile, renderKindConfig(config));
  log(`kind create cluster ${name}: ${spec.workers + 1} nodes, ${build.kubeVersion}, gate ${gate ? 'on' : 'off'}${build.capabilities.gate ? '' : ' (binaries without the gate)'}`);
  try {
    await run(kind, ['create', 'cluster', '--name', name, '--config', configFile, '--kubeconfig', kubeconfig, '--retain', '--wait', '0s'], {
      timeout: 10 * 60_000,
      env: { KIND_EXPERIMENTAL_PROVIDER: 'docker' },
    });
    await waitReady(build.tools.kubectl, kubeconfig, spec.workers + 1, READY_TIMEOUT_S);
  } catch (err) {
    const dir = opts.logsDir ?? join(REPO_ROOT, 'reports', newRunId(), `kind-logs-${name}`);
    await run(kind, ['export', 'logs', dir, '--name', name], { reject: false, timeout: 5 * 60_000 });
    if (!opts.keep) await deleteCluster(name, kind);
    const why = err instanceof Error ? err.message : String(err);
    throw new HostError(`cluster ${name} did not come up: ${why}`, {
      hint: `kind's logs are in ${dir}${opts.keep ? `; the cluster was kept (cif cluster down --name ${name} removes it)` : '; rerun with --keep to inspect the nodes'}`,
    });
  }
  const nodes = await clusterNodes(name);
  return { name, kubeconfigPath: kubeconfig, nodes, network: KIND_NETWORK, gate, kubeVersion: build.kubeVersion, nodeImage: build.nodeImage, configHash: hash, reused: false };
}

/** A running cluster's info, or undefined when there is none by that name. Never creates anything. */
export async function clusterInfo(name: string = DEFAULT_CLUSTER): Promise<ClusterInfo | undefined> {
  const build = await readBuildRecord();
  const nodes = await clusterNodes(name);
  if (nodes.length === 0) return undefined;
  const kubeconfig = kubeconfigPath(name);
  await exportKubeconfig(build.tools.kind, name, kubeconfig);
  const labels = await nodeHashes(name);
  const gate = await apiserverGate(nodes.find((n) => n.role === 'control-plane')!.containerName);
  return { name, kubeconfigPath: kubeconfig, nodes, network: KIND_NETWORK, gate, kubeVersion: build.kubeVersion, nodeImage: build.nodeImage, configHash: labels[0]?.hash ?? '', reused: true };
}

export async function deleteCluster(name: string = DEFAULT_CLUSTER, kind?: string): Promise<void> {
  const bin = kind ?? (await readBuildRecord()).tools.kind;
  await unparkCluster(name).catch(() => 0); // a frozen container can't be stopped gracefully; docker rm -f still works
  await run(bin, ['delete', 'cluster', '--name', name], { timeout: 5 * 60_000 });
  // its kubeconfig and generated config describe a cluster that no longer exists
  await rm(clusterDir(name), { recursive: true, force: true });
}

/** Names of the kind clusters cif made: `cif` and the main job's `cif-e2e-<hash>` (running or parked). */
export async function cifClusters(): Promise<string[]> {
  const r = await run('docker', ['ps', '-a', '--filter', 'label=io.x-k8s.kind.cluster', '--format', '{{.Label "io.x-k8s.kind.cluster"}}'], { timeout: 30_000 });
  return [...new Set(r.stdout.split('\n').filter((n) => n === DEFAULT_CLUSTER || (n.startsWith(E2E_CLUSTER_PREFIX) && /^[0-9a-f]{8}$/.test(n.slice(E2E_CLUSTER_PREFIX.length)))))].sort();
}

/** Freezes a cluster's node containers (docker pause); returns how many it paused. See the file comment. */
export async function parkCluster(name: string): Promise<number> {
  const running = await nodeContainers(name, 'running');
  if (running.length) await run('docker', ['pause', ...running], { timeout: 60_000 });
  return running.length;
}

/** Unpauses a parked cluster's nodes; returns how many it unpaused (0 when it was not parked). */
export async function unparkCluster(name: string): Promise<number> {
  const paused = await nodeContainers(name, 'paused');
  if (paused.length) await run('docker', ['unpause', ...paused], { timeout: 60_000 });
  return paused.length;
}

async function nodeContainers(name: string, status: 'running' | 'paused'): Promise<string[]> {
  const r = await run('docker', ['ps', '--filter', `label=io.x-k8s.kind.cluster=${name}`, '--filter', `status=${status}`, '--format', '{{.Names}}'], { timeout: 30_000 });
  return r.stdout.split('\n').filter(Boolean);
}

/** Node containers of a kind cluster, from docker's labels (kind's own bookkeeping). */
export async function clusterNodes(name: string): Promise<ClusterNode[]> {
  const r = await run('docker', ['ps', '-a', '--filter', `label=io.x-k8s.kind.cluster=${name}`, '--format', '{{.Names}}\t{{.Label "io.x-k8s.kind.role"}}'], { reject: false });
  if (r.exitCode !== 0) throw new HostError(`docker ps failed: ${tailLines(r.stderr, 3)}`, { hint: 'is the docker engine running? (cif doctor)' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [containerName, role] = line.split('\t') as [string, string];
      return { name: containerName, containerName, role: role === 'control-plane' ? 'control-plane' : 'worker' } as ClusterNode;
    })
    .sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'control-plane' ? -1 : 1));
}

async function exportKubeconfig(kind: string, name: string, path: string): Promise<void> {
  await mkdir(clusterDir(name), { recursive: true });
  await run(kind, ['export', 'kubeconfig', '--name', name, '--kubeconfig', path]);
}

/** Each node's config-hash label and Ready condition, asked inside the control-plane node (no kubeconfig needed). */
async function nodeHashes(name: string): Promise<{ node: string; hash: string; ready: boolean }[]> {
  const cp = `${name}-control-plane`;
  const r = await run('docker', [
    'exec', cp, 'kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', 'get', 'nodes', '-o',
    `jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.metadata.labels.cif\\.config-hash}{"\\t"}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}`,
  ], { timeout: 30_000 });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [node, hash, ready] = l.split('\t');
      return { node: node!, hash: hash ?? '', ready: ready === 'True' };
    });
}

async function apiserverGate(cpContainer: string): Promise<boolean> {
  const r = await run('docker', ['exec', cpContainer, 'cat', '/etc/kubernetes/manifests/kube-apiserver.yaml'], { reject: false });
  return new RegExp(`${CIF_GATE}=true`).test(r.stdout);
}

/** Polls `kubectl get nodes` until `count` nodes are Ready; bounded by `timeoutS`. */
export async function waitReady(kubectl: string, kubeconfig: string, count: number, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = '';
  while (Date.now() < deadline) {
    const r = await run(kubectl, ['--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{" "}{end}'], {
      reject: false,
      timeout: 15_000,
    });
    last = r.stdout.trim() || r.stderr.trim();
    const ready = r.stdout.split(' ').filter((s) => s.endsWith('=True')).length;
    if (r.exitCode === 0 && ready >= count) return;
    await new Promise((res) => setTimeout(res, 2000));
  }
  throw new HostError(`nodes not Ready after ${timeoutS}s (last: ${last || 'no answer'})`);
}

export { CONFIG_HASH_LABEL };

/**
 * A directory lock (mkdir is atomic) holding the owner's PID; a lock whose owner is gone is taken over.
 * Bounded: gives up after `timeoutS` with an error naming the holder.
 */
export async function withLock<T>(dir: string, timeoutS: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutS * 1000;
  await mkdir(join(dir, '..'), { recursive: true });
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(holder) && !processAlive(holder)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new HostError(`${dir} is held by PID ${holder} for more than ${timeoutS}s`, { hint: `if PID ${holder} is not a cif process, remove ${dir}` });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

