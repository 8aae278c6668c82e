/**
 * How kind nodes find the registry: a line in each node's /etc/hosts (`<ip> <hostName>`) and a containerd
 * hosts.toml at /etc/containerd/certs.d/<hostName>:<P>/hosts.toml that says "plain HTTP, pull and resolve".
 * containerd reads hosts.toml on every pull (no restart) as long as its CRI registry `config_path` is
 * /etc/containerd/certs.d — the node image must set that. containerd 1.6 rejects a file with only `server =`,
 * so there is always a `[host."http://…"]` section.
 *
 * All changes go in with `docker exec <node>` and are idempotent. /etc/hosts is a bind mount in a container:
 * it is rewritten in place (`cat > /etc/hosts`), never replaced (sed -i would fail with EBUSY).
 */
import { crictlPull } from '../cluster/node-images.ts';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import type { RegistryCredentials } from '../lib/registry-client.ts';

export const CERTS_DIR = '/etc/containerd/certs.d';
/** Go's resolver (containerd) caches /etc/hosts for up to 5 s: wait this long after changing it. */
export const HOSTS_CACHE_SETTLE_MS = 5_500;
const HOSTS_TAG = '# cif-registry';

/**
 * The hosts.toml for one registry. containerd appends the `server` to the `[host]` list, so with server and
 * host naming the same endpoint every failed resolve is tried twice (measured: a blackholed registry then
 * costs 2 × the 30 s dial timeout). The top-level `capabilities = ["push"]` keeps the server out of pulls
 * and resolves, so a pull makes exactly one attempt — as it would against a registry with no hosts.toml.
 */
