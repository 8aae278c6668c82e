/**
 * The Driver conformance suite: what the engine relies on from any Driver, checked the same way against the
 * --simulate model (always) and the kind driver (when a cluster is up). An adapter that passes it can run
 * every scenario; one that fails it would make the engine's results mean something else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Observation } from '../contract/index.ts';
import type { Driver, PodHandle, Session } from './driver.ts';

export interface ConformanceTarget {
  /** A driver over a cluster with ≥ 1 worker, the gate on, a 10 s fallback deadline and no breaker. */
  open(): Promise<Driver>;
  /** Generous for a real cluster, irrelevant for the model's virtual time. */
  timeoutMs?: number;
}

const running = (o: Observation) => o.outcome === 'Running' || o.outcome === 'ErrImagePull' || o.outcome === 'ImagePullBackOff';

export function driverConformance(name: string, target: ConformanceTarget, skip = false): void {
  describe.skipIf(skip)(`Driver conformance: ${name}`, () => {
    let driver: Driver;
    const timeoutMs = target.timeoutMs ?? 120_000;
    const ns = `conf-${Date.now().toString(36)}`;
    let seq = 0;

    beforeAll(async () => {
      driver = await target.open();
    });
    afterAll(async () => {
      await driver?.close();
    });

    // Each session its own namespace, as the engine does: a closed session's namespace may still be terminating.
    const start = async (s: Session, repo: string, policy: 'Always' | 'IfNotPresent' | 'CachedIfFailed'): Promise<{ pod: PodHandle; o: Observation }> => {
      const r = await s.createPod({
        namespace: `${ns}-${repo.split('/')[1]}`,
        name: `p${++seq}`,
        node: driver.nodes[0]!,
        image: { repo, tag: 'v' },
        policy,
        pullSecret: false,
        command: 'serve',
        labels: {},
      });
      if (!('created' in r)) throw new Error(`rejected: ${r.rejected}`);
      return { pod: r.created, o: await s.observe(r.created, { timeoutMs, until: running }) };
    };

    it('names its worker nodes, and sessions with their registry host', async () => {
      expect(driver.nodes.length).toBeGreaterThan(0);
      const s = await driver.openSession({ id: `${ns}-a`, labels: {} });
      expect(s.registryHost).toBeTruthy();
      await s.close();
      await s.close(); // idempotent
    });

    it('a pushed image runs and reports its version; a moved tag runs the new one', async () => {
      const s = await driver.openSession({ id: `${ns}-b`, labels: {} });
      try {
        const repo = `${ns}/b/app`;
        await s.pushImage({ repo, tag: 'v' }, 'v1', { private: false });
        const first = await start(s, repo, 'Always');
        expect([first.o.outcome, first.o.version]).toEqual(['Running', 'v1']);
        await s.pushImage({ repo, tag: 'v' }, 'v2', { private: false });
        const second = await start(s, repo, 'Always');
        expect([second.o.outcome, second.o.version]).toEqual(['Running', 'v2']);
        await s.deletePod(second.pod);
      } finally {
        await s.close();
      }
    });

    it('an unreachable registry: CachedIfFailed runs the cached copy and says so; Always fails', async () => {
      const s = await driver.openSession({ id: `${ns}-c`, labels: {} });
      try {
        const repo = `${ns}/c/app`;
        await s.pushImage({ repo, tag: 'v' }, 'v1', { private: false });
        await s.cacheOnNode(driver.nodes[0]!, { repo, tag: 'v' });
        await s.setFault('refused');
        const fallback = await start(s, repo, 'CachedIfFailed');
        expect([fallback.o.outcome, fallback.o.version, fallback.o.fallbackEvent]).toEqual(['Running', 'v1', true]);
        const always = await start(s, repo, 'Always');
        expect(always.o.outcome).toMatch(/^(ErrImagePull|ImagePullBackOff)$/);
        await s.clearFault();
      } finally {
        await s.close();
      }
    });

    it('a registry that answers "denied" never falls back, and an uncached image is really gone', async () => {
      const s = await driver.openSession({ id: `${ns}-d`, labels: {} });
      try {
        const repo = `${ns}/d/app`;
        await s.pushImage({ repo, tag: 'v' }, 'v1', { private: false });
        await s.cacheOnNode(driver.nodes[0]!, { repo, tag: 'v' });
        await s.setFault('forbidden');
        const denied = await start(s, repo, 'CachedIfFailed');
        expect([denied.o.outcome, denied.o.fallbackEvent]).toEqual(['ErrImagePull', false]);
        await s.clearFault();
        await s.uncacheOnNode(driver.nodes[0]!, { repo, tag: 'v' });
        await s.setFault('refused');
        const uncached = await start(s, repo, 'IfNotPresent');
        expect(uncached.o.outcome).toMatch(/^(ErrImagePull|ImagePullBackOff)$/);
      } finally {
        await s.close();
      }
    });
  });
}
