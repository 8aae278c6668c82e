/**
 * scripts/lib/runc-drop-sys-resource against a fake runc: the OCI spec runc receives must have lost
 * CAP_SYS_RESOURCE (and only it), for create/run (bundle config.json) and exec (--process file).
 */
import { execa } from 'execa';
import { chmod, mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const WRAPPER = new URL('../../scripts/lib/runc-drop-sys-resource', import.meta.url).pathname;
const hasJq = (await execa('jq', ['--version'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
if (!hasJq) console.warn('\n*** SKIP runc wrapper tests: jq is not installed (scripts/setup-host installs it) ***\n');

const CAPS = ['CAP_CHOWN', 'CAP_SYS_RESOURCE', 'CAP_SYS_ADMIN'];
const capSet = { bounding: CAPS, effective: CAPS, permitted: CAPS, inheritable: CAPS };

describe.skipIf(!hasJq)('runc wrapper', () => {
  let dir: string;
  let wrapper: string;
  let fakeRuncLog: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cif-runc-wrapper-'));
    fakeRuncLog = join(dir, 'fake-runc.log');
    const fakeRunc = join(dir, 'runc');
    await writeFile(fakeRunc, `#!/bin/sh\necho "$@" >> '${fakeRuncLog}'\n`);
    await chmod(fakeRunc, 0o755);
    wrapper = join(dir, 'wrapper');
    await writeFile(wrapper, (await readFile(WRAPPER, 'utf8')).replace('@REAL_RUNC@', fakeRunc));
    await chmod(wrapper, 0o755);
  });

  const caps = async (file: string, path: (j: any) => any) => path(JSON.parse(await readFile(file, 'utf8')));

  it.each([
    { name: 'create --bundle DIR', args: (b: string) => ['--root', '/run/r', '--log', 'x.log', 'create', '--bundle', b, 'id1'] },
    { name: 'create --bundle=DIR', args: (b: string) => ['--systemd-cgroup', 'create', `--bundle=${b}`, 'id2'] },
    { name: 'run -b DIR', args: (b: string) => ['run', '-b', b, 'id3'] },
  ])('$name strips CAP_SYS_RESOURCE from config.json', async ({ args }) => {
    const bundle = await mkdtemp(join(dir, 'bundle-'));
    await writeFile(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['sh'], capabilities: capSet } }));
    await execa(wrapper, args(bundle));
    const got = await caps(join(bundle, 'config.json'), (j) => j.process.capabilities);
    for (const set of Object.values(got)) expect(set).toEqual(['CAP_CHOWN', 'CAP_SYS_ADMIN']);
    expect(await caps(join(bundle, 'config.json'), (j) => j.process.args)).toEqual(['sh']);
    expect(await readFile(fakeRuncLog, 'utf8')).toContain(args(bundle).join(' '));
  });

  it('create without --bundle uses the working directory', async () => {
    const bundle = join(dir, 'cwd-bundle');
    await mkdir(bundle);
    await writeFile(join(bundle, 'config.json'), JSON.stringify({ process: { capabilities: capSet } }));
    await execa(wrapper, ['create', 'id4'], { cwd: bundle });
    expect(await caps(join(bundle, 'config.json'), (j) => j.process.capabilities.bounding)).not.toContain('CAP_SYS_RESOURCE');
  });

  it('exec --process FILE strips it from the process spec', async () => {
    const proc = join(dir, 'process.json');
    await writeFile(proc, JSON.stringify({ args: ['ls'], capabilities: capSet }));
    await execa(wrapper, ['--root', '/run/r', 'exec', '--process', proc, '--detach', 'id5']);
    expect(await caps(proc, (j) => j.capabilities.effective)).toEqual(['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  });

  it('leaves other commands and specs without the capability untouched', async () => {
    const bundle = join(dir, 'plain');
    await mkdir(bundle);
    const spec = JSON.stringify({ process: { capabilities: { bounding: ['CAP_CHOWN'] } } });
    await writeFile(join(bundle, 'config.json'), spec);
    await execa(wrapper, ['create', '--bundle', bundle, 'id6']);
    await execa(wrapper, ['state', 'id6']);
    expect(await readFile(join(bundle, 'config.json'), 'utf8')).toBe(spec);
    expect(await readFile(fakeRuncLog, 'utf8')).toContain('state id6');
  });
});