export function hostsToml(registryHost: string, endpoint = `http://${registryHost}`): string {
  if (!/^https?:\/\/[^/\s"]+$/.test(endpoint)) throw new Error(`registry endpoint ${JSON.stringify(endpoint)} is not http(s)://host[:port]`);
  return [
    '# Written by the cif harness: the test registry speaks plain HTTP.',
    `server = "${endpoint}"`,
    'capabilities = ["push"]',
    '',
    `[host."${endpoint}"]`,
    '  capabilities = ["pull", "resolve"]',
    '',
  ].join('\n');
}

function checkName(what: string, value: string): void {
  if (!/^[A-Za-z0-9.:_[\]-]+$/.test(value)) throw new Error(`${what} ${JSON.stringify(value)} has characters unsafe for a node config`);
}

/** Where containerd looks for a registry's config: certs.d/<host[:port]>/hosts.toml. */
export function hostsTomlPath(registryHost: string): string {
  checkName('registry host', registryHost);
  if (registryHost.includes('..')) throw new Error(`registry host ${JSON.stringify(registryHost)} is not host[:port]`);
  return `${CERTS_DIR}/${registryHost}/hosts.toml`;
}

/**
 * Writes /etc/containerd/certs.d/<registryHost>/hosts.toml in each node: to a temp file renamed into place,
 * because containerd reads the file on every pull and must never see half of it.
 */
export async function writeHostsToml(nodes: readonly string[], registryHost: string, endpoint?: string): Promise<void> {
  const path = hostsTomlPath(registryHost);
  const dir = path.slice(0, path.lastIndexOf('/'));
  const text = hostsToml(registryHost, endpoint);
  await Promise.all(
    nodes.map((node) =>
      run('docker', ['exec', '-i', node, 'sh', '-c', `mkdir -p '${dir}' && cat > '${path}.tmp' && mv '${path}.tmp' '${path}'`], {
        input: text,
        timeout: 30_000,
      }),
    ),
  );
}

export async function removeHostsToml(nodes: readonly string[], registryHost: string): Promise<void> {
  checkName('registry host', registryHost);
  await Promise.all(
    nodes.map((node) => run('docker', ['exec', node, 'rm', '-rf', `${CERTS_DIR}/${registryHost}`], { reject: false, timeout: 30_000 })),
  );
}

/**
 * Makes `hostName` resolve to `ip` in each node's /etc/hosts, or not at all when ip is undefined. Only our
 * own tagged line for that name is touched. Callers that need containerd to see the change at once wait
 * HOSTS_CACHE_SETTLE_MS afterwards.
 */
export async function setHostsEntry(nodes: readonly string[], hostName: string, ip: string | undefined): Promise<void> {
  checkName('host name', hostName);
  if (ip) checkName('ip', ip);
  const keep = `grep -v -F ' ${hostName} ${HOSTS_TAG}' /etc/hosts > /tmp/cif-hosts.$$ || true`;
  const add = ip ? `echo '${ip} ${hostName} ${HOSTS_TAG}' >> /tmp/cif-hosts.$$` : 'true';
  const script = `${keep}; ${add}; cat /tmp/cif-hosts.$$ > /etc/hosts; rm -f /tmp/cif-hosts.$$`;
  await Promise.all(nodes.map((node) => run('docker', ['exec', node, 'sh', '-c', script], { timeout: 30_000 })));
}

/** What `hostName` maps to in a node's /etc/hosts now (our line), or undefined. */
export async function hostsEntry(node: string, hostName: string): Promise<string | undefined> {
  const r = await run('docker', ['exec', node, 'cat', '/etc/hosts'], { timeout: 30_000 });
  for (const line of r.stdout.split('\n')) {
    if (line.endsWith(` ${hostName} ${HOSTS_TAG}`)) return line.split(/\s+/)[0];
  }
  return undefined;
}

/** The iptables rule (without -I/-D) that drops a node's packets to ip:port: the `blackhole` fault. */
export function blackholeRule(ip: string, port: number, runId: string): string[] {
  return ['OUTPUT', '-p', 'tcp', '-d', ip, '--dport', String(port), '-m', 'comment', '--comment', `cif-blackhole-${runId}`, '-j', 'DROP'];
}

/**
 * Drops (on=true) or lets through (on=false) TCP from each node to ip:port. The rule sits in the node's own
 * network namespace, where containerd dials from: SYNs vanish, so dials time out instead of being refused.
 */
export async function setBlackhole(nodes: readonly string[], ip: string, port: number, runId: string, on: boolean): Promise<void> {
  const rule = blackholeRule(ip, port, runId);
  await Promise.all(
    nodes.map(async (node) => {
      // Remove every copy first (bounded), so the rule is present exactly once or not at all.
      for (let i = 0; i < 10; i++) {
        const r = await run('docker', ['exec', node, 'iptables', '-D', ...rule], { reject: false, timeout: 30_000 });
        if (r.exitCode !== 0) break;
      }
      if (on) await run('docker', ['exec', node, 'iptables', '-I', ...rule], { timeout: 30_000 });
    }),
  );
}

/**
 * Points the nodes at a registry: hosts.toml plus the /etc/hosts line for its name → the proxy, and returns
 * once containerd on every node resolves the name (see waitUntilResolvable).
 */
export async function configureNodesForRegistry(
  nodes: readonly string[],
  registry: { hostName: string; nodeAddress: string; proxyIp: string; credentials?: RegistryCredentials | undefined; ref(repo: string, tag: string): string },
): Promise<void> {
  await writeHostsToml(nodes, registry.nodeAddress);
  await setHostsEntry(nodes, registry.hostName, registry.proxyIp);
  await waitUntilResolvable(nodes, registry);
}

/**
 * containerd's resolver (Go's) re-reads /etc/hosts at most every 5 s: a registry name written just now may
 * still be "no such host" for a few seconds, and a pull in that gap fails for the wrong reason (a cache step,
 * an auth check, an uncached cell reading as `dns`). Probe from every node until the name resolves: a pull of
 * a tag that doesn't exist answers "not found" (or 401) once it does. Bounded: 40 probes, 10 s.
 */
export async function waitUntilResolvable(
  nodes: readonly string[],
  registry: { hostName: string; credentials?: RegistryCredentials | undefined; ref(repo: string, tag: string): string },
  timeoutMs = 10_000,
): Promise<void> {
  const ref = registry.ref('cif-probe/resolve', 'none');
  await Promise.all(
    nodes.map(async (node) => {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (let i = 0; i < 40 && Date.now() < deadline; i++) {
        const r = await crictlPull(node, ref, { timeoutSeconds: 10, ...(registry.credentials ? { credentials: registry.credentials } : {}) });
        last = r.error;
        if (!isUnresolved(r.error)) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new HostError(`${registry.hostName} does not resolve on ${node} after ${timeoutMs / 1000} s: ${last}`, {
        hint: `check the name's line in ${node}:/etc/hosts`,
      });
    }),
  );
}

export function isUnresolved(criError: string): boolean {
  return /no such host/.test(criError);
}

/** Undoes configureNodesForRegistry (best effort: a node may be gone already). */
export async function unconfigureNodes(nodes: readonly string[], registry: { hostName: string; nodeAddress: string }): Promise<void> {
  await removeHostsToml(nodes, registry.nodeAddress);
  await setHostsEntry(nodes, registry.hostName, undefined).catch(() => undefined);
}

/** The node containers of a kind cluster (by kind's own label), sorted by name. */
export async function kindNodes(cluster: string): Promise<string[]> {
  const r = await run('docker', ['ps', '--filter', `label=io.x-k8s.kind.cluster=${cluster}`, '--format', '{{.Names}}']);
  return r.stdout.split('\n').filter(Boolean).sort();
}
