/**
 * A kubeconfig for a kind cluster straight from its control-plane node: kind's admin.conf, with the server
 * rewritten to the node's IP on the docker network (reachable from this host without a published port).
 * Used when no kubeconfig file is given (tests, measurements).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { run } from '../lib/exec.ts';

export async function kubeConfigFromNode(controlPlane: string): Promise<KubeConfig> {
  const conf = (await run('docker', ['exec', controlPlane, 'cat', '/etc/kubernetes/admin.conf'], { timeout: 30_000 })).stdout;
  const ip = (await run('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', controlPlane])).stdout
    .trim()
    .split(' ')[0];
  if (!ip) throw new Error(`${controlPlane} has no IP address on a docker network`);
  const kc = new KubeConfig();
  kc.loadFromString(conf.replace(/server: https:\/\/[^\s]+/, `server: https://${ip}:6443`));
  return kc;
}

/** `$KUBECONFIG`-style file when given, else the cluster's control-plane node. */
export async function clusterKubeConfig(o: { kubeconfig?: string; cluster?: string } = {}): Promise<KubeConfig> {
  if (o.kubeconfig) {
    const kc = new KubeConfig();
    kc.loadFromFile(o.kubeconfig);
    return kc;
  }
  return kubeConfigFromNode(`${o.cluster ?? 'cif'}-control-plane`);
}
