/**
 * A tiny local image for host checks (does `docker run --privileged` work?). No registry is reachable, so it
 * is imported from a rootfs holding Debian's busybox-static.
 */
import { mkdtemp, rm, mkdir, copyFile, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';

export const PROBE_IMAGE = 'cif-probe:busybox';
const BUSYBOX = '/bin/busybox';

export async function ensureProbeImage(): Promise<string> {
  const present = await run('docker', ['image', 'inspect', PROBE_IMAGE], { reject: false });
  if (present.exitCode === 0) return PROBE_IMAGE;
  if (!existsSync(BUSYBOX)) {
    throw new HostError(`${BUSYBOX} not found; it is needed to build the local probe image`, {
      hint: 'apt-get install busybox-static (scripts/setup-host does this)',
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'cif-probe-'));
  try {
    await mkdir(join(dir, 'bin'));
    await copyFile(BUSYBOX, join(dir, 'bin/busybox'));
    for (const applet of ['sh', 'true']) await symlink('busybox', join(dir, 'bin', applet));
    await run('sh', ['-c', `tar -C '${dir}' -c . | docker import -c 'CMD ["/bin/true"]' - ${PROBE_IMAGE}`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return PROBE_IMAGE;
}
