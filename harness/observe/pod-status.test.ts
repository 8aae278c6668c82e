import { describe, expect, it } from 'vitest';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { digestOf, firstFailureTime, hasEvent, podState, rejectionMessage, summarizeEvents, timelineEntries } from './pod-status.ts';
import { podManifest } from './pods.ts';

const D = 'sha256:' + 'ab'.repeat(32);

function pod(state: object, extra: Partial<V1Pod['status']> = {}, restartPolicy = 'Always'): V1Pod {
  return {
    metadata: { name: 'p', creationTimestamp: new Date('2026-01-01T00:00:00Z') },
    spec: { nodeName: 'cif-worker', restartPolicy, containers: [{ name: 'main', image: 'x' }] },
    status: {
      phase: 'Pending',
      containerStatuses: [
        { name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, state } as never,
      ],
      ...extra,
    },
  };
}

describe('podState', () => {
  it('Running carries the image digest, node and start time', () => {
    const p = pod({ running: { startedAt: new Date('2026-01-01T00:00:03Z') } });
    p.status!.containerStatuses![0]!.imageID = `registry-x.cif.test:5000/cif/app@${D}`;
    const s = podState(p);
    expect(s).toMatchObject({ state: 'Running', terminal: true, digest: D, node: 'cif-worker' });
    expect(s.startedAt?.toISOString()).toBe('2026-01-01T00:00:03.000Z');
  });

  it('a pull failure is terminal with its reason and message', () => {
    const s = podState(pod({ waiting: { reason: 'ErrImagePull', message: 'rpc error: code = Unknown desc = failed to pull' } }));
    expect(s).toMatchObject({ state: 'ErrImagePull', terminal: true, message: expect.stringContaining('rpc error') });
    expect(podState(pod({ waiting: { reason: 'ErrImageNeverPull' } })).terminal).toBe(true);
  });

  it('a custom stop list can wait past ErrImagePull for the back-off', () => {
    expect(podState(pod({ waiting: { reason: 'ErrImagePull' } }), ['ImagePullBackOff']).terminal).toBe(false);
    expect(podState(pod({ waiting: { reason: 'ImagePullBackOff' } }), ['ImagePullBackOff']).terminal).toBe(true);
  });

  it('ContainerCreating and no status yet are pending, not terminal', () => {
    expect(podState(pod({ waiting: { reason: 'ContainerCreating' } }))).toMatchObject({ state: 'Pending', terminal: false, waitingReason: 'ContainerCreating' });
    const empty: V1Pod = { spec: { containers: [] }, status: { phase: 'Pending' } };
    expect(podState(empty)).toMatchObject({ state: 'Pending', terminal: false });
  });

  it('an unschedulable pod says why while pending', () => {
    const p: V1Pod = {
      spec: { containers: [] },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', message: '0/2 nodes are available' } as never] },
    };
    expect(podState(p).message).toBe('0/2 nodes are available');
  });

  it('a terminated container is terminal only with restartPolicy Never', () => {
    const t = { terminated: { exitCode: 1, reason: 'Error' } };
    expect(podState(pod(t, {}, 'Never'))).toMatchObject({ state: 'Terminated', terminal: true, message: 'Error exit 1' });
    expect(podState(pod(t)).terminal).toBe(false);
  });
});

describe('digestOf', () => {
  it('takes the digest out of repo@digest, plain digests and nothing', () => {
    expect(digestOf(`r:5000/a/b@${D}`)).toBe(D);
    expect(digestOf(D)).toBe(D);
    expect(digestOf('')).toBeUndefined();
    expect(digestOf(undefined)).toBeUndefined();
  });
});

