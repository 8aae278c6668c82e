/**
 * kind's v1alpha4 cluster config as typed objects (the subset we use), and the one function that builds ours.
 * Rendered to YAML only at the edge (the file handed to `kind create cluster --config`). The config's hash is
 * the cluster's identity: it is put on every node as a label, and a running cluster is reused only when its
 * label matches.
 */
import { stringify } from 'yaml';
import { hashInputs } from '../lib/cache.ts';

export const CIF_GATE = 'ImagePullPolicyCachedIfFailed';
export const CONFIG_HASH_LABEL = 'cif.config-hash';

export interface KindNode {
  role: 'control-plane' | 'worker';
  image?: string;
  labels?: Record<string, string>;
  kubeadmConfigPatches?: string[];
}

export interface KindNetworking {
  podSubnet?: string;
  serviceSubnet?: string;
  disableDefaultCNI?: boolean;
  kubeProxyMode?: 'iptables' | 'ipvs' | 'nftables' | 'none';
}

export interface KindCluster {
  kind: 'Cluster';
  apiVersion: 'kind.x-k8s.io/v1alpha4';
  name?: string;
  featureGates?: Record<string, boolean>;
  runtimeConfig?: Record<string, string>;
  networking?: KindNetworking;
  nodes: KindNode[];
  containerdConfigPatches?: string[];
  kubeadmConfigPatches?: string[];
}

/** A KubeletConfiguration document as kubeadm merges it (a strategic-merge patch by kind/apiVersion). */
export interface KubeletConfigPatch {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  featureGates?: Record<string, boolean>;
  imagePullFallbackTimeout?: string;
  imagePullFallbackCircuitBreakerWindow?: string;
  /** Pulls one at a time would serialize a blackholed registry across pods; the scenarios need parallel pulls. */
  serializeImagePulls?: boolean;
  /** KEP-2535 (KubeletEnsureSecretPulledImages): when a cached image must be re-verified against credentials. */
  imagePullCredentialsVerificationPolicy?: KubeletCredentialsPolicy;
  /** The kubelet's own pull rate limit (default 5/s, burst 10); 0 = unlimited. */
  registryPullQPS?: number;
}

export type KubeletCredentialsPolicy = 'NeverVerify' | 'NeverVerifyPreloadedImages' | 'NeverVerifyAllowlistedImages' | 'AlwaysVerify';

export interface NodeCapabilities {
  /** The binaries know the ImagePullPolicyCachedIfFailed gate (kubelet --help lists it). */
  gate: boolean;
  /** The kubelet's config type has imagePullFallbackTimeout / imagePullFallbackCircuitBreakerWindow. */
  fallbackConfig: boolean;
}

export interface ClusterSpec {
  name: string;
  image: string;
  workers: number;
  gate: boolean;
  /** The kubelet's fallback deadline (metav1.Duration text); only written when the kubelet knows the field. */
  fallbackTimeout: string;
  circuitBreakerWindow: string;
  capabilities: NodeCapabilities;
  /**
   * Further kubelet feature gates (e.g. KubeletEnsureSecretPulledImages). Written into the kubelet's
   * configuration only: kind's top-level featureGates would also reach the control plane, which these gates
   * do not concern. Absent/empty changes nothing (and so not the config hash of existing clusters).
   */
  kubeletFeatureGates?: Record<string, boolean>;
  /** Default false (see KubeletConfigPatch). */
  serializeImagePulls?: boolean;
  imagePullCredentialsVerificationPolicy?: KubeletCredentialsPolicy;
  /** Unset keeps the kubelet's default (5/s, burst 10) and the config hash of existing clusters. */
  registryPullQPS?: number;
}

export const DEFAULT_FALLBACK_TIMEOUT = '10s';
export const DEFAULT_CIRCUIT_BREAKER_WINDOW = '30s';

/** The containerd patch: registry hosts come from /etc/containerd/certs.d/<host>/hosts.toml. */
export const CONTAINERD_REGISTRY_PATCH = `[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
`;

export function kubeletPatch(spec: ClusterSpec): KubeletConfigPatch {
  const patch: KubeletConfigPatch = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    serializeImagePulls: spec.serializeImagePulls ?? false,
  };
  if (spec.kubeletFeatureGates && Object.keys(spec.kubeletFeatureGates).length) {
    patch.featureGates = Object.fromEntries(Object.entries(spec.kubeletFeatureGates).sort(([a], [b]) => a.localeCompare(b)));
  }
  if (spec.imagePullCredentialsVerificationPolicy) patch.imagePullCredentialsVerificationPolicy = spec.imagePullCredentialsVerificationPolicy;
  if (spec.capabilities.fallbackConfig) {
    patch.imagePullFallbackTimeout = spec.fallbackTimeout;
    patch.imagePullFallbackCircuitBreakerWindow = spec.circuitBreakerWindow;
  }
  if (spec.registryPullQPS !== undefined) patch.registryPullQPS = spec.registryPullQPS;
  return patch;
}

/**
 * Our cluster config. The gate goes in kind's top-level featureGates, which kind passes to every component
 * (kube-apiserver, kubelet, controller-manager, scheduler, kube-proxy); it is written only when the binaries
 * know it, and as `false` for --gate off on binaries that do (explicitly off, not merely absent).
 */
export function kindConfig(spec: ClusterSpec): KindCluster {
  if (spec.gate && !spec.capabilities.gate) {
    throw new Error(`${CIF_GATE} requested but the built binaries do not know it`);
  }
  if (!Number.isInteger(spec.workers) || spec.workers < 0 || spec.workers > 10) {
    throw new Error(`workers must be an integer in 0..10, got ${spec.workers}`);
  }
  const base: Omit<KindCluster, 'nodes'> = {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    name: spec.name,
    ...(spec.capabilities.gate ? { featureGates: { [CIF_GATE]: spec.gate } } : {}),
    networking: { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/16' },
    containerdConfigPatches: [CONTAINERD_REGISTRY_PATCH],
    kubeadmConfigPatches: [stringify(kubeletPatch(spec))],
  };
  const hash = configHash({ ...base, nodes: nodesFor(spec, '') });
  return { ...base, nodes: nodesFor(spec, hash) };
}

function nodesFor(spec: ClusterSpec, hash: string): KindNode[] {
  const labels = hash ? { [CONFIG_HASH_LABEL]: hash } : undefined;
  const node = (role: KindNode['role']): KindNode => ({ role, image: spec.image, ...(labels ? { labels } : {}) });
  return [node('control-plane'), ...Array.from({ length: spec.workers }, () => node('worker'))];
}

/** The hash of a config without its own label (so it can be stored in that label). */
export function configHash(config: KindCluster): string {
  const stripped = { ...config, nodes: config.nodes.map(({ labels: _l, ...n }) => n) };
  return hashInputs(stripped, 12);
}

/** The YAML handed to `kind create cluster --config`. */
export function renderKindConfig(config: KindCluster): string {
  return `# generated by cif (harness/cluster/kind-config.ts); do not edit\n${stringify(config, { aliasDuplicateObjects: false })}`;
}
