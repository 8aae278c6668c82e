/**
 * Every pinned version in one place. A version string appears nowhere else in the harness: builders,
 * cluster config and reports import it from here, and cache keys hash it.
 */
export const pins = {
  /** Upstream Kubernetes the patch series applies to: the newest v1.34 patch release on the Go module proxy. */
  kubernetes: 'v1.34.4',
  /** The staging modules (k8s.io/api …) are tagged v0.<minor>.<patch> alongside. */
  kubernetesStaging: 'v0.34.4',
  /** Images kubeadm v1.34 expects (cmd/kubeadm/app/constants). */
  etcd: 'v3.6.5',
  etcdImageTag: '3.6.5-0',
  pause: '3.10.1',
  coredns: 'v1.12.1',
  /** Debian suite for the node base image and every image we build. */
  debianSuite: 'bookworm',
} as const;

export type Pins = typeof pins;
