import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { run } from '../lib/exec.ts';
import { newRunId } from '../lib/run-context.ts';
import { PROBE_IMAGE, ensureProbeImage } from '../host/probe-image.ts';
import { HOST_LABEL, PIDSTART_LABEL, PID_LABEL, dockerLabelArgs, ownerIsGone, ownerLabels, processStartTime } from '../lib/owner.ts';
import { removeRunDocker, sweepDeadRuns } from './cleanup.ts';

const dockerUp = (await run('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 })).exitCode === 0;
if (!dockerUp) console.warn('\n*** SKIP cleanup docker tests: no docker engine answers ***\n');

/** A PID that existed and is gone now. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('ownerIsGone', () => {
  it('is false for this live process and true for an exited one', () => {
    expect(ownerIsGone(ownerLabels('r1'))).toBe(false);
    const pid = deadPid();
    expect(processStartTime(pid)).toBeUndefined();
    expect(ownerIsGone({ ...ownerLabels('r1'), [PID_LABEL]: String(pid) })).toBe(true);
  });

  it('treats a reused PID (other start time) as gone', () => {
    expect(ownerIsGone({ ...ownerLabels('r1'), [PIDSTART_LABEL]: '1' })).toBe(true);
  });

  it('never judges objects without process labels or from another host', () => {
    expect(ownerIsGone({ 'cif.run': 'x', 'cif.owner': 'cached-if-failed' })).toBe(false);
    expect(ownerIsGone({ ...ownerLabels('r1'), [PID_LABEL]: String(deadPid()), [HOST_LABEL]: `${hostname()}-other` })).toBe(false);
  });

  it('reads a start time for a process whose name has spaces and parens', () => {
    expect(processStartTime(process.pid)).toMatch(/^\d+$/);
  });
});

describe.skipIf(!dockerUp)('sweeping docker leftovers', () => {
  it('removes a dead run’s container and network, keeps a live run’s', async () => {
    await ensureProbeImage();
    const dead = newRunId();
    const live = newRunId();
    const deadLabels = { ...ownerLabels(dead), [PID_LABEL]: String(deadPid()) };
    const liveLabels = ownerLabels(live);
    try {
      await run('docker', ['network', 'create', ...dockerLabelArgs(deadLabels), `cif-sweep-${dead}`]);
      await run('docker', ['create', '--name', `cif-sweep-${dead}`, ...dockerLabelArgs(deadLabels), '--network', `cif-sweep-${dead}`, PROBE_IMAGE]);
      await run('docker', ['create', '--name', `cif-sweep-${live}`, ...dockerLabelArgs(liveLabels), PROBE_IMAGE]);
      const removed = await sweepDeadRuns();
      expect(removed).toEqual(expect.arrayContaining([`container cif-sweep-${dead}`, `network cif-sweep-${dead}`]));
      expect(removed.join(' ')).not.toContain(live);
      expect((await run('docker', ['ps', '-a', '-q', '--filter', `name=cif-sweep-${live}`])).stdout).not.toBe('');
    } finally {
      await removeRunDocker(live);
      await removeRunDocker(dead);
    }
    expect((await run('docker', ['ps', '-a', '-q', '--filter', `label=cif.run=${live}`])).stdout).toBe('');
    expect((await run('docker', ['network', 'ls', '-q', '--filter', `label=cif.run=${dead}`])).stdout).toBe('');
  });
});
