/**
 * The registry fault modes (contract/faults.ts), each switchable on and off inside a scenario. One fault
 * is active at a time; `setFault` clears the previous one first, `clearFault` restores everything (proxy
 * passing, registry running, name resolving to the proxy, no DROP rules, deleted tags back).
 *
 * How each mode is made is the contract's `FAULTS[mode].by`: this file switches on that, never on mode
 * names, so a new proxy-made mode needs nothing here. Measured figures are in harness/registry/README.md.
 */
import { FAULTS, FAULT_MODES, isFaultMode, type FaultMode } from '../contract/index.ts';
import { cleanups } from '../lib/run-context.ts';
import { RegistryClient } from '../lib/registry-client.ts';
import type { ProxyMode, ProxyModeOptions } from './fault-proxy.ts';
import { HOSTS_CACHE_SETTLE_MS, setBlackhole, setHostsEntry } from './nodes.ts';
import { deadAddress, type RegistryHandle } from './registry.ts';

export interface FaultOptions {
  /** not-found: the tag to delete. */
  notFound?: { repo: string; tag: string };
  /** Options for proxy-made modes (slow rate, flapping period …). */
  proxy?: ProxyModeOptions;
  /** Skip waiting for containerd's /etc/hosts cache after a hosts change (tests that don't pull). */
  noSettle?: boolean;
}

type Restore = () => Promise<void>;

/**
 * Deletes repo:tag (its manifest, by digest) and returns what puts it back, or undefined when the tag is not
 * there. Blobs stay (the registry runs no garbage collection), so the manifest alone restores the tag exactly.
 */
export async function deleteTagUntilRestored(client: RegistryClient, repo: string, tag: string): Promise<Restore | undefined> {
  const saved = await client.getManifest(repo, tag);
  if (!saved) return undefined;
  await client.deleteManifest(repo, saved.digest);
  return async () => {
    await client.putManifest(repo, tag, saved.body, saved.mediaType);
  };
}

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
    if (!isFaultMode(mode)) throw new Error(`unknown fault mode ${JSON.stringify(mode)}; known: ${FAULT_MODES.join(', ')}`);
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
    const by = FAULTS[mode].by;
    switch (by) {
      case 'nothing':
        return;
      case 'stop-registry': {
        // Nodes are pointed at an address where nothing answers, not at the container's old IP: on a shared
        // network another container can take that IP the moment ours stops, and answer `connection refused`
        // in the dead registry's place.
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
      case 'node-iptables':
        if (!this.nodes.length) throw new Error(`the ${mode} fault acts inside kind nodes: give RegistryFaults the node names`);
        this.restores.push(() => setBlackhole(this.nodes, r.proxyIp, r.port, r.runId, false));
        await setBlackhole(this.nodes, r.proxyIp, r.port, r.runId, true);
        break;
      case 'node-hosts':
        if (!this.nodes.length) throw new Error(`the ${mode} fault acts inside kind nodes: give RegistryFaults the node names`);
        this.restores.push(async () => {
          await setHostsEntry(this.nodes, r.hostName, r.proxyIp);
          await settle();
        });
        await setHostsEntry(this.nodes, r.hostName, undefined);
        await settle();
        break;
      case 'delete-tag': {
        const t = options.notFound;
        if (!t) throw new Error(`the ${mode} fault needs {notFound: {repo, tag}}: the tag to delete`);
        const restore = await deleteTagUntilRestored(new RegistryClient(r.hostAddress, r.credentials), t.repo, t.tag);
        if (!restore) throw new Error(`${mode} fault: ${t.repo}:${t.tag} is not in the registry (push it first)`);
        this.restores.push(restore);
        break;
      }
      case 'proxy':
        this.restores.push(() => r.proxy.setMode('pass'));
        await r.proxy.setMode(mode as ProxyMode, options.proxy);
        break;
      default:
        throw new Error(`fault ${mode}: nothing makes faults by ${by satisfies never}`);
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
