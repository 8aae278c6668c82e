import { describe, expect, it } from 'vitest';
import { clusterNameFor, clusterOptionsFor, containerCommand, sanitizeLabels } from './mapping.ts';
import { refsOf } from './session.ts';
import type { ClusterNeeds } from '../driver.ts';

const needs = (over: Partial<ClusterNeeds> = {}, kubelet: Partial<ClusterNeeds['kubelet']> = {}): ClusterNeeds => ({
  workers: 1,
  gate: true,
  featureGates: {},
  ...over,
  kubelet: { imagePullFallbackTimeout: 10, imagePullFallbackCircuitBreakerWindow: 30, serializeImagePulls: false, ...kubelet },
});

describe('cluster shapes', () => {
  it('names clusters cif-e2e-<hash>, equal for equal needs whatever the worker count, never `cif`', () => {
    const a = clusterNameFor(needs());
    expect(a).toMatch(/^cif-e2e-[0-9a-f]{8}$/);
    expect(clusterNameFor(needs({ workers: 2 }))).toBe(a);
    expect(clusterNameFor(needs({ gate: false }))).not.toBe(a);
    expect(clusterNameFor(needs({}, { imagePullFallbackCircuitBreakerWindow: 0 }))).not.toBe(a);
    expect(clusterNameFor(needs({ featureGates: { KubeletEnsureSecretPulledImages: true } }))).not.toBe(a);
    expect(clusterNameFor(needs({}, { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' }))).not.toBe(a);
    expect(a.length).toBeLessThanOrEqual(31); // ensureCluster's name rule
  });
  it('maps needs to ensureCluster options (seconds as durations, gates for the kubelet)', () => {
    expect(clusterOptionsFor(needs({ workers: 2 }), 'cif-e2e-x')).toEqual({
      name: 'cif-e2e-x',
      workers: 2,
      gate: true,
      fallbackTimeout: '10s',
      circuitBreakerWindow: '30s',
      serializeImagePulls: false,
    });
    expect(
      clusterOptionsFor(needs({ featureGates: { KubeletEnsureSecretPulledImages: true } }, { imagePullCredentialsVerificationPolicy: 'AlwaysVerify', imagePullFallbackCircuitBreakerWindow: 0 }), 'n'),
    ).toMatchObject({ kubeletFeatureGates: { KubeletEnsureSecretPulledImages: true }, imagePullCredentialsVerificationPolicy: 'AlwaysVerify', circuitBreakerWindow: '0s' });
  });
});

describe('pods', () => {
  it('serve uses the image entrypoint; crash prints the marker and exits 1', () => {
    expect(containerCommand('serve')).toBeUndefined();
    const c = containerCommand('crash')!;
    expect(c.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(c[2]).toMatch(/cif-test-image version=.*exit 1$/);
  });
  it('makes label values valid', () => {
    expect(sanitizeLabels({ 'cif.host': 'a b/c', long: 'x'.repeat(80) })).toEqual({ 'cif.host': 'a-b-c', long: 'x'.repeat(63) });
  });
});

describe('refsOf', () => {
  it('picks references, never whole images, so identical images under other names stay cached', () => {
    const images = [
      { repoTags: ['reg-a:1/x/app:stable', 'reg-b:2/y/app:stable'], repoDigests: ['reg-a:1/x/app@sha256:1', 'reg-b:2/y/app@sha256:1'] },
      { repoTags: ['registry.k8s.io/pause:3.10.1'], repoDigests: [] },
    ];
    expect(refsOf(images, (t) => t.startsWith('reg-a:1/'))).toEqual(['reg-a:1/x/app:stable', 'reg-a:1/x/app@sha256:1']);
  });
});
