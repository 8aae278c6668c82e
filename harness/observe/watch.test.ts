/**
 * The pod watcher against a fake API server (node:http, no cluster): the watch path, the 2 s poll behind a
 * stalled watch, the settle and final re-list, the version from a crashed container's previous log, the
 * timeout — read both ways (observePodUntil for the scenario driver, runPod for the registry tools).
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeConfig, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { MARKER_PREFIX } from '../contract/index.ts';
import { runPod } from './pods.ts';
import { observePodUntil } from './watch.ts';
import { json, startFakeApi, type FakeApi } from './testing.ts';

interface Fake {
  pod?: V1Pod;
  events: CoreV1Event[];
  log: { current: string; previous: string };
  /** Watches deliver nothing (a stalled watch): only the poll sees changes. */
  stalled: boolean;
  reject?: string;
  podWatches: ServerResponse[];
  eventWatches: ServerResponse[];
}
const fake: Fake = { events: [], log: { current: '', previous: '' }, stalled: false, podWatches: [], eventWatches: [] };

const send = (res: ServerResponse, type: string, object: unknown) => {
  if (!fake.stalled) res.write(JSON.stringify({ type, object }) + '\n');
};
function setPod(p: V1Pod): void {
  fake.pod = p;
  for (const w of fake.podWatches) send(w, 'MODIFIED', p);
}
function addEvent(e: CoreV1Event): void {
  fake.events.push(e);
  for (const w of fake.eventWatches) send(w, 'ADDED', e);
}

const NS = 'ns';
const status = (state: object, restartCount = 0): V1Pod['status'] => ({
  phase: 'Pending',
  containerStatuses: [{ name: 'main', image: 'x', imageID: 'reg/app@sha256:' + 'ab'.repeat(32), ready: false, restartCount, state }],
});
const podAt = (state: object, restartCount = 0): V1Pod => ({
  metadata: { name: 'p', namespace: NS, creationTimestamp: '2026-01-01T00:00:00Z' as never },
  spec: { nodeName: 'w1', containers: [{ name: 'main', image: 'x' }] },
  status: status(state, restartCount),
});
let uid = 0;
const event = (reason: string, type = 'Normal', firstTimestamp = '2026-01-01T00:00:01Z'): CoreV1Event =>
  ({ metadata: { uid: `e${++uid}`, name: `p.${uid}` }, involvedObject: { kind: 'Pod', name: 'p' }, reason, type, message: `${reason} msg`, count: 1, firstTimestamp }) as never;

let api: FakeApi;
let kc: KubeConfig;
beforeAll(async () => {
  api = await startFakeApi((req, res, url) => {
    const watching = url.searchParams.get('watch') === 'true';
    if (req.method === 'POST' && url.pathname === `/api/v1/namespaces/${NS}/pods`) {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (fake.reject) return json(res, 422, { kind: 'Status', code: 422, message: fake.reject });
        json(res, 201, JSON.parse(body));
      });
      return;
    }
    if (url.pathname === `/api/v1/namespaces/${NS}/pods` && watching) {
      res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders(); // as the API server does
      fake.podWatches.push(res);
      if (fake.pod) send(res, 'ADDED', fake.pod);
      return;
    }
    if (url.pathname === `/api/v1/namespaces/${NS}/events` && watching) {
      res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
      fake.eventWatches.push(res);
      for (const e of fake.events) send(res, 'ADDED', e);
      return;
    }
    if (url.pathname === `/api/v1/namespaces/${NS}/pods`) return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: fake.pod ? [fake.pod] : [] });
    if (url.pathname === `/api/v1/namespaces/${NS}/events`) return json(res, 200, { kind: 'EventList', apiVersion: 'v1', metadata: {}, items: fake.events });
    if (url.pathname === `/api/v1/namespaces/${NS}/pods/p/log`) {
      return res.writeHead(200, { 'content-type': 'text/plain' }).end(url.searchParams.get('previous') === 'true' ? fake.log.previous : fake.log.current);
    }
    if (url.pathname === `/api/v1/namespaces/${NS}/pods/p`) return fake.pod ? json(res, 200, fake.pod) : json(res, 404, { kind: 'Status', code: 404 });
    json(res, 404, { kind: 'Status', code: 404, message: `fake: ${req.method} ${req.url}` });
  });
  kc = api.kc;
});
afterAll(async () => {
  for (const w of [...fake.podWatches, ...fake.eventWatches]) w.end();
  await api.close();
});
beforeEach(() => {
  for (const w of [...fake.podWatches, ...fake.eventWatches]) w.end();
  Object.assign(fake, { pod: undefined, events: [], log: { current: '', previous: '' }, stalled: false, reject: undefined, podWatches: [], eventWatches: [] });
});

const handle = () => ({ namespace: NS, name: 'p', createdAtMs: Date.now() });

