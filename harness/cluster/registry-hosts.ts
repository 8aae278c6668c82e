/**
 * containerd's per-registry config on the nodes: /etc/containerd/certs.d/<host>/hosts.toml (the node's
 * containerd reads that directory because of `config_path`, set in the node image and in the kind config).
 *
 * containerd 1.6 needs a `[host."…"]` table: a file holding only `server = "http://…"` is rejected as an
 * "invalid `host` tree" and containerd silently falls back to HTTPS on the default host — so a plain-HTTP
 * registry is described by both `server` and a host entry with pull/resolve capabilities. containerd also
 * appends `server` to the host list, so the top-level `capabilities = ["push"]` keeps it out of pulls: one
 * attempt per pull, as with no hosts.toml (the registry helper measured 2 × the dial timeout otherwise).
 * harness/registry/nodes.ts writes the same file for the scenarios; this one serves the cluster layer's
 * own checks.
 */
import { run } from '../lib/exec.ts';

export interface RegistryHost {
  /** How images name the registry: `cif-registry:5000` (host[:port], no scheme). */
  host: string;
  /** Where to reach it: `http://cif-registry:5000` or `https://…`. */
  endpoint: string;
  /** For https endpoints with a self-signed certificate. */
  skipVerify?: boolean;
}

export function hostsTomlPath(host: string): string {
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) throw new Error(`registry host ${JSON.stringify(host)} is not host[:port]`);
  return `/etc/containerd/certs.d/${host}/hosts.toml`;
}

export function renderHostsToml(r: RegistryHost): string {
  if (!/^https?:\/\/[^/\s"]+$/.test(r.endpoint)) throw new Error(`registry endpoint ${JSON.stringify(r.endpoint)} is not http(s)://host[:port]`);
  const lines = [
    `# written by cif (harness/cluster/registry-hosts.ts)`,
    `server = "${r.endpoint}"`,
    `capabilities = ["push"]`,
    ``,
    `[host."${r.endpoint}"]`,
    `  capabilities = ["pull", "resolve"]`,
  ];
  if (r.skipVerify || r.endpoint.startsWith('http://')) lines.push(`  skip_verify = true`);
  return lines.join('\n') + '\n';
}

/** Writes the hosts.toml into each node container (takes effect on the next pull; no restart). */
export async function writeRegistryHosts(nodeContainers: readonly string[], r: RegistryHost): Promise<void> {
  const path = hostsTomlPath(r.host);
  const dir = path.slice(0, path.lastIndexOf('/'));
  for (const c of nodeContainers) {
    await run('docker', ['exec', '-i', c, 'sh', '-c', `mkdir -p '${dir}' && cat > '${path}.tmp' && mv '${path}.tmp' '${path}'`], {
      input: renderHostsToml(r),
    });
  }
}
