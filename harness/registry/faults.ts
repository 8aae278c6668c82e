/**
 * The registry fault modes (results.ts FAULT_MODES), each switchable on and off inside a scenario. One fault
 * is active at a time; `setFault` clears the previous one first, `clearFault` restores everything (proxy
 * passing, registry running, name resolving to the proxy, no DROP rules, deleted tags back).
 *
 * FAULT_DOCS says for each mode how it is made and what containerd reports; measured figures are in
 * harness/registry/README.md.
 */
import { FAULT_MODES, type FaultMode } from '../report/results.ts';
import { cleanups } from '../lib/run-context.ts';
import { RegistryClient } from './client.ts';
import type { ProxyModeOptions } from './fault-proxy.ts';
import { HOSTS_CACHE_SETTLE_MS, setBlackhole, setHostsEntry } from './nodes.ts';
import { deadAddress, type RegistryHandle } from './registry.ts';

/** How the kubelet should treat the failure (the patch series' classification). */
export type ErrorClass = 'none' | 'unreachable' | 'auth' | 'not-found' | 'transient';

export interface FaultDoc {
  how: string;
  /** What a containerd 1.6 pull reports (shape; see README.md for measured text). */
  containerd: string;
  errorClass: ErrorClass;
  /** Does CachedIfFailed fall back to a cached image under it? */
  fallsBack: boolean;
}

export const FAULT_DOCS: Record<FaultMode, FaultDoc> = {
  none: { how: 'proxy passes everything through', containerd: 'pull succeeds', errorClass: 'none', fallsBack: false },
  stopped: {
    how: "registry container stopped (docker stop); nodes' /etc/hosts points the name at an address of the network where nothing answers (the subnet's last host address)",
    containerd: 'dial tcp <ip>:<P>: connect: no route to host (ARP gives up after ~3 s)',
    errorClass: 'unreachable',
    fallsBack: true,
  },
  refused: {
    how: 'the proxy closes its listening socket: the gateway host is up, the port is closed',
    containerd: 'dial tcp <gw>:<P>: connect: connection refused (immediately)',
    errorClass: 'unreachable',
    fallsBack: true,
  },
  blackhole: {
    how: "iptables -I OUTPUT -d <gw> --dport <P> -j DROP inside each node's network namespace",
    containerd: 'dial tcp <gw>:<P>: i/o timeout (containerd gives up after its 30 s dial timeout)',
    errorClass: 'unreachable',
    fallsBack: true,
  },
  dns: {
    how: "the registry name's line is removed from each node's /etc/hosts; docker DNS answers NXDOMAIN",
    containerd: 'dial tcp: lookup <name> … no such host',
    errorClass: 'unreachable',
    fallsBack: true,
  },
  'http-503': { how: 'proxy answers 503 UNAVAILABLE', containerd: 'unexpected status … 503 Service Unavailable', errorClass: 'unreachable', fallsBack: true },
  'http-429': { how: 'proxy answers 429 TOOMANYREQUESTS, Retry-After: 1', containerd: 'unexpected status … 429 Too Many Requests', errorClass: 'unreachable', fallsBack: true },
  unauthorized: {
    how: 'proxy answers 401 with WWW-Authenticate: Basic realm="cif-registry"',
    containerd: '… 401 Unauthorized',
    errorClass: 'auth',
    fallsBack: false,
  },
  forbidden: { how: 'proxy answers 403 DENIED', containerd: '… 403 Forbidden', errorClass: 'auth', fallsBack: false },
  'not-found': {
    how: 'the tag is deleted in the registry (manifest DELETE by digest); restored on clear',
    containerd: 'code = NotFound … <ref>: not found',
    errorClass: 'not-found',
    fallsBack: false,
  },
  slow: { how: 'proxy streams responses at a bandwidth limit (default 64 KiB/s)', containerd: 'pull succeeds, slower', errorClass: 'none', fallsBack: false },
  flapping: {
    how: 'proxy alternates pull attempts (a HEAD of a manifest by tag starts one): down (503), up, down, … — or by request count / interval',
    containerd: 'odd attempts: … failed with status code [manifests <tag>]: 503 Service Unavailable; even attempts pull (a retry converges)',
    errorClass: 'transient',
    fallsBack: true,
  },
  hang: {
    how: 'proxy accepts connections and reads requests but never answers',
    containerd: 'never returns (containerd 1.6 has no response timeout); only the kubelet deadline ends it',
    errorClass: 'unreachable',
    fallsBack: true,
  },
};

export interface FaultOptions {
  /** not-found: the tag to delete. */
  notFound?: { repo: string; tag: string };
  /** Options for proxy-made modes (slow rate, flapping period …). */
  proxy?: ProxyModeOptions;
  /** Skip waiting for containerd's /etc/hosts cache after a hosts change (tests that don't pull). */
  noSettle?: boolean;
}

type Restore = () => Promise<void>;

export class RegistryFaults {
  private active: FaultMode = 'none';
  private restores: Restore[] = [];
  private unregister: (() => void) | undefined;
  private inflight: Promise<void> = Promise.resolve();
  private closed = false;

