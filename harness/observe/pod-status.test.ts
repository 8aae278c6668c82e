import { describe, expect, it } from 'vitest';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { EventTracker, PodHistory, digestOf, evTime, firstFailureTime, podOutcome, podState, rejectionMessage, summarizeEvents } from './pod-status.ts';
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

  it('a back-off and a crash loop are terminal too; a Waiting reason outside FAILURE_REASONS is not', () => {
    expect(podState(pod({ waiting: { reason: 'ImagePullBackOff' } })).terminal).toBe(true);
    expect(podState(pod({ waiting: { reason: 'CrashLoopBackOff' } }))).toMatchObject({ state: 'CrashLoopBackOff', terminal: true, waitingReason: 'CrashLoopBackOff' });
    expect(podState(pod({ waiting: { reason: 'SomethingNew' } }))).toMatchObject({ state: 'SomethingNew', terminal: false });
  });

  it('ContainerCreating, an empty reason and no status yet are pending, not terminal', () => {
    expect(podState(pod({ waiting: { reason: 'ContainerCreating' } }))).toMatchObject({ state: 'Pending', terminal: false, waitingReason: 'ContainerCreating' });
    expect(podState(pod({ waiting: {} }))).toMatchObject({ state: 'Pending', terminal: false, waitingReason: 'ContainerCreating' });
    const empty: V1Pod = { spec: { containers: [] }, status: { phase: 'Pending' } };
    expect(podState(empty)).toMatchObject({ state: 'Pending', terminal: false });
  });

  it('a final pod phase without container status (e.g. evicted) is terminal', () => {
    const evicted: V1Pod = { spec: { containers: [] }, status: { phase: 'Failed', message: 'The node was low on resource: memory.' } };
    expect(podState(evicted)).toMatchObject({ state: 'Failed', terminal: true, message: 'The node was low on resource: memory.' });
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

describe('podOutcome', () => {
  it('reads outcomes: Running, Waiting reasons including ContainerCreating, Terminated, Pending', () => {
    const p = (state: object, restartCount = 0): V1Pod => ({ spec: { nodeName: 'w1', containers: [] }, status: { containerStatuses: [{ name: 'main', image: 'x', imageID: 'sha256:1', ready: false, restartCount, state }] } }) as V1Pod;
    expect(podOutcome(p({ running: {} }))).toMatchObject({ outcome: 'Running', node: 'w1', imageID: 'sha256:1' });
    expect(podOutcome(p({ waiting: { reason: 'ErrImagePull', message: 'm' } }))).toMatchObject({ outcome: 'ErrImagePull', message: 'm' });
    expect(podOutcome(p({ waiting: { reason: 'ContainerCreating' } })).outcome).toBe('ContainerCreating');
    expect(podOutcome(p({ waiting: { reason: 'CrashLoopBackOff' } }, 2))).toMatchObject({ outcome: 'CrashLoopBackOff', restarts: 2 });
    expect(podOutcome(p({ terminated: { exitCode: 1, reason: 'Error' } })).outcome).toBe('Terminated');
    expect(podOutcome({ status: { phase: 'Pending' } }).outcome).toBe('Pending');
    expect(podOutcome(undefined).outcome).toBe('Pending');
  });
});

const ev = (uid: string, reason: string, count: number, extra: Partial<CoreV1Event> = {}): CoreV1Event =>
  ({ metadata: { uid }, involvedObject: { name: 'p' }, reason, count, message: `${reason} msg`, ...extra }) as CoreV1Event;

describe('EventTracker', () => {
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
    expect(new EventTracker(0).fallbackEvent).toBe(false);
  });

  it('keeps the highest count and the order first seen; summaries are oldest first, with types and API times', () => {
    const t = new EventTracker(0);
    t.see(ev('f', 'Failed', 1, { type: 'Warning', firstTimestamp: new Date('2026-01-01T00:00:03Z') }), 3_000);
    t.see(ev('p', 'Pulling', 1, { firstTimestamp: new Date('2026-01-01T00:00:01Z') }), 3_100); // listed late
    t.see(ev('f', 'Failed', 3, { type: 'Warning', message: 'again', firstTimestamp: new Date('2026-01-01T00:00:03Z') }), 9_000);
    expect(t.see(ev('f', 'Failed', 2, { type: 'Warning', message: 'again' }), 9_500)).toBe(false); // an older copy
    expect(t.events).toEqual([
      { reason: 'Failed', message: 'again', count: 3 },
      { reason: 'Pulling', message: 'Pulling msg', count: 1 },
    ]);
    t.see(ev('f', 'Failed', 4, { type: 'Warning', message: 'again', firstTimestamp: new Date('2026-01-01T00:00:03Z') }), 12_000);
    expect(t.summaries.map((e) => `${e.type} ${e.reason} ${e.count}`)).toEqual(['Normal Pulling 1', 'Warning Failed 4']);
    expect(firstFailureTime(t.summaries)?.toISOString()).toBe('2026-01-01T00:00:03.000Z');
  });
});

