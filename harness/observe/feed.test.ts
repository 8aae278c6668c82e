/**
 * The namespace feed against a fake API server: what watching many pods costs (two watches and one pair of
 * lists per tick, whatever the number of pods), fan-out by pod name, a watch refused at start is started
 * again, and the feed stops with its last subscriber.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { namespaceFeed, POLL_INTERVAL_MS } from './feed.ts';
import { json, startFakeApi, type FakeApi } from './testing.ts';

const NS = 'feed';
const pod = (name: string): V1Pod => ({ metadata: { name, namespace: NS }, status: { phase: 'Pending' } });
const event = (name: string, reason: string): CoreV1Event => ({ metadata: { uid: `${name}-${reason}`, name: `${name}.${reason}` }, involvedObject: { kind: 'Pod', name }, reason }) as never;

const state = { pods: [] as V1Pod[], events: [] as CoreV1Event[], refuseWatches: 0, watches: [] as ServerResponse[] };
let api: FakeApi;

beforeAll(async () => {
  api = await startFakeApi((_req, res, url) => {
    const isWatch = url.searchParams.get('watch') === 'true';
    if (isWatch) {
      if (state.refuseWatches > 0) {
        state.refuseWatches--;
        return json(res, 500, { kind: 'Status', code: 500, message: 'fake: refused' });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
      state.watches.push(res);
      return;
    }
    if (url.pathname === `/api/v1/namespaces/${NS}/pods`) return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: state.pods });
    if (url.pathname === `/api/v1/namespaces/${NS}/events`) return json(res, 200, { kind: 'EventList', apiVersion: 'v1', metadata: {}, items: state.events });
    json(res, 404, { kind: 'Status', code: 404 });
  });
});
afterEach(() => {
  for (const w of state.watches) w.end();
  Object.assign(state, { pods: [], events: [], refuseWatches: 0, watches: [] });
  api.requests.length = 0;
});
afterAll(() => api.close());

/** Resolves when `cond` holds; polls every 20 ms, bounded. */
async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('namespaceFeed', () => {
  it('thirty pods cost two watches and one pair of lists per tick, and each pod hears only of itself', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `p${i}`);
    state.pods = names.map(pod);
    state.events = names.map((n) => event(n, 'Pulling'));
    const seen = new Map<string, string[]>();
    const feed = namespaceFeed(api.kc, NS);
    const t0 = Date.now();
    const offs = names.map((n) =>
      feed.subscribe(n, {
        pod: (p) => seen.set(n, [...(seen.get(n) ?? []), `pod ${p.metadata!.name}`]),
        event: (e) => seen.set(n, [...(seen.get(n) ?? []), `event ${e.involvedObject.name} ${e.reason}`]),
      }),
    );
    await until(() => names.every((n) => seen.get(n)?.includes(`event ${n} Pulling`)));
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS * 2 + 300));
    for (const off of offs) off();
    const elapsed = Date.now() - t0;

    for (const n of names) expect(new Set(seen.get(n))).toEqual(new Set([`pod ${n}`, `event ${n} Pulling`]));
    const watches = api.requests.filter((r) => r.watch);
    expect(watches.map((r) => r.path).sort()).toEqual([`/api/v1/namespaces/${NS}/events`, `/api/v1/namespaces/${NS}/pods`]);
    // One pair of lists per 2 s tick, plus the one or two pairs the thirty subscriptions coalesce into —
    // however slow this host is. Per pod it would be 30 pairs per tick.
    const pairs = api.requests.filter((r) => !r.watch).length / 2;
    const ticks = Math.floor(elapsed / POLL_INTERVAL_MS) + 1;
    expect(pairs).toBeGreaterThanOrEqual(2); // the first poll and at least one tick
    expect(pairs).toBeLessThanOrEqual(ticks + 2);
  });

  it('a watch refused at start is started again on the next tick; the poll covers the gap', async () => {
    state.refuseWatches = 2; // both first attempts
    state.pods = [pod('a')];
    const feed = namespaceFeed(api.kc, NS);
    let pods = 0;
    const off = feed.subscribe('a', { pod: () => pods++, event: () => undefined });
    await until(() => pods > 0); // from the poll
    await until(() => state.watches.length === 2, POLL_INTERVAL_MS * 2 + 1_000);
    expect(api.requests.filter((r) => r.watch)).toHaveLength(4);
    off();
  });

  it('stops with its last subscriber (no more requests), and a new subscriber starts it again', async () => {
    const feed = namespaceFeed(api.kc, NS);
    const off = feed.subscribe('a', { pod: () => undefined, event: () => undefined });
    await until(() => api.requests.some((r) => r.watch));
    off();
    expect(feed.subscriberCount).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    const before = api.requests.length;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS + 500));
    expect(api.requests.length).toBe(before);

    state.pods = [pod('b')];
    let got = false;
    const off2 = namespaceFeed(api.kc, NS).subscribe('b', { pod: () => (got = true), event: () => undefined });
    await until(() => got);
    off2();
  });
});