  /** nodes: the kind node containers to apply node-level modes in (may be empty for plain-docker tests). */
  constructor(
    readonly registry: RegistryHandle,
    readonly nodes: readonly string[],
  ) {}

  get current(): FaultMode {
    return this.active;
  }

  /**
   * Switches to `mode` (clearing the previous fault first). Each change registers its undo before it is
   * made, and a signal-time cleanup waits for a change in flight, so an interrupt at any point leaves no
   * DROP rule, hosts line or stopped registry behind. After close() it refuses.
   */
  async setFault(mode: FaultMode, options: FaultOptions = {}): Promise<void> {
    if (!FAULT_MODES.includes(mode)) throw new Error(`unknown fault mode ${JSON.stringify(mode)}; known: ${FAULT_MODES.join(', ')}`);
    if (this.closed) throw new Error(`registry faults for ${this.registry.containerName} are closed (the run is cleaning up)`);
    const op = this.inflight.then(() => this.apply(mode, options));
    this.inflight = op.catch(() => undefined);
    return op;
  }

  /** Clears the fault and refuses further ones: what a signal-time cleanup calls. */
  async close(): Promise<void> {
    this.closed = true;
    await this.inflight;
    await this.restoreAll();
  }

  private async apply(mode: FaultMode, options: FaultOptions): Promise<void> {
    if (this.closed) throw new Error(`registry faults for ${this.registry.containerName} are closed (the run is cleaning up)`);
    await this.restoreAll();
    // On SIGINT/SIGTERM the fault is undone before the registry goes (nodes must not keep DROP rules).
    this.unregister ??= cleanups.add(`registry fault on ${this.registry.containerName}`, () => this.close());
    const r = this.registry;
    const settle = async () => {
      if (this.nodes.length && !options.noSettle) await new Promise((res) => setTimeout(res, HOSTS_CACHE_SETTLE_MS));
    };
    switch (mode) {
      case 'none':
        return;
      case 'stopped': {
        // Nodes are pointed at an address where nothing answers, not at the container's old IP: on a shared
        // network another container can take that IP the moment ours stops (seen: `connection refused` from
        // a stranger instead of the dead registry).
        const ip = (r.network ? await deadAddress(r.network) : undefined) ?? (await r.containerIp());
        if (ip && this.nodes.length) {
          this.restores.push(async () => {
            await setHostsEntry(this.nodes, r.hostName, r.proxyIp);
            await settle();
          });
          await setHostsEntry(this.nodes, r.hostName, ip);
        }
        this.restores.push(async () => {
          if (!(await r.running())) await r.start();
        });
        await r.stop();
        await settle();
        break;
      }
      case 'refused':
        this.restores.push(() => r.proxy.setMode('pass'));
        await r.proxy.setMode('refused');
        break;
      case 'blackhole':
        if (!this.nodes.length) throw new Error('the blackhole fault acts inside kind nodes: give RegistryFaults the node names');
        this.restores.push(() => setBlackhole(this.nodes, r.proxyIp, r.port, r.runId, false));
        await setBlackhole(this.nodes, r.proxyIp, r.port, r.runId, true);
        break;
      case 'dns':
        if (!this.nodes.length) throw new Error('the dns fault acts inside kind nodes: give RegistryFaults the node names');
        this.restores.push(async () => {
          await setHostsEntry(this.nodes, r.hostName, r.proxyIp);
          await settle();
        });
        await setHostsEntry(this.nodes, r.hostName, undefined);
        await settle();
        break;
      case 'not-found': {
        const t = options.notFound;
        if (!t) throw new Error('the not-found fault needs {notFound: {repo, tag}}: the tag to delete');
        const client = new RegistryClient(r.hostAddress, r.credentials);
        const saved = await client.getManifest(t.repo, t.tag);
        if (!saved) throw new Error(`not-found fault: ${t.repo}:${t.tag} is not in the registry (push it first)`);
        // Blobs stay (no garbage collection), so putting the manifest back restores the tag exactly.
        this.restores.push(async () => {
          await new RegistryClient(r.hostAddress, r.credentials).putManifest(t.repo, t.tag, saved.body, saved.mediaType);
        });
        await client.deleteManifest(t.repo, saved.digest);
        break;
      }
      default:
        // http-503, http-429, unauthorized, forbidden, slow, flapping, hang: the proxy makes them.
        this.restores.push(() => r.proxy.setMode('pass'));
        await r.proxy.setMode(mode, options.proxy);
    }
    this.active = mode;
  }

  /** Undoes the active fault (last change first). Safe to call with none active. */
  async clearFault(): Promise<void> {
    const op = this.inflight.then(() => this.restoreAll());
    this.inflight = op.catch(() => undefined);
    return op;
  }

  private async restoreAll(): Promise<void> {
    const errors: string[] = [];
    while (this.restores.length) {
      const restore = this.restores.pop()!;
      try {
        await restore();
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    this.active = 'none';
    this.unregister?.();
    this.unregister = undefined;
    if (errors.length) throw new Error(`clearing the registry fault failed: ${errors.join('; ')}`);
  }
}
