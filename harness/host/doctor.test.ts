import { describe, expect, it } from 'vitest';
import { describeWithDocker } from '../lib/testing.ts';
import { formatChecks, goAtLeast, runChecks, type HostProbe } from './doctor.ts';

const GiB = 2 ** 30;

function probe(over: Partial<HostProbe> = {}): HostProbe {
  return {
    dockerInfo: async () => ({ serverVersion: '20.10.24', defaultRuntime: 'cif-runc' }),
    runPrivileged: async () => undefined,
    cgroupFsType: async () => 'v1',
    goVersion: async () => 'go1.26.8',
    procStatus: async () => 'CapBnd:\t000001fffeffffff\n',
    freeBytes: async () => 80 * GiB,
    cacheDir: () => '/cache/cif',
    ...over,
  };
}

const byName = async (p: HostProbe) => Object.fromEntries((await runChecks(p)).map((c) => [c.name, c]));

describe('doctor', () => {
  it('a healthy restricted host passes every check', async () => {
    const checks = await runChecks(probe());
    expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(['docker engine', 'privileged container', 'capabilities', 'cgroups', 'go', 'disk']);
  });

  it('without a docker engine: fails with a setup-host hint and skips the privileged check', async () => {
    const c = await byName(probe({ dockerInfo: async () => new Error('Cannot connect to the Docker daemon at unix:///var/run/docker.sock') }));
    expect(c['docker engine']).toMatchObject({ status: 'fail', fix: expect.stringContaining('scripts/setup-host') });
    expect(c['docker engine']!.detail).toContain('Cannot connect to the Docker daemon');
    expect(c['privileged container']!.status).toBe('fail');
  });

  it('privileged containers refused for caps: points at the runc wrapper', async () => {
    const c = await byName(
      probe({
        dockerInfo: async () => ({ serverVersion: '20.10.24', defaultRuntime: 'runc' }),
        runPrivileged: async () => 'docker: Error response from daemon: OCI runtime create failed: unable to apply caps: operation not permitted',
      }),
    );
    expect(c['privileged container']).toMatchObject({ status: 'fail', fix: expect.stringContaining('CAP_SYS_RESOURCE') });
    expect(c['capabilities']).toMatchObject({ status: 'warn', fix: 'run scripts/setup-host' });
  });

  it.each([
    { go: undefined, status: 'fail' },
    { go: 'go1.23.4', status: 'fail' },
    { go: 'go1.24.0', status: 'ok' },
    { go: 'go2.0', status: 'ok' },
  ])('go $go → $status', async ({ go, status }) => {
    const c = await byName(probe({ goVersion: async () => go }));
    expect(c['go']!.status).toBe(status);
  });

  it('too little disk fails and names the directory and CIF_CACHE', async () => {
    const c = await byName(probe({ freeBytes: async () => 3 * GiB }));
    expect(c['disk']).toMatchObject({ status: 'fail', detail: '3.0 GiB free at /cache/cif', fix: expect.stringContaining('CIF_CACHE') });
  });

  it('reports cgroup v2 hosts', async () => {
    expect((await byName(probe({ cgroupFsType: async () => 'v2' })))['cgroups']!.detail).toBe('v2');
  });

  it('formats failures with their fix on the next line', async () => {
    const text = formatChecks(await runChecks(probe({ goVersion: async () => undefined })));
    expect(text).toMatch(/FAIL {2}go +go not found on PATH\n +fix: install Go >= 1\.24/);
  });

  it.each([
    ['go1.24.0', true],
    ['go1.26.8', true],
    ['go1.9', false],
    ['devel', false],
  ])('goAtLeast(%s, 1.24) = %s', (v, want) => expect(goAtLeast(v, [1, 24])).toBe(want));
});

describe('cif doctor (the real command)', () => {
  it('without a reachable engine says so and exits 1', async () => {
    const { execa } = await import('execa');
    const r = await execa('node', ['bin/cif.js', 'doctor'], {
      reject: false,
      env: { DOCKER_HOST: 'unix:///nonexistent/cif-doctor-test.sock' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}docker engine +no engine answers/);
    expect(r.stdout).toContain('the e2e loop cannot run here yet');
  });
});

describeWithDocker('doctor against the real engine', () => {
  it('a privileged container from a locally built image runs', async () => {
    const { hostProbe } = await import('./doctor.ts');
    expect(await hostProbe.runPrivileged()).toBeUndefined();
  });
});
