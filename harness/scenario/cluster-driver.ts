/**
 * The real Driver (see driver.ts for the contract): an adapter over harness/cluster (ensureCluster),
 * harness/registry (startRegistryRig: registry + fault proxy + node wiring + fault modes),
 * harness/images/test-images (v1/v2 images), harness/cluster/node-images (crictl pull / rmi),
 * harness/observe (pods and pull secrets as the registry tools make them; the pod watcher behind
 * Session.observe) and the Kubernetes API (client-node: namespaces, deleting pods).
 *
 * Clusters: one per distinct set of needs, named `cif-e2e-<hash of the needs>` (never the shared `cif`
 * cluster). When its group has run (Driver.close) a cluster is parked — its nodes frozen with docker pause
 * (harness/cluster parkCluster): 2 cores don't carry an idle control plane beside the one measuring, and a
 * frozen one costs no CPU. The next run unparks and reuses it (~12 s until its nodes report Ready again)
 * instead of creating it (35–80 s). `cif cluster down --all` removes them.
 *
 * Registries: one rig per Session, each with its own host name and port, so the kubelet's per-host fallback
 * circuit breaker never carries over from one session to the next (the runner then never needs to wait it
 * out). A session's rig starts on its first use: with htpasswd auth when the first image pushed is private.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { clusterNodes, E2E_CLUSTER_PREFIX, ensureCluster, parkCluster, type ClusterInfo, type ClusterOptions } from '../cluster/cluster.ts';
import { readBuildRecord } from '../images/node.ts';
import { listNodeImages, prePull } from '../cluster/node-images.ts';
import { deleteTag, pushTestImage } from '../images/test-images.ts';
import { cleanups } from '../lib/run-context.ts';
import { run } from '../lib/exec.ts';
import { ownerLabels } from '../registry/cleanup.ts';
import { RegistryClient, type RegistryCredentials } from '../registry/client.ts';
import { deleteTagUntilRestored } from '../registry/faults.ts';
import { startRegistryRig, type RegistryRig } from '../registry/rig.ts';
import { createPod, createPullSecret, podManifest } from '../observe/pods.ts';
import { observePodUntil } from '../observe/watch.ts';
import { FAULTS, MARKER_PREFIX, type FaultMode, type Observation } from '../contract/index.ts';
import type { ClusterNeeds, CreateResult, Driver, DriverContext, DriverFactory, ImageRef, ObserveOptions, PodHandle, PodSpec, Session } from './driver.ts';

// ---------------------------------------------------------------------------------------------------------
// Pure mapping (unit-tested in cluster-driver.test.ts)

/**
 * `cif-e2e-<hash>`: a hash of everything but the worker count (a cluster with more workers serves the same
 * shape; ensureCluster's config hash recreates it when the count changes).
 */
export function clusterNameFor(needs: ClusterNeeds): string {
  const gates = Object.entries(needs.featureGates).sort(([a], [b]) => a.localeCompare(b));
  const kubelet = Object.entries(needs.kubelet)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  const h = createHash('sha256').update(JSON.stringify([needs.gate, gates, kubelet])).digest('hex').slice(0, 8);
  return `${E2E_CLUSTER_PREFIX}${h}`;
}

export function clusterOptionsFor(needs: ClusterNeeds, name: string): ClusterOptions {
  const k = needs.kubelet;
  return {
    name,
    workers: needs.workers,
    gate: needs.gate,
    fallbackTimeout: `${k.imagePullFallbackTimeout}s`,
    circuitBreakerWindow: `${k.imagePullFallbackCircuitBreakerWindow}s`,
    serializeImagePulls: k.serializeImagePulls,
    ...(Object.keys(needs.featureGates).length ? { kubeletFeatureGates: { ...needs.featureGates } } : {}),
    ...(k.imagePullCredentialsVerificationPolicy ? { imagePullCredentialsVerificationPolicy: k.imagePullCredentialsVerificationPolicy } : {}),
    ...(k.registryPullQPS !== undefined ? { registryPullQPS: k.registryPullQPS } : {}),
  };
}

/** The container command for PodSpec.command: `serve` is the image's own entrypoint (marker, then sleep). */
export function containerCommand(command: PodSpec['command']): string[] | undefined {
  if (command === 'serve') return undefined;
  return ['/bin/sh', '-c', `echo "${MARKER_PREFIX}$(cat /cif/version)"; exit 1`];
}

