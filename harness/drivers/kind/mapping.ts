/** Pure mapping from the Driver port's terms to kind's and Kubernetes' (unit-tested in driver.test.ts). */
import { createHash } from 'node:crypto';
import { MARKER_PREFIX } from '../../contract/index.ts';
import { E2E_CLUSTER_PREFIX, type ClusterOptions } from '../../cluster/cluster.ts';
import type { ClusterNeeds, PodSpec } from '../driver.ts';

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
