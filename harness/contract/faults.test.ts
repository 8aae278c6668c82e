/**
 * FAULTS is the only list of fault modes, so it must be complete: every mode has a class that agrees with
 * whether CachedIfFailed falls back, a maker, doc lines, and both sides that make faults (the fault proxy
 * for proxy-made modes, the --simulate model for every mode) handle it. Tests may reach up the layers; the
 * code they test may not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FAULTS, FAULT_CLASS_NAMES, FAULT_MODES, PROXY_FAULT_MODES, faultsOf, isUnreachable, modesOf, type FaultMode } from './index.ts';
import { FaultProxy } from '../registry/fault-proxy.ts';
import { FakeClock, fakeDriverFactory } from '../drivers/model/driver.ts';
import type { ClusterNeeds } from '../drivers/driver.ts';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

describe('FAULTS', () => {
  it('gives every mode a maker, doc lines and a class that agrees with falling back', () => {
    expect(FAULT_MODES[0]).toBe('none');
    for (const mode of FAULT_MODES) {
      const f = FAULTS[mode];
      expect(f.how.length, `${mode}: how`).toBeGreaterThan(10);
      expect(f.containerd.length, `${mode}: containerd`).toBeGreaterThan(5);
      expect(['nothing', 'proxy', 'stop-registry', 'node-hosts', 'node-iptables', 'delete-tag']).toContain(f.by);
      if (mode === 'none') {
        expect('class' in f).toBe(false);
        continue;
      }
      expect(FAULT_CLASS_NAMES, mode).toContain((f as { class: string }).class);
      if (isUnreachable(mode)) expect([f.fallsBack, f.errorClass], mode).toEqual([true, 'unreachable']);
      if ((f as { class: string }).class === 'denied-or-missing') expect(f.fallsBack, mode).toBe(false);
    }
  });

  it('classes partition the modes and name them as the scenarios do', () => {
    expect(FAULT_CLASS_NAMES.flatMap(modesOf).sort()).toEqual(FAULT_MODES.filter((m) => m !== 'none').sort());
    expect(faultsOf('unreachable')?.sort()).toEqual(['blackhole', 'dns', 'hang', 'http-429', 'http-500-blobs', 'http-503', 'refused', 'stopped']);
    expect(faultsOf('denied-or-missing')).toEqual(['unauthorized', 'forbidden', 'not-found']);
    expect(faultsOf('hang')).toEqual(['hang']);
    expect(faultsOf('nonsense')).toBeUndefined();
  });

  it('the fault proxy takes every proxy-made mode', async () => {
    const proxy = await FaultProxy.start({ host: '127.0.0.1', upstream: '127.0.0.1:9' });
    proxies.push(proxy);
    for (const mode of PROXY_FAULT_MODES) {
      await proxy.setMode(mode);
      expect(proxy.mode).toBe(mode);
    }
    await proxy.setMode('pass');
  });

  it('the model makes every mode, and CachedIfFailed with a cached copy falls back exactly where FAULTS says', async () => {
    const needs: ClusterNeeds = {
      workers: 1,
      gate: true,
      featureGates: {},
      kubelet: { imagePullFallbackTimeout: 10, imagePullFallbackCircuitBreakerWindow: 0, serializeImagePulls: false },
    };
    const seen: Record<string, boolean> = {};
    for (const mode of FAULT_MODES) {
      const clock = new FakeClock();
      const driver = await fakeDriverFactory({ clock, registryPerSession: true }).factory(needs);
      const s = await driver.openSession({ id: mode, labels: {} });
      const image = { repo: `c/${mode}`, tag: 'v' };
      await s.pushImage(image, 'v1', { private: false });
      await s.cacheOnNode(driver.nodes[0]!, image);
      if (mode !== 'none') await s.setFault(mode as Exclude<FaultMode, 'none'>);
      const r = await s.createPod({ namespace: 'ns', name: 'p', node: driver.nodes[0]!, image, policy: 'CachedIfFailed', pullSecret: false, command: 'serve', labels: {} });
      if (!('created' in r)) throw new Error(r.rejected);
      const o = await s.observe(r.created, { timeoutMs: 120_000, until: (x) => x.outcome === 'Running' || x.outcome === 'ErrImagePull' });
      const pulls = mode === 'none' || FAULTS[mode].class === 'degraded';
      expect(o.outcome, mode).toBe(FAULTS[mode].fallsBack || pulls ? 'Running' : 'ErrImagePull');
      seen[mode] = o.fallbackEvent;
      await s.close();
    }
    expect(seen).toEqual(Object.fromEntries(FAULT_MODES.map((m) => [m, FAULTS[m].fallsBack])));
  });
});
