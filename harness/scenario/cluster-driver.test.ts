import { describe, expect, it } from 'vitest';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { EventTracker, refsOf, clusterNameFor, clusterOptionsFor, containerCommand, podOutcome, sanitizeLabels } from './cluster-driver.ts';
import type { ClusterNeeds } from './driver.ts';
import { restartPullPhases } from './expect.ts';

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
  it('reads outcomes: Running, Waiting reasons including ContainerCreating, Terminated, Pending', () => {
    const pod = (state: object, restartCount = 0): V1Pod => ({ spec: { nodeName: 'w1', containers: [] }, status: { containerStatuses: [{ name: 'main', image: 'x', imageID: 'sha256:1', ready: false, restartCount, state }] } }) as V1Pod;
    expect(podOutcome(pod({ running: {} }))).toMatchObject({ outcome: 'Running', node: 'w1', imageID: 'sha256:1' });
    expect(podOutcome(pod({ waiting: { reason: 'ErrImagePull', message: 'm' } }))).toMatchObject({ outcome: 'ErrImagePull', message: 'm' });
    expect(podOutcome(pod({ waiting: { reason: 'ContainerCreating' } })).outcome).toBe('ContainerCreating');
    expect(podOutcome(pod({ waiting: { reason: 'CrashLoopBackOff' } }, 2))).toMatchObject({ outcome: 'CrashLoopBackOff', restarts: 2 });
    expect(podOutcome(pod({ terminated: { exitCode: 1, reason: 'Error' } })).outcome).toBe('Terminated');
    expect(podOutcome({ status: { phase: 'Pending' } }).outcome).toBe('Pending');
    expect(podOutcome(undefined).outcome).toBe('Pending');
  });
});

describe('EventTracker', () => {
  const ev = (uid: string, reason: string, count: number): CoreV1Event => ({ metadata: { uid }, involvedObject: {}, reason, count, message: `${reason} msg` }) as CoreV1Event;
  it('unrolls counts into the timeline at the time each increase was seen, and reports the fallback event', () => {
    const t = new EventTracker(1_000);
    expect(t.see(ev('a', 'Pulling', 1), 1_500)).toBe(true);
    expect(t.see(ev('b', 'PullFailedUsingCached', 1), 11_500)).toBe(true);
    expect(t.see(ev('c', 'Created', 1), 11_600)).toBe(true);
    expect(t.see(ev('d', 'Started', 1), 11_700)).toBe(true);
    expect(t.see(ev('d', 'Started', 1), 12_000)).toBe(false); // seen again (poll + watch): nothing new
    t.see(ev('b', 'PullFailedUsingCached', 2), 22_000);
    t.see(ev('c', 'Created', 2), 22_100);
    t.see(ev('d', 'Started', 3), 40_000); // two increases between looks: two entries
    expect(t.timeline.map((x) => `${x.reason}@${x.atSeconds}`)).toEqual([
      'Pulling@0.5',
      'PullFailedUsingCached@10.5',
      'Created@10.6',
      'Started@10.7',
      'PullFailedUsingCached@21',
      'Created@21.1',
      'Started@39',
      'Started@39',
    ]);
    expect(t.fallbackEvent).toBe(true);
    expect(t.events.find((e) => e.reason === 'Started')!.count).toBe(3);
    // what the crash-loop expectation reads: the restart's pull phase (fallback → Created) is 0.1 s
    expect(restartPullPhases({ outcome: 'CrashLoopBackOff', fallbackEvent: true, timeline: t.timeline })).toEqual([0.1]);
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