/** Label values must be ≤ 63 chars of [A-Za-z0-9._-]. */
export function sanitizeLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels).map(([k, v]) => [k, v.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')]),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The factory

export interface ClusterDriverOptions {
  log?: (line: string) => void;
}

export async function clusterDriverFactory(o: ClusterDriverOptions = {}): Promise<DriverFactory> {
  // Nothing built: exit 2 ("not built yet") before any scenario runs, rather than every group failing.
  await readBuildRecord();
  return async (needs, context) => {
    const name = clusterNameFor(needs);
    // A cluster of this shape with more workers serves too (recreating it with fewer would cost a create
    // now and another one when the bigger group runs next).
    const existing = (await clusterNodes(name)).filter((n) => n.role === 'worker').length;
    const workers = Math.max(needs.workers, existing);
    const info = await ensureCluster({ ...clusterOptionsFor({ ...needs, workers }, name), ...(o.log ? { log: o.log } : {}) });
    return new ClusterDriver(info, context, async () => {
      await parkCluster(name);
    });
  };
}

class ClusterDriver implements Driver {
  readonly nodes: readonly string[];
  /** Every session starts a registry rig of its own (own container, host name, port and fault proxy). */
  readonly sessionsIsolated = true;
  readonly kc: KubeConfig;
  private readonly sessions = new Set<ClusterSession>();
  private seq = 0;
  private closed = false;

  constructor(
    readonly info: ClusterInfo,
    readonly context: DriverContext,
    private readonly onClose: () => Promise<void>,
  ) {
    this.nodes = info.nodes.filter((n) => n.role === 'worker').map((n) => n.name);
    this.kc = new KubeConfig();
    this.kc.loadFromFile(info.kubeconfigPath);
  }

  async openSession(options: { id: string; labels: Record<string, string> }): Promise<Session> {
    if (this.closed) throw new Error('the cluster driver is closed');
    const s = new ClusterSession(this, options.id, options.labels);
    this.sessions.add(s);
    return s;
  }

  /**
   * A started, wired and resolvable registry rig. Public rigs come from a pool of one started in the
   * background while the previous session ran: a rig costs ~2 s to start and up to 5 s until containerd
   * resolves its new name, which every session would otherwise pay in line. Pooled rigs are independent of
   * any other session's fault (own container, name and port).
   */
  takeRig(priv: boolean, credentials: RegistryCredentials): Promise<RegistryRig> {
    if (this.closed) return Promise.reject(new Error('the cluster driver is closed'));
    if (priv) return this.startRig({ auth: credentials });
    const next = this.pool ?? this.startRig({});
    this.pool = undefined;
    // Refill once this one is ready — unless a rig is pooled already: sessions side by side take rigs at
    // the same time, and a refill per take would start rigs nobody holds (seen: four per run, running until
    // the process exited).
    void next.then(
      () => {
        if (this.closed || this.pool) return;
        this.pool = this.startRig({});
        this.pool.catch(() => undefined);
      },
      () => undefined,
    );
    return next;
  }

  private pool: Promise<RegistryRig> | undefined;

  private async startRig(o: { auth?: RegistryCredentials }): Promise<RegistryRig> {
    const n = ++this.seq;
    // The rig returns once every node resolves the registry's name (configureNodesForRegistry waits).
    // Labelled with the run id itself (label-based cleanup finds every rig of the run); the container name
    // — and the host name derived from it — tells the rigs apart.
    return startRegistryRig({
      runId: this.context.runId,
      containerName: `cif-registry-${this.context.runId}-s${String(n).padStart(3, '0')}`,
      cluster: this.info.name,
      ...(o.auth ? { auth: o.auth } : {}),
    });
  }

  forget(s: ClusterSession): void {
    this.sessions.delete(s);
  }

  /** Node work a session left running in the background (image removal); close waits for it. */
  private readonly background = new Set<Promise<void>>();
  inBackground(work: Promise<void>): void {
    const p = work.catch(() => undefined).finally(() => this.background.delete(p));
    this.background.add(p);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.sessions]) await s.close().catch(() => undefined);
    const pooled = this.pool;
    this.pool = undefined;
    if (pooled) await pooled.then((r) => r.stop()).catch(() => undefined);
    // Before parking: a `docker exec` that starts while its node is being frozen never returns, and holds
    // the container so that the next run's unpause hangs too (seen: a session's image removal racing the
    // park left a node frozen for good).
    await Promise.allSettled([...this.background]);
    await this.onClose();
  }
}

interface Pushed {
  image: ImageRef;
  rig: RegistryRig;
}

