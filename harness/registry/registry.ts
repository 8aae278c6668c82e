/**
 * The registry a run uses: a container of our registry image on a docker network (the kind network for e2e),
 * with our fault proxy in front of it on the network's gateway address.
 *
 * Addresses (one port P for both, so nodes can be pointed at either without touching hosts.toml):
 *   - nodes pull from `nodeAddress` = `<hostName>:P`, where hostName (e.g. `registry-ab12cd.cif.test`) is
 *     written into each node's /etc/hosts. It normally names the gateway IP, i.e. the proxy, which forwards to
 *     the registry container at <container IP>:P. Image references use this address: `ref(repo, tag)`.
 *   - this host pushes to `hostAddress` = 127.0.0.1:<published port>, straight to the registry, never through
 *     a fault.
 * The name is deliberately not a docker container name, so removing it from /etc/hosts (the `dns` fault)
 * makes it unresolvable rather than resolved by docker's embedded DNS.
 *
 * Started with plain docker (create, cp, start) rather than testcontainers: stop/start in place (the `stopped`
 * fault) and `docker cp` of the htpasswd file are direct, no reaper image is needed, and cleanup is by label.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashInputs } from '../lib/cache.ts';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import { cleanups } from '../lib/run-context.ts';
import type { PushTarget } from '../images/test-images.ts';
import { dockerLabelArgs, ownerLabels } from '../lib/owner.ts';
import { FaultProxy } from './fault-proxy.ts';
import { freePort, waitForHttp } from './local-registry.ts';
import { HTPASSWD_PATH, ensureRegistryImage, htpasswdLine } from './registry-image.ts';
import type { RegistryCredentials } from '../lib/registry-client.ts';

export interface StartRegistryOptions {
  runId: string;
  /** Docker network to join (e.g. `kind`). Without one: the default bridge, and the proxy on 127.0.0.1. */
  network?: string;
  /** Enable htpasswd auth with this single user. */
  auth?: RegistryCredentials;
  /** The name nodes resolve (default `registry-<8 hex of a hash of the container name>.cif.test`). */
  hostName?: string;
  /** Container name (default `cif-registry-<runId>`). */
  containerName?: string;
}

export interface RegistryHandle {
  runId: string;
  containerName: string;
  image: string;
  network: string | undefined;
  /** The name nodes resolve to reach the registry. */
  hostName: string;
  /** The port P nodes dial (the proxy's, and the registry's inside its container). */
  port: number;
  /** host:port in image references, as nodes reach it: `<hostName>:<P>`. */
  nodeAddress: string;
  /** The IP `hostName` normally maps to on nodes: the proxy (the network's gateway, or 127.0.0.1). */
  proxyIp: string;
  /** host:port for pushes from this host (loopback-published, straight to the registry). */
  hostAddress: string;
  credentials: RegistryCredentials | undefined;
  proxy: FaultProxy;
  pushTarget(): PushTarget;
  ref(repo: string, tag: string): string;
  /** The container's IP on its network now (undefined while stopped). */
  containerIp(): Promise<string | undefined>;
  running(): Promise<boolean>;
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

/** The IPv4 gateway of a docker network: where the host (and so our proxy) is reachable from its containers. */
export async function networkGateway(network: string): Promise<string> {
  const r = await run('docker', ['network', 'inspect', network, '--format', '{{json .IPAM.Config}}'], { reject: false });
  if (r.exitCode !== 0) {
    throw new HostError(`docker network ${network} does not exist`, { hint: 'create the cluster first (`cif cluster up`)' });
  }
  const configs = JSON.parse(r.stdout || '[]') as { Subnet?: string; Gateway?: string }[];
  for (const c of configs) {
    if (c.Gateway && /^\d+\.\d+\.\d+\.\d+$/.test(c.Gateway)) return c.Gateway;
  }
  // docker leaves Gateway empty for some auto-assigned subnets: the gateway is then the subnet's first host.
  for (const c of configs) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(c.Subnet ?? '');
    if (m) return `${m[1]}.${m[2]}.${m[3]}.${Number(m[4]) + 1}`;
  }
  throw new HostError(`docker network ${network} has no IPv4 gateway (IPAM config ${r.stdout})`, {
    hint: 'the registry needs an IPv4 network; recreate the kind network with IPv4',
  });
}

/** a.b.c.d/len → the last host address of the subnet (broadcast − 1). Pure. */
export function lastHostAddress(cidr: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const len = Number(m[5]);
  if (len < 8 || len > 30) return undefined;
  const ip = ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
  const hostBits = 32 - len;
  const last = ((ip >>> hostBits) << hostBits) + 2 ** hostBits - 2;
  return [24, 16, 8, 0].map((sh) => (last >>> sh) & 255).join('.');
}

/**
 * An address on `network` where nothing answers: the subnet's last host address, when no container has it.
 * docker hands out addresses from the bottom of the subnet, so the top one stays free; pointing a name at it
 * makes dials fail with `no route to host` (ARP gets no answer) — a host that is down. Undefined when the
 * network has no IPv4 subnet or the address is taken.
 */
