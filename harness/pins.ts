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
  /**
   * kind, built from the Go module proxy. v0.30.0 is the newest release that still drives cgroup v1 nodes
   * (it runs nodes with --cgroupns=private and kubeadm's v1beta3 config); its default node image is
   * kindest/node:v1.34.0, the same minor as ours.
   */
  kind: 'v0.30.0',
  /** The stock node image for `cif build --online` (same Kubernetes minor as `kubernetes`). */
  kindNodeImage: 'kindest/node:v1.34.0',
  /** crictl for the node image (sigs.k8s.io/cri-tools tracks the Kubernetes minor). */
  criTools: 'v1.34.0',
} as const;

export type Pins = typeof pins;