class ClusterSession implements Session {
  private rigs: { public?: RegistryRig; private?: RegistryRig } = {};
  private starting: { public?: Promise<RegistryRig>; private?: Promise<RegistryRig> } = {};
  private readonly credentials: RegistryCredentials = { username: 'cif', password: randomBytes(12).toString('hex') };
  private readonly pushed = new Map<string, Pushed>();
  private readonly namespaces = new Map<string, Promise<void>>();
  private readonly secrets = new Map<string, Promise<void>>();
  private deletedManifests: (() => Promise<void>)[] = [];
  private fault: FaultMode = 'none';
  private closing: Promise<void> | undefined;
  private readonly unregister: () => void;

  constructor(
    private readonly driver: ClusterDriver,
    readonly id: string,
    private readonly labels: Record<string, string>,
  ) {
    this.unregister = cleanups.add(`session ${id}`, () => this.close());
  }

  /**
   * Unique per session whether or not its registry has started yet (the runner reads it before the first
   * step): every session has registries of its own, so no breaker state is shared with another session.
   */
  get registryHost(): string {
    return this.rigs.public?.registry.nodeAddress ?? this.rigs.private?.registry.nodeAddress ?? `session-${this.id}-${this.uid}`;
  }

  private readonly uid = randomBytes(3).toString('hex');

  private get api(): CoreV1Api {
    return this.driver.kc.makeApiClient(CoreV1Api);
  }

  private rig(priv: boolean): Promise<RegistryRig> {
    const key = priv ? 'private' : 'public';
    if (this.closing) return Promise.reject(new Error(`session ${this.id} is closed`));
    this.starting[key] ??= this.driver.takeRig(priv, this.credentials).then((r) => (this.rigs[key] = r));
    return this.starting[key]!;
  }

  private rigOf(image: ImageRef): Pushed {
    const p = this.pushed.get(`${image.repo}:${image.tag}`) ?? [...this.pushed.values()].find((x) => x.image.repo === image.repo);
    if (!p) throw new Error(`${image.repo}:${image.tag} was never pushed in session ${this.id}`);
    return p;
  }

  private ref(image: ImageRef): string {
    return this.rigOf(image).rig.registry.ref(image.repo, image.tag);
  }

  async pushImage(image: ImageRef, version: string, options: { private: boolean }): Promise<void> {
    const rig = await this.rig(options.private);
    await pushTestImage(rig.registry.pushTarget(), image.repo, image.tag, version);
    this.pushed.set(`${image.repo}:${image.tag}`, { image, rig });
  }

  async deleteTag(image: ImageRef): Promise<void> {
    const { rig } = this.rigOf(image);
    await deleteTag(rig.registry.pushTarget(), image.repo, image.tag);
  }

  async cacheOnNode(node: string, image: ImageRef): Promise<void> {
    const { rig } = this.rigOf(image);
    await prePull(node, rig.registry.ref(image.repo, image.tag), { timeoutSeconds: 120, ...(rig.registry.credentials ? { credentials: rig.registry.credentials } : {}) });
  }

  async uncacheOnNode(node: string, image: ImageRef): Promise<void> {
    // By reference, not by image ID: the test images are byte-identical across repositories (v1 is v1), so
    // `crictl rmi <id>` would also uncache every other cell's copy.
    const ref = this.ref(image);
    const repository = ref.slice(0, ref.lastIndexOf(':'));
    const images = await listNodeImages(node);
    const refs = refsOf(images, (t) => t === ref || t.startsWith(`${repository}@`));
    await removeRefs(node, refs);
  }

  private allRigs(): RegistryRig[] {
    return [this.rigs.public, this.rigs.private].filter((r): r is RegistryRig => r !== undefined);
  }

  async setFault(mode: Exclude<FaultMode, 'none'>): Promise<void> {
    await this.clearFault();
    let rigs = this.allRigs();
    if (!rigs.length) rigs = [await this.rig(false)];
    if (FAULTS[mode].by === 'delete-tag') {
      // RegistryFaults deletes one tag; a session's fault applies to every repository it pushed (a fault
      // group of a matrix has one repository per cell). Blobs stay, so putting the manifest back restores it.
      for (const p of this.pushed.values()) {
        const restore = await deleteTagUntilRestored(new RegistryClient(p.rig.registry.hostAddress, p.rig.registry.credentials), p.image.repo, p.image.tag);
        if (restore) this.deletedManifests.push(restore);
      }
    } else {
      for (const r of rigs) await r.faults.setFault(mode);
    }
    this.fault = mode;
  }

  async clearFault(): Promise<void> {
    for (const r of this.allRigs()) if (r.faults.current !== 'none') await r.faults.clearFault();
    const restores = this.deletedManifests.reverse();
    this.deletedManifests = [];
    for (const restore of restores) await restore();
    this.fault = 'none';
  }