export async function deadAddress(network: string): Promise<string | undefined> {
  const r = await run('docker', ['network', 'inspect', network, '--format', '{{json .IPAM.Config}}|{{json .Containers}}'], { reject: false });
  if (r.exitCode !== 0) return undefined;
  const [ipam = '[]', containers = '{}'] = r.stdout.split('|');
  const subnet = (JSON.parse(ipam) as { Subnet?: string }[]).map((c) => c.Subnet ?? '').find((c) => /^\d+\.\d+\.\d+\.\d+\//.test(c));
  const candidate = subnet ? lastHostAddress(subnet) : undefined;
  const used = Object.values((JSON.parse(containers) ?? {}) as Record<string, { IPv4Address?: string }>).map((c) => (c.IPv4Address ?? '').split('/')[0]);
  return candidate && !used.includes(candidate) ? candidate : undefined;
}

async function inspect(name: string, format: string): Promise<string> {
  return (await run('docker', ['inspect', '-f', format, name])).stdout.trim();
}

export async function startRegistry(o: StartRegistryOptions): Promise<RegistryHandle> {
  const image = await ensureRegistryImage();
  const containerName = o.containerName ?? `cif-registry-${o.runId}`;
  // Derived from the container name, so a second registry in the same run (e.g. a private one) gets its own
  // hosts line and removing one never unwires the other.
  const hostName = o.hostName ?? `registry-${hashInputs(containerName, 8)}.cif.test`;
  const proxyIp = o.network ? await networkGateway(o.network) : '127.0.0.1';
  const port = await freePort(proxyIp);

  const env = [`REGISTRY_HTTP_ADDR=:${port}`];
  if (o.auth) {
    env.push('REGISTRY_AUTH=htpasswd', 'REGISTRY_AUTH_HTPASSWD_REALM=cif-registry', `REGISTRY_AUTH_HTPASSWD_PATH=${HTPASSWD_PATH}`);
  }
  const creating = run('docker', [
    'create',
    '--name',
    containerName,
    ...dockerLabelArgs({ ...ownerLabels(o.runId), 'cif.role': 'registry' }),
    ...(o.network ? ['--network', o.network] : []),
    '-p',
    `127.0.0.1::${port}`,
    ...env.flatMap((e) => ['-e', e]),
    image,
  ]);
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    await proxyRef?.close().catch(() => undefined);
    await run('docker', ['rm', '-f', '-v', containerName], { reject: false, timeout: 60_000 });
  };
  let proxyRef: FaultProxy | undefined;
  // Registered before the create returns: a SIGINT now waits for the create to finish, then removes it, so
  // an interrupted start leaves nothing behind.
  const unregister = cleanups.add(`registry ${containerName}`, async () => {
    await creating.catch(() => undefined);
    await remove();
  });

  try {
    await creating;
    if (o.auth) {
      const dir = await mkdtemp(join(tmpdir(), 'cif-htpasswd-'));
      try {
        await writeFile(join(dir, 'htpasswd'), await htpasswdLine(o.auth.username, o.auth.password));
        await run('docker', ['cp', join(dir, 'htpasswd'), `${containerName}:${HTPASSWD_PATH}`]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    let hostAddress = '';
    let upstream = '';
    const containerIp = async () => {
      const ip = await inspect(containerName, '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}');
      return ip.split(' ').find(Boolean);
    };
    const running = async () => (await inspect(containerName, '{{.State.Running}}')) === 'true';
    const start = async () => {
      await run('docker', ['start', containerName]);
      // A restarted container may get another published port and another IP: read both again.
      const published = (await run('docker', ['port', containerName, `${port}/tcp`])).stdout.split('\n').find((l) => l.startsWith('127.0.0.1:'));
      if (!published) throw new HostError(`registry ${containerName} has no loopback-published port for ${port}`);
      hostAddress = published.trim();
      const ip = await containerIp();
      if (!ip) throw new HostError(`registry ${containerName} has no IP address on ${o.network ?? 'the default bridge'}`);
      upstream = `${ip}:${port}`;
      try {
        await waitForHttp(`http://${hostAddress}/v2/`, 30_000, (s) => s === 200 || s === 401);
      } catch (err) {
        const logs = await run('docker', ['logs', '--tail', '30', containerName], { reject: false });
        throw new HostError(`registry ${containerName} did not answer: ${(err as Error).message}\n${logs.stderr}${logs.stdout}`);
      }
    };
    await start();
    const proxy = await FaultProxy.start({ host: proxyIp, port, upstream: () => upstream, allowedHosts: o.network ? [proxyIp] : [] });
    proxyRef = proxy;

    const handle: RegistryHandle = {
      runId: o.runId,
      containerName,
      image,
      network: o.network,
      hostName,
      port,
      nodeAddress: `${hostName}:${port}`,
      proxyIp,
      get hostAddress() {
        return hostAddress;
      },
      credentials: o.auth,
      proxy,
      pushTarget: () => ({ address: hostAddress, credentials: o.auth }),
      ref: (repo, tag) => `${hostName}:${port}/${repo}:${tag}`,
      containerIp,
      running,
      stop: async () => {
        await run('docker', ['stop', '-t', '2', containerName]);
      },
      start,
      remove: async () => {
        unregister();
        await remove();
      },
    };
    return handle;
  } catch (err) {
    unregister();
    await remove();
    throw err;
  }
}
