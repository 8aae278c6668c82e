/**
 * The registry container under plain docker (no kind needed): start, push from the host, pull through the
 * proxy, stop/start in place, auth, removal, labels, and the proxy-made faults through RegistryFaults.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../lib/exec.ts';
import { newRunId, RUN_LABEL } from '../lib/run-context.ts';
import { pushTestImage, tagDigest } from '../images/test-images.ts';
import { startRegistry, type RegistryHandle } from './registry.ts';
import { RegistryFaults } from './faults.ts';
import { PID_LABEL } from '../lib/owner.ts';
import { removeRunDocker } from './cleanup.ts';

const dockerUp = (await run('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 })).exitCode === 0;
if (!dockerUp) console.warn('\n*** SKIP registry container tests: no docker engine answers ***\n');

describe.skipIf(!dockerUp)('registry container (plain docker)', () => {
  const runId = newRunId();
  let reg: RegistryHandle;

  beforeAll(async () => {
    reg = await startRegistry({ runId });
  });
  afterAll(async () => {
    await reg?.remove();
    await removeRunDocker(runId);
  });

  it('is labelled with the run and the owning process', async () => {
    const labels = JSON.parse((await run('docker', ['inspect', '-f', '{{json .Config.Labels}}', reg.containerName])).stdout) as Record<string, string>;
    expect(labels[RUN_LABEL]).toBe(runId);
    expect(labels[PID_LABEL]).toBe(String(process.pid));
    expect(reg.proxyIp).toBe('127.0.0.1');
    expect(reg.ref('cif/app', 'v1')).toBe(`${reg.hostName}:${reg.port}/cif/app:v1`);
  });

  it('takes pushes from the host and serves them through the proxy', async () => {
    const pushed = await pushTestImage(reg.pushTarget(), 'cif/app', 'v1', 'v1');
    expect(await tagDigest({ address: reg.proxy.address }, 'cif/app', 'v1')).toBe(pushed.digest);
  });

  it('stops and starts in place, keeping its content', async () => {
    const faults = new RegistryFaults(reg, []);
    await faults.setFault('stopped');
    expect(await reg.running()).toBe(false);
    const res = await fetch(`http://${reg.proxy.address}/v2/`);
    expect(res.status).toBe(502);
    await faults.clearFault();
    expect(await reg.running()).toBe(true);
    expect(await tagDigest({ address: reg.proxy.address }, 'cif/app', 'v1')).toBeDefined();
  });

  it('not-found deletes the tag and clearing restores it', async () => {
    const faults = new RegistryFaults(reg, []);
    const before = await tagDigest(reg.pushTarget(), 'cif/app', 'v1');
    await faults.setFault('not-found', { notFound: { repo: 'cif/app', tag: 'v1' } });
    expect(await tagDigest({ address: reg.proxy.address }, 'cif/app', 'v1')).toBeUndefined();
    await faults.clearFault();
    expect(await tagDigest({ address: reg.proxy.address }, 'cif/app', 'v1')).toBe(before);
  });

  it('proxy-made modes switch on and off through RegistryFaults', async () => {
    const faults = new RegistryFaults(reg, []);
    for (const [mode, status] of [['http-503', 503], ['http-429', 429], ['unauthorized', 401], ['forbidden', 403]] as const) {
      await faults.setFault(mode);
      expect(faults.current).toBe(mode);
      expect((await fetch(`http://${reg.proxy.address}/v2/`)).status).toBe(status);
    }
    await faults.clearFault();
    expect((await fetch(`http://${reg.proxy.address}/v2/`)).status).toBe(200);
    await expect(faults.setFault('blackhole')).rejects.toThrow(/node names/);
  });

  it('with htpasswd auth: 401 without credentials, pushes with them', async () => {
    const secured = await startRegistry({ runId, auth: { username: 'cif', password: 'pw-123' }, containerName: `cif-registry-${runId}-auth` });
    try {
      expect((await fetch(`http://${secured.hostAddress}/v2/`)).status).toBe(401);
      const pushed = await pushTestImage(secured.pushTarget(), 'cif/private', 'v1', 'v1');
      expect(await tagDigest(secured.pushTarget(), 'cif/private', 'v1')).toBe(pushed.digest);
    } finally {
      await secured.remove();
    }
    expect((await run('docker', ['ps', '-a', '-q', '--filter', `name=cif-registry-${runId}-auth`])).stdout).toBe('');
  });
});

describe('lastHostAddress', () => {
  it('is the broadcast address minus one', async () => {
    const { lastHostAddress } = await import('./registry.ts');
    expect(lastHostAddress('172.20.0.0/16')).toBe('172.20.255.254');
    expect(lastHostAddress('172.18.0.0/24')).toBe('172.18.0.254');
    expect(lastHostAddress('10.0.0.0/8')).toBe('10.255.255.254');
    expect(lastHostAddress('192.168.4.64/26')).toBe('192.168.4.126');
    expect(lastHostAddress('fc00::/64')).toBeUndefined();
    expect(lastHostAddress('10.0.0.0/31')).toBeUndefined();
  });
});
