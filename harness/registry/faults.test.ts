/**
 * RegistryFaults' bookkeeping with a fake registry (a real FaultProxy on loopback, a stop/start that only
 * records): one fault at a time, undo order, in-flight changes, closing after a signal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.ts';
import { RegistryFaults } from './faults.ts';
import type { RegistryHandle } from './registry.ts';
import { FAULT_MODES } from '../contract/index.ts';
import { cleanups } from '../lib/run-context.ts';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  while (proxies.length) await proxies.pop()!.close();
});

async function fakeRegistry(log: string[]) {
  const proxy = await FaultProxy.start({ host: '127.0.0.1', upstream: '127.0.0.1:1' });
  proxies.push(proxy);
  let running = true;
  const handle = {
    containerName: 'fake-registry',
    runId: 'r',
    hostName: 'registry-x.cif.test',
    proxyIp: '127.0.0.1',
    port: proxy.port,
    proxy,
    hostAddress: '127.0.0.1:1',
    credentials: undefined,
    containerIp: async () => '10.0.0.9',
    running: async () => running,
    stop: async () => {
      await new Promise((r) => setTimeout(r, 50));
      running = false;
      log.push('stop');
    },
    start: async () => {
      running = true;
      log.push('start');
    },
  } as unknown as RegistryHandle;
  return { handle, proxy, isRunning: () => running };
}

describe('RegistryFaults', () => {
  it('keeps one fault at a time and undoes it on switch and clear', async () => {
    const log: string[] = [];
    const { handle, proxy, isRunning } = await fakeRegistry(log);
    const f = new RegistryFaults(handle, []);
    await f.setFault('http-503');
    expect([f.current, proxy.mode]).toEqual(['http-503', 'http-503']);
    await f.setFault('stopped');
    expect([f.current, proxy.mode, isRunning()]).toEqual(['stopped', 'pass', false]);
    await f.setFault('hang');
    expect([f.current, proxy.mode, isRunning()]).toEqual(['hang', 'hang', true]);
    await f.clearFault();
    expect([f.current, proxy.mode]).toEqual(['none', 'pass']);
    expect(log).toEqual(['stop', 'start']);
  });

  it('a clear issued while a change is in flight waits for it, then undoes it', async () => {
    const log: string[] = [];
    const { handle, isRunning } = await fakeRegistry(log);
    const f = new RegistryFaults(handle, []);
    const setting = f.setFault('stopped'); // stop takes 50 ms
    const clearing = f.clearFault();
    await Promise.all([setting, clearing]);
    expect(isRunning()).toBe(true);
    expect(log).toEqual(['stop', 'start']);
  });

  it('after close (a signal) it undoes the fault and refuses new ones; its signal cleanup is registered', async () => {
    const log: string[] = [];
    const { handle, proxy } = await fakeRegistry(log);
    const f = new RegistryFaults(handle, []);
    const before = (cleanups as unknown as { stack: unknown[] }).stack.length;
    await f.setFault('refused');
    expect((cleanups as unknown as { stack: unknown[] }).stack.length).toBe(before + 1);
    await f.close();
    expect(proxy.mode).toBe('pass');
    expect((cleanups as unknown as { stack: unknown[] }).stack.length).toBe(before);
    await expect(f.setFault('http-503')).rejects.toThrow(/closed/);
  });

  it('node-level modes need nodes; not-found needs a tag', async () => {
    const { handle } = await fakeRegistry([]);
    const f = new RegistryFaults(handle, []);
    await expect(f.setFault('blackhole')).rejects.toThrow(/node names/);
    await expect(f.setFault('dns')).rejects.toThrow(/node names/);
    await expect(f.setFault('not-found')).rejects.toThrow(/needs \{notFound/);
    await expect(f.setFault('bogus' as never)).rejects.toThrow(/unknown fault mode/);
  });
});
