/**
 * The whole registry side of a run in one call: the registry container and its fault proxy on the kind
 * network, every node wired to it (hosts entry + hosts.toml), and the fault switch — with one cleanup that
 * undoes it all in the right order (fault cleared, nodes unwired, registry removed), also on SIGINT/SIGTERM.
 */
import { cleanups } from '../lib/run-context.ts';
import type { RegistryCredentials } from '../lib/registry-client.ts';
import { RegistryFaults } from './faults.ts';
import { configureNodesForRegistry, kindNodes, unconfigureNodes } from './nodes.ts';
import { startRegistry, type RegistryHandle } from './registry.ts';
import { HostError } from '../lib/errors.ts';

export interface RegistryRig {
  registry: RegistryHandle;
  faults: RegistryFaults;
  nodes: string[];
  /** Clears the fault, unwires the nodes, removes the registry. Idempotent. */
  stop(): Promise<void>;
}

export async function startRegistryRig(o: {
  runId: string;
  /** kind cluster name (default `cif`); its nodes are wired unless `nodes` is given. */
  cluster?: string;
  nodes?: string[];
  network?: string;
  auth?: RegistryCredentials;
  /** For a second registry in the same run (e.g. a private one). */
  containerName?: string;
}): Promise<RegistryRig> {
  const nodes = o.nodes ?? (await kindNodes(o.cluster ?? 'cif'));
  if (!nodes.length) {
    throw new HostError(`no nodes of kind cluster ${o.cluster ?? 'cif'} are running`, { hint: 'start the cluster first (`cif cluster up`)' });
  }
  const registry = await startRegistry({ runId: o.runId, network: o.network ?? 'kind', auth: o.auth, containerName: o.containerName });
  let stopped = false;
  let configuring: Promise<void> = Promise.resolve();
  const faults = new RegistryFaults(registry, nodes);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    const errors: string[] = [];
    await configuring.catch(() => undefined); // a wiring in flight finishes first, then is undone
    await faults.close().catch((e: Error) => errors.push(e.message));
    await unconfigureNodes(nodes, registry).catch((e: Error) => errors.push(e.message));
    await registry.remove();
    if (errors.length) throw new Error(`stopping the registry rig: ${errors.join('; ')}`);
  };
  // Registered after startRegistry's own cleanup, so it runs first: nodes are unwired before the registry goes.
  const unregister = cleanups.add(`registry rig ${registry.containerName}`, stop);
  try {
    configuring = configureNodesForRegistry(nodes, registry);
    await configuring;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { registry, faults, nodes, stop };
}
