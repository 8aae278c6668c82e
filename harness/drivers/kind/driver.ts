/**
 * The real Driver (see ../driver.ts for the port): an adapter over harness/cluster (ensureCluster),
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
import { KubeConfig } from '@kubernetes/client-node';
import { clusterNodes, ensureCluster, parkCluster, type ClusterInfo } from '../../cluster/cluster.ts';
import { readBuildRecord } from '../../images/node.ts';
import type { RegistryCredentials } from '../../lib/registry-client.ts';
import { startRegistryRig, type RegistryRig } from '../../registry/rig.ts';
import type { Driver, DriverContext, DriverFactory, Session } from '../driver.ts';
import { clusterNameFor, clusterOptionsFor } from './mapping.ts';
import { ClusterSession } from './session.ts';


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

export class ClusterDriver implements Driver {
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
    // the same time, and a refill per take would start rigs nobody holds until the process exits.
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
    // the container so that the next run's unpause hangs too (the node stays frozen for good).
    await Promise.allSettled([...this.background]);
    await this.onClose();
  }
}