describe('summarizeEvents', () => {
  it('orders by first time, prefers series counts, keeps messages', () => {
    const events: CoreV1Event[] = [
      {
        metadata: {},
        involvedObject: {},
        type: 'Warning',
        reason: 'PullFailedUsingCached',
        message: 'unreachable: connection refused; using cached image sha256:…',
        eventTime: new Date('2026-01-01T00:00:02Z') as never,
        series: { count: 3, lastObservedTime: new Date('2026-01-01T00:00:09Z') as never },
        reportingComponent: 'kubelet',
      },
      {
        metadata: {},
        involvedObject: {},
        type: 'Normal',
        reason: 'Pulling',
        message: 'Pulling image "x"',
        firstTimestamp: new Date('2026-01-01T00:00:01Z'),
        lastTimestamp: new Date('2026-01-01T00:00:01Z'),
        count: 1,
        source: { component: 'kubelet' },
      },
      { metadata: { creationTimestamp: new Date('2026-01-01T00:00:05Z') }, involvedObject: {}, reason: 'Started' },
    ];
    const s = summarizeEvents(events);
    expect(s.map((e) => e.reason)).toEqual(['Pulling', 'PullFailedUsingCached', 'Started']);
    expect(s[1]).toMatchObject({ type: 'Warning', count: 3, source: 'kubelet' });
    expect(s[1]!.last?.toISOString()).toBe('2026-01-01T00:00:09.000Z');
    expect(s[2]).toMatchObject({ type: 'Normal', count: 1, message: '' });
    expect(hasEvent(s, 'PullFailedUsingCached')).toBe(true);
    expect(hasEvent(s, 'Failed')).toBe(false);
    expect(firstFailureTime(s)).toBeUndefined();
  });

  it('finds the first kubelet failure', () => {
    const s = summarizeEvents([
      { metadata: {}, involvedObject: {}, type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull', firstTimestamp: new Date('2026-01-01T00:00:04Z') },
      { metadata: {}, involvedObject: {}, type: 'Warning', reason: 'Failed', message: 'Failed to pull image', firstTimestamp: new Date('2026-01-01T00:00:03Z') },
      { metadata: {}, involvedObject: {}, type: 'Normal', reason: 'Pulling', firstTimestamp: new Date('2026-01-01T00:00:01Z') },
    ]);
    expect(firstFailureTime(s)?.toISOString()).toBe('2026-01-01T00:00:03.000Z');
  });
});

describe('rejectionMessage', () => {
  it('reads the Status message of a 422, as text or parsed', () => {
    const status = {
      kind: 'Status',
      message: 'Pod "p" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: "CachedIfFailed": supported values: "Always", "IfNotPresent", "Never"',
      code: 422,
    };
    expect(rejectionMessage({ code: 422, body: JSON.stringify(status) })).toEqual({ code: 422, message: status.message });
    expect(rejectionMessage({ code: 422, body: status })?.message).toContain('Unsupported value: "CachedIfFailed"');
    expect(rejectionMessage({ code: 403, body: 'forbidden by policy' })).toEqual({ code: 403, message: 'forbidden by policy' });
    expect(rejectionMessage(new Error('socket hang up'))).toBeUndefined();
    expect(rejectionMessage({ code: 500, body: '' })).toBeUndefined();
  });
});

describe('podManifest', () => {
  it('passes the policy through as a string and labels the pod with the run', () => {
    const m = podManifest({
      runId: 'r1',
      namespace: 'ns',
      name: 'p',
      image: 'registry-x.cif.test:5000/cif/app:v1',
      policy: 'CachedIfFailed',
      nodeName: 'cif-worker',
      imagePullSecrets: ['creds'],
      labels: { scenario: 's1' },
    });
    expect(m.spec!.containers[0]!.imagePullPolicy).toBe('CachedIfFailed');
    expect(m.spec!.nodeName).toBe('cif-worker');
    expect(m.spec!.imagePullSecrets).toEqual([{ name: 'creds' }]);
    expect(m.metadata!.labels).toMatchObject({ 'cif.run': 'r1', 'cif.owner': 'cached-if-failed', scenario: 's1' });
  });
});

describe('timelineEntries', () => {
  it('unrolls count increases per event uid and ignores repeats', () => {
    const seen = new Map<string, number>();
    const ev = (count: number): CoreV1Event => ({ metadata: { uid: 'u1' }, involvedObject: {}, reason: 'BackOff', type: 'Normal', message: 'Back-off pulling image', count });
    expect(timelineEntries(seen, ev(1), 1.5)).toEqual([{ reason: 'BackOff', type: 'Normal', message: 'Back-off pulling image', seconds: 1.5 }]);
    expect(timelineEntries(seen, ev(1), 2)).toEqual([]);
    expect(timelineEntries(seen, ev(3), 4).map((e) => e.seconds)).toEqual([4, 4]);
    const series: CoreV1Event = { metadata: { uid: 'u2' }, involvedObject: {}, reason: 'Pulled', series: { count: 2 } as never, count: 1 };
    expect(timelineEntries(seen, series, 5)).toHaveLength(2);
  });
});
