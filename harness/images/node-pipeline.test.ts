import { describe, expect, it } from 'vitest';
import type { HostProbe } from '../host/doctor.ts';
import { HostError } from '../lib/errors.ts';
import { buildTasks, preflight } from './node-pipeline.ts';

const CAPBND_FULL = 'CapBnd:\t000001ffffffffff\n';
const good: HostProbe = {
  dockerInfo: async () => ({ serverVersion: '20.10.24', defaultRuntime: 'runc' }),
  runPrivileged: async () => undefined,
  cgroupFsType: async () => 'v1',
  goVersion: async () => 'go1.26.0',
  procStatus: async () => CAPBND_FULL,
  freeBytes: async () => 100 * 2 ** 30,
  cacheDir: () => '/cache',
};

describe('build preflight', () => {
  const allTools = async () => true;
  it('passes on a host that can build', async () => {
    await expect(preflight(good, allTools)).resolves.toBeUndefined();
  });
  it('names a missing build tool and its package (gcc for the static pause)', async () => {
    const noGcc = async (file: string, args: string[]) => !args.join(' ').includes('gcc');
    const err = (await preflight(good, noGcc).catch((e: unknown) => e)) as HostError;
    expect(err).toBeInstanceOf(HostError);
    expect(err.message).toMatch(/gcc -static: missing .*fix: apt-get install gcc libc6-dev/);
  });
  for (const [what, probe, text] of [
    ['no docker', { ...good, dockerInfo: async () => new Error('Cannot connect to the Docker daemon') }, /docker engine: no engine answers/],
    ['no privileged containers', { ...good, runPrivileged: async () => 'unable to apply caps: operation not permitted' }, /privileged container.*setup-host/],
    ['no Go', { ...good, goVersion: async () => undefined }, /go: go not found/],
    ['too little disk', { ...good, freeBytes: async () => 3 * 2 ** 30 }, /disk: 3\.0 GiB free/],
  ] as const) {
    it(`fails with a clear error before any long step: ${what}`, async () => {
      const err = await preflight(probe as HostProbe, allTools).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostError);
      expect((err as HostError).exitCode).toBe(1);
      expect((err as HostError).message).toMatch(text);
    });
  }
  it('is the first build task', () => {
    expect(buildTasks()[0]!.title).toMatch(/preflight/);
  });
});