describe('observePodUntil (the scenario driver)', () => {
  it('stops on the watch, then settles and re-lists: an event recorded after Running is in the result', async () => {
    setPod(podAt({ waiting: { reason: 'ContainerCreating' } }));
    addEvent(event('Pulling'));
    fake.log.current = `${MARKER_PREFIX}v1\n`;
    const h = handle();
    setTimeout(() => {
      addEvent(event('PullFailedUsingCached', 'Warning'));
      setPod(podAt({ running: {} }));
      setTimeout(() => addEvent(event('Started')), 200); // trails the status
    }, 300);
    const o = await observePodUntil(kc, h, { timeoutMs: 10_000, until: (x) => x.outcome === 'Running' });
    expect(o).toMatchObject({ outcome: 'Running', fallbackEvent: true, version: 'v1', restarts: 0, node: 'w1' });
    expect(o.timedOut).toBeUndefined();
    expect(o.startupSeconds).toBeGreaterThanOrEqual(0.3);
    expect(o.startupSeconds).toBeLessThan(1.9); // the watch, not the 2 s poll
    expect(o.timeline!.map((t) => t.reason)).toEqual(['Pulling', 'PullFailedUsingCached', 'Started']);
  });

  it('a stalled watch: the poll still sees the change (within ~2 s)', async () => {
    fake.stalled = true;
    setPod(podAt({ waiting: { reason: 'ContainerCreating' } }));
    setTimeout(() => setPod(podAt({ waiting: { reason: 'ErrImagePull', message: 'pull failed' } })), 200);
    const o = await observePodUntil(kc, handle(), { timeoutMs: 10_000, until: (x) => x.outcome === 'ErrImagePull' });
    expect(o).toMatchObject({ outcome: 'ErrImagePull', message: 'pull failed', fallbackEvent: false });
    expect(o.startupSeconds).toBeGreaterThan(1.5);
    expect(o.startupSeconds).toBeLessThan(4);
  });

  it('a crash loop: the version comes from the previous run\'s log', async () => {
    setPod(podAt({ waiting: { reason: 'CrashLoopBackOff' } }, 2));
    fake.log.previous = `${MARKER_PREFIX}v2\n`;
    const o = await observePodUntil(kc, handle(), { timeoutMs: 10_000, until: (x) => (x.restarts ?? 0) >= 2 });
    expect(o).toMatchObject({ outcome: 'CrashLoopBackOff', restarts: 2, version: 'v2' });
  });

  it('the timeout: the state then, timedOut and waitedSeconds', async () => {
    setPod(podAt({ waiting: { reason: 'ContainerCreating' } }));
    const o = await observePodUntil(kc, handle(), { timeoutMs: 300, until: () => false });
    expect(o).toMatchObject({ outcome: 'ContainerCreating', timedOut: true, waitedSeconds: 0.3 });
    expect(o.version).toBeUndefined();
  });
});

describe('runPod (the registry tools)', () => {
  const input = { runId: 'r', namespace: NS, name: 'p', image: 'reg/app:v1', policy: 'Always', nodeName: 'w1' };

  it('stops at the first pull failure, with API timings from the Failed event', async () => {
    setPod(podAt({ waiting: { reason: 'ErrImagePull', message: '503 Service Unavailable' } }));
    addEvent(event('Pulling'));
    addEvent(event('Failed', 'Warning', '2026-01-01T00:00:03Z'));
    const o = await runPod(kc, input, { timeoutMs: 10_000, eventSettleMs: 0 });
    expect(o).toMatchObject({ outcome: 'ErrImagePull', message: '503 Service Unavailable', timedOut: false, apiSeconds: 3, node: 'w1' });
    expect(o.digest).toBe('sha256:' + 'ab'.repeat(32));
    expect(o.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Normal Pulling', 'Warning Failed']);
    expect(o.watchSeconds).toBeGreaterThanOrEqual(0);
    expect(o.version).toBeUndefined();
  });

  it('Running: apiSeconds to the container start, the version from the log; until sees the snapshot', async () => {
    setPod({ ...podAt({ running: { startedAt: '2026-01-01T00:00:02Z' } }) });
    fake.log.current = `${MARKER_PREFIX}v1\n`;
    const seen: string[] = [];
    const o = await runPod(kc, input, { timeoutMs: 10_000, eventSettleMs: 0, until: (s) => (seen.push(s.state.state), s.state.state === 'Running') });
    expect(seen).toContain('Running');
    expect(o).toMatchObject({ outcome: 'Running', version: 'v1', apiSeconds: 2, timedOut: false });
  });

  it('Timeout and Rejected', async () => {
    setPod(podAt({ waiting: { reason: 'ContainerCreating' } }));
    const t = await runPod(kc, input, { timeoutMs: 300, eventSettleMs: 0 });
    expect(t).toMatchObject({ outcome: 'Timeout', timedOut: true, watchSeconds: undefined });
    expect(t.message).toMatch(/^no terminal state within 0 s; last: Pending/);
    fake.reject = 'Unsupported value: "Sometimes"';
    expect(await runPod(kc, { ...input, policy: 'Sometimes' })).toMatchObject({ outcome: 'Rejected', message: fake.reject, timedOut: false });
  });
});
