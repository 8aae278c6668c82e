import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CIF_GATE, CONFIG_HASH_LABEL, configHash, kindConfig, renderKindConfig, type ClusterSpec } from './kind-config.ts';

const spec = (over: Partial<ClusterSpec> = {}): ClusterSpec => ({
  name: 'cif',
  image: 'cif/node:v1.34.4-cif.abc-123',
  workers: 1,
  gate: true,
  fallbackTimeout: '10s',
  circuitBreakerWindow: '30s',
  capabilities: { gate: true, fallbackConfig: true },
  ...over,
});

describe('kindConfig', () => {
  it('turns the gate on for every component and sets the kubelet fallback fields when the binaries know them', () => {
    const c = kindConfig(spec());
    expect(c.featureGates).toEqual({ [CIF_GATE]: true });
    const kubelet = parse(c.kubeadmConfigPatches![0]!);
    expect(kubelet).toMatchObject({ kind: 'KubeletConfiguration', imagePullFallbackTimeout: '10s', imagePullFallbackCircuitBreakerWindow: '30s' });
    expect(c.nodes.map((n) => n.role)).toEqual(['control-plane', 'worker']);
    expect(c.nodes.every((n) => n.image === 'cif/node:v1.34.4-cif.abc-123')).toBe(true);
  });
  it('writes the gate as false for --gate off on patched binaries', () => {
    expect(kindConfig(spec({ gate: false })).featureGates).toEqual({ [CIF_GATE]: false });
  });
  it('omits the gate and the fields for binaries that do not know them (unpatched)', () => {
    const c = kindConfig(spec({ gate: false, capabilities: { gate: false, fallbackConfig: false } }));
    expect(c.featureGates).toBeUndefined();
    const kubelet = parse(c.kubeadmConfigPatches![0]!);
    expect(kubelet.imagePullFallbackTimeout).toBeUndefined();
    expect(renderKindConfig(c)).not.toContain(CIF_GATE);
  });
  it('refuses the gate on binaries without it', () => {
    expect(() => kindConfig(spec({ capabilities: { gate: false, fallbackConfig: false } }))).toThrow(/do not know it/);
  });
  it('points containerd at certs.d for registry hosts', () => {
    expect(kindConfig(spec()).containerdConfigPatches![0]).toMatch(/config_path = "\/etc\/containerd\/certs.d"/);
  });
  it('labels each node with the hash of the config, which changes with any setting', () => {
    const c = kindConfig(spec());
    const h = configHash(c);
    expect(c.nodes.every((n) => n.labels?.[CONFIG_HASH_LABEL] === h)).toBe(true);
    expect(configHash(kindConfig(spec()))).toBe(h);
    expect(configHash(kindConfig(spec({ workers: 2 })))).not.toBe(h);
    expect(configHash(kindConfig(spec({ gate: false })))).not.toBe(h);
    expect(configHash(kindConfig(spec({ fallbackTimeout: '3s' })))).not.toBe(h);
    expect(configHash(kindConfig(spec({ image: 'cif/node:other' })))).not.toBe(h);
  });
  it('writes further kubelet gates, serial pulls and the KEP-2535 policy into the kubelet config only', () => {
    const c = kindConfig(
      spec({ kubeletFeatureGates: { KubeletEnsureSecretPulledImages: true }, serializeImagePulls: true, imagePullCredentialsVerificationPolicy: 'AlwaysVerify' }),
    );
    expect(c.featureGates).toEqual({ [CIF_GATE]: true });
    expect(parse(c.kubeadmConfigPatches![0]!)).toMatchObject({
      featureGates: { KubeletEnsureSecretPulledImages: true },
      serializeImagePulls: true,
      imagePullCredentialsVerificationPolicy: 'AlwaysVerify',
    });
    expect(configHash(c)).not.toBe(configHash(kindConfig(spec())));
  });
  it('leaves the config (and so the hash of running clusters) unchanged when the new options are absent or empty', () => {
    const h = configHash(kindConfig(spec()));
    expect(configHash(kindConfig(spec({ kubeletFeatureGates: {}, serializeImagePulls: false })))).toBe(h);
    expect(parse(kindConfig(spec()).kubeadmConfigPatches![0]!).featureGates).toBeUndefined();
  });
  it('writes registryPullQPS (0 = unlimited) only when set', () => {
    const patch = (s: ClusterSpec) => parse(kindConfig(s).kubeadmConfigPatches![0]!);
    expect(patch(spec({ registryPullQPS: 0 })).registryPullQPS).toBe(0);
    expect(patch(spec())).not.toHaveProperty('registryPullQPS');
    expect(configHash(kindConfig(spec({ registryPullQPS: 0 })))).not.toBe(configHash(kindConfig(spec())));
  });
  it('rejects a bad worker count', () => {
    expect(() => kindConfig(spec({ workers: -1 }))).toThrow(/workers/);
    expect(() => kindConfig(spec({ workers: 1.5 }))).toThrow(/workers/);
  });
  it('renders one YAML document kind can read', () => {
    const docs = parseAllDocuments(renderKindConfig(kindConfig(spec({ workers: 2 }))));
    expect(docs).toHaveLength(1);
    const obj = docs[0]!.toJS();
    expect(obj).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', name: 'cif' });
    expect(obj.nodes).toHaveLength(3);
  });
});
