/**
 * One session of the kind driver: its registry rigs (public, and private once a private image is pushed),
 * the namespaces and pull secrets its pods use, the fault mode, and the images it left on the nodes. See
 * driver.ts for the lifetimes.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { FAULTS, type FaultMode, type Observation, type PullDecision } from '../../contract/index.ts';
import { listNodeImages, prePull } from '../../cluster/node-images.ts';
import { deleteTag, pushTestImage } from '../../images/test-images.ts';
import { cleanups } from '../../lib/run-context.ts';
import { run } from '../../lib/exec.ts';
import { ownerLabels } from '../../lib/owner.ts';
import { RegistryClient, type RegistryCredentials } from '../../lib/registry-client.ts';
import { deleteTagUntilRestored } from '../../registry/faults.ts';
import type { RegistryRig } from '../../registry/rig.ts';
import { createPod, createPullSecret, podManifest } from '../../observe/pods.ts';
import { readPullDecisions, toContractDecision } from '../../observe/pull-decisions.ts';
import { observePodUntil } from '../../observe/watch.ts';
import type { CreateResult, ImageRef, ObserveOptions, PodHandle, PodSpec, Session } from '../driver.ts';
import type { ClusterDriver } from './driver.ts';
import { containerCommand, sanitizeLabels } from './mapping.ts';

interface Pushed {
  image: ImageRef;
  rig: RegistryRig;
}

export class ClusterSession implements Session {
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
      p = this.api
        .createNamespace({ body: { metadata: { name, labels } } })
        .then(
          () => undefined,
          (err: { code?: number }) => {
            if (err?.code !== 409) throw err;
          },
        )
        .then(() => this.defaultServiceAccount(name));
      this.namespaces.set(name, p);
    }
    return p;
  }

  /**
   * The API server refuses pods in a namespace until the controller manager has made its `default`
   * ServiceAccount ("serviceaccount \"default\" not found", a 403 the engine would record as Rejected). That
   * takes a moment, and longer on a cluster just unparked, whose controller manager is catching up.
   */
  private async defaultServiceAccount(namespace: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = await this.api.readNamespacedServiceAccount({ name: 'default', namespace }).then(
        () => true,
        (e: { code?: number }) => {
          if (e?.code !== 404) throw e;
          return false;
        },
      );
      if (found) return;
      if (Date.now() > deadline) throw new Error(`namespace ${namespace} has no default ServiceAccount 60 s after its creation`);
      await sleep(200);
    }
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

  async pullDecisions(pod: PodHandle, node: string): Promise<PullDecision[]> {
    return (await readPullDecisions(node, pod, pod.createdAtMs)).map(toContractDecision);
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