  private ensureNamespace(name: string): Promise<void> {
    let p = this.namespaces.get(name);
    if (!p) {
      const labels = sanitizeLabels({ ...this.labels, ...ownerLabels(this.driver.context.runId), 'cif.session': this.id });
      p = this.api.createNamespace({ body: { metadata: { name, labels } } }).then(
        () => undefined,
        (err: { code?: number }) => {
          if (err?.code !== 409) throw err;
        },
      );
      this.namespaces.set(name, p);
    }
    return p;
  }

  private ensurePullSecret(namespace: string, image: ImageRef): Promise<string> {
    const { rig } = this.rigOf(image);
    const reg = rig.registry;
    const name = `pull-${reg.hostName.split('.')[0]}`;
    const key = `${namespace}/${name}`;
    let p = this.secrets.get(key);
    if (!p) {
      p = createPullSecret(this.driver.kc, namespace, name, reg.nodeAddress, reg.credentials ?? this.credentials, sanitizeLabels(this.labels));
      this.secrets.set(key, p);
    }
    return p.then(() => name);
  }

  async createPod(spec: PodSpec): Promise<CreateResult> {
    await this.ensureNamespace(spec.namespace);
    const secret = spec.pullSecret ? await this.ensurePullSecret(spec.namespace, spec.image) : undefined;
    const command = containerCommand(spec.command);
    const manifest = podManifest({
      runId: this.driver.context.runId,
      namespace: spec.namespace,
      name: spec.name,
      image: this.ref(spec.image),
      policy: spec.policy,
      nodeName: spec.node,
      labels: sanitizeLabels(spec.labels),
      ...(secret ? { imagePullSecrets: [secret] } : {}),
      ...(command ? { command } : {}),
    });
    return createPod(this.driver.kc, manifest);
  }

  observe(pod: PodHandle, options: ObserveOptions): Promise<Observation> {
    return observePodUntil(this.driver.kc, pod, options);
  }

  async deletePod(pod: PodHandle): Promise<void> {
    try {
      await this.api.deleteNamespacedPod({ name: pod.name, namespace: pod.namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
      throw err;
    }
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < 120 && Date.now() < deadline; i++) {
      const gone = await this.api.readNamespacedPod({ name: pod.name, namespace: pod.namespace }).then(
        () => false,
        (e: { code?: number }) => e?.code === 404,
      );
      if (gone) return;
      await sleep(500);
    }
    throw new Error(`pod ${pod.namespace}/${pod.name} still exists 60 s after its deletion`);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.unregister();
    this.driver.forget(this);
    const errors: string[] = [];
    await Promise.allSettled(Object.values(this.starting));
    await this.clearFault().catch((e: Error) => errors.push(`clearing the fault: ${e.message}`));
    for (const ns of this.namespaces.keys()) {
      await this.api.deleteNamespace({ name: ns, gracePeriodSeconds: 0, propagationPolicy: 'Background' }).catch((e: { code?: number; message?: string }) => {
        if (e?.code !== 404) errors.push(`deleting namespace ${ns}: ${e?.message}`);
      });
    }
    const rigs = this.allRigs();
    const prefixes = rigs.map((r) => `${r.registry.nodeAddress}/`);
    for (const r of rigs) await r.stop().catch((e: Error) => errors.push(e.message));
    // The session's images on the nodes (its registry is gone, nothing can use them again): best effort,
    // in the background of the next session — a container still being torn down may hold one. The driver
    // waits for it before it parks the cluster.
    this.driver.inBackground(removeSessionImages(this.driver.nodes, prefixes));
    if (errors.length) throw new Error(`closing session ${this.id}: ${errors.join('; ')}`);
  }
}

async function removeSessionImages(nodes: readonly string[], prefixes: string[]): Promise<void> {
  if (!prefixes.length) return;
  for (const node of nodes) {
    const images = await listNodeImages(node).catch(() => []);
    await removeRefs(node, refsOf(images, (t) => prefixes.some((p) => t.startsWith(p)))).catch(() => undefined);
  }
}

/** The tags and digests of `images` that `match` picks. */
export function refsOf(images: readonly { repoTags: string[]; repoDigests: string[] }[], match: (ref: string) => boolean): string[] {
  return images.flatMap((i) => [...i.repoTags, ...i.repoDigests]).filter(match);
}

/**
 * Removes image references (not images): `ctr images rm` drops just these names, so an image another
 * reference still names stays (CRI RemoveImage — crictl rmi — would remove the image with all its names).
 */
async function removeRefs(node: string, refs: string[]): Promise<void> {
  if (!refs.length) return;
  await run('docker', ['exec', node, 'timeout', '60', 'ctr', '-n', 'k8s.io', 'images', 'rm', ...refs], { timeout: 90_000 });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