describe('evTime', () => {
  it('orders a listing by first time: firstTimestamp, else eventTime, else creation; 0 without any', () => {
    expect(evTime(ev('a', 'X', 1, { firstTimestamp: new Date('2026-01-01T00:00:02Z'), eventTime: new Date('2026-01-01T00:00:09Z') as never }))).toBe(Date.parse('2026-01-01T00:00:02Z'));
    expect(evTime(ev('a', 'X', 1, { eventTime: new Date('2026-01-01T00:00:09Z') as never }))).toBe(Date.parse('2026-01-01T00:00:09Z'));
    expect(evTime({ metadata: { creationTimestamp: new Date('2026-01-01T00:00:05Z') }, involvedObject: {} })).toBe(Date.parse('2026-01-01T00:00:05Z'));
    expect(evTime({ metadata: {}, involvedObject: {} })).toBe(0);
  });
});

describe('PodHistory', () => {
  const at = (state: object, restartCount = 0, lastState: object = {}): V1Pod =>
    ({ spec: { nodeName: 'w1', containers: [] }, status: { containerStatuses: [{ name: 'main', image: 'x', imageID: 'sha256:1', ready: false, restartCount, state, lastState }] } }) as V1Pod;

  it('Running: startup is creation → the first look that saw it running (client clock, ms)', () => {
    const h = new PodHistory(10_000);
    expect(h.observation()).toEqual({ outcome: 'Pending', fallbackEvent: false, events: [], restarts: 0, timeline: [] });
    h.seePod(at({ waiting: { reason: 'ContainerCreating' } }), 10_400);
    expect(h.observation().startupSeconds).toBeUndefined(); // not a failure
    h.seeEvent(ev('u', 'PullFailedUsingCached', 1), 12_100);
    h.seePod(at({ running: {} }), 12_345);
    h.seePod(at({ running: {} }), 15_000);
    expect(h.observation('v1')).toEqual({
      outcome: 'Running',
      fallbackEvent: true,
      events: [{ reason: 'PullFailedUsingCached', message: 'PullFailedUsingCached msg', count: 1 }],
      restarts: 0,
      timeline: [{ atSeconds: 2.1, reason: 'PullFailedUsingCached' }],
      imageID: 'sha256:1',
      node: 'w1',
      version: 'v1',
      startupSeconds: 2.345,
    });
  });

  it('a failure: startup is creation → the first failure outcome seen, later ones do not move it', () => {
    const h = new PodHistory(0);
    h.seePod(at({ waiting: { reason: 'ErrImagePull', message: 'm' } }), 1_500);
    h.seePod(at({ waiting: { reason: 'ImagePullBackOff' } }), 3_000);
    expect(h.observation()).toMatchObject({ outcome: 'ImagePullBackOff', startupSeconds: 1.5 });
  });

  it('a crash loop counts from its first run; a crash between two looks takes the container\'s own start', () => {
    const seen = new PodHistory(0);
    seen.seePod(at({ running: {} }), 2_000);
    seen.seePod(at({ terminated: { exitCode: 1, reason: 'Error' } }), 2_500); // Terminated is no failure
    seen.seePod(at({ waiting: { reason: 'CrashLoopBackOff' } }, 1), 3_000);
    expect(seen.observation()).toMatchObject({ outcome: 'CrashLoopBackOff', restarts: 1, startupSeconds: 2 });

    const missed = new PodHistory(Date.parse('2026-01-01T00:00:00Z'));
    missed.seePod(at({ waiting: { reason: 'CrashLoopBackOff' } }, 1, { terminated: { exitCode: 1, startedAt: new Date('2026-01-01T00:00:04Z') } }), Date.parse('2026-01-01T00:00:09Z'));
    expect(missed.observation()).toMatchObject({ outcome: 'CrashLoopBackOff', startupSeconds: 4 });
  });
});
