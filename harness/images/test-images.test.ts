import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUSYBOX_PATH,
  buildTestImage,
  deleteTag,
  parseMarker,
  pushTestImage,
  tagDigest,
  tarArchive,
} from './test-images.ts';
import { run } from '../lib/exec.ts';
import { REGISTRY_BINARY } from '../registry/registry-image.ts';
import { startLocalRegistry, type LocalRegistry } from '../registry/local-registry.ts';
import { RegistryClient } from '../lib/registry-client.ts';
import { newRunId, runLabels } from '../lib/run-context.ts';

const haveBusybox = existsSync(BUSYBOX_PATH);
const haveRegistry = existsSync(REGISTRY_BINARY);
const dockerUp = (await run('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, timeout: 15_000 })).exitCode === 0;
if (!haveBusybox) console.warn(`\n*** SKIP test-image build tests: ${BUSYBOX_PATH} missing ***\n`);
if (!dockerUp) console.warn('\n*** SKIP test-image docker run test: no docker engine answers ***\n');

describe('tarArchive', () => {
  it('is sorted, epoch-dated and readable by GNU tar', async () => {
    const tar = tarArchive([
      { type: 'file', path: 'b/x', data: Buffer.from('hello\n'), mode: 0o755 },
      { type: 'dir', path: 'b' },
      { type: 'symlink', path: 'a', target: 'b/x' },
    ]);
    expect(tar.length % 512).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), 'cif-tar-test-'));
    try {
      await writeFile(join(dir, 't.tar'), tar);
      const list = (await run('tar', ['--numeric-owner', '--full-time', '-tvf', join(dir, 't.tar')])).stdout.split('\n');
      expect(list.map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual(['a -> b/x', 'b/', 'b/x']);
      expect(list[2]).toMatch(/^-rwxr-xr-x 0\/0 +6 1970-01-01 00:00:00 b\/x$/);
      await run('tar', ['-xf', join(dir, 't.tar'), '-C', dir]);
      expect((await run('cat', [join(dir, 'a')])).stdout).toBe('hello');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveBusybox)('test images', () => {
  it('have stable digests across builds and distinct digests per version', async () => {
    const a1 = await buildTestImage({ version: 'v1' });
    const a2 = await buildTestImage({ version: 'v1' });
    const b = await buildTestImage({ version: 'v2' });
    expect(a2.digest).toBe(a1.digest);
    expect(a2.manifest.equals(a1.manifest)).toBe(true);
    expect(b.digest).not.toBe(a1.digest);
    expect(b.configDigest).not.toBe(a1.configDigest);
    // The busybox layer is shared; only the version layer differs.
    expect(b.layers[0]!.digest).toBe(a1.layers[0]!.digest);
    expect(b.layers[1]!.digest).not.toBe(a1.layers[1]!.digest);
    const withPayload = await buildTestImage({ version: 'v1', payloadBytes: 4096 });
    expect(withPayload.layers).toHaveLength(3);
    expect(withPayload.digest).not.toBe(a1.digest);
  });

  it('rejects a version that is not a valid tag', async () => {
    await expect(buildTestImage({ version: 'v 1' })).rejects.toThrow(/not a valid tag/);
  });

  it('parses the marker out of a log', () => {
    expect(parseMarker('noise\ncif-test-image version=v7\n')).toBe('v7');
    expect(parseMarker('2026-01-01T00:00:00Z stdout F cif-test-image version=v2')).toBe('v2');
    expect(parseMarker('nothing here')).toBeUndefined();
  });
});

describe.skipIf(!haveBusybox || !haveRegistry)('test images in a real registry', () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('push, move a tag from v1 to v2, delete it (404)', async () => {
    const target = { address: registry.address };
    const v1 = await pushTestImage(target, 'cif/app', 'stable', 'v1');
    expect(await tagDigest(target, 'cif/app', 'stable')).toBe(v1.digest);
    const v2 = await pushTestImage(target, 'cif/app', 'stable', 'v2');
    expect(v2.digest).not.toBe(v1.digest);
    expect(await tagDigest(target, 'cif/app', 'stable')).toBe(v2.digest);
    // v1 is still there by digest after the tag moved.
    expect(await new RegistryClient(registry.address).manifestDigest('cif/app', v1.digest)).toBe(v1.digest);
    expect(await deleteTag(target, 'cif/app', 'stable')).toBe(v2.digest);
    expect(await tagDigest(target, 'cif/app', 'stable')).toBeUndefined();
    const res = await fetch(`http://${registry.address}/v2/cif/app/manifests/stable`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('MANIFEST_UNKNOWN');
    expect(await deleteTag(target, 'cif/app', 'stable')).toBeUndefined();
  });

  it('push with credentials to a registry with htpasswd auth', async () => {
    const auth = { username: 'cif', password: 'secret-pw' };
    const secured = await startLocalRegistry({ auth });
    try {
      await expect(pushTestImage({ address: secured.address }, 'cif/private', 'v1', 'v1')).rejects.toThrow(/401/);
      const pushed = await pushTestImage({ address: secured.address, credentials: auth }, 'cif/private', 'v1', 'v1');
      expect(await tagDigest({ address: secured.address, credentials: auth }, 'cif/private', 'v1')).toBe(pushed.digest);
    } finally {
      await secured.stop();
    }
  });

  it.skipIf(!dockerUp)('runs under docker and prints its version (pulled from the loopback registry)', async () => {
    const target = { address: registry.address };
    const pushed = await pushTestImage(target, 'cif/run', 'latest', 'v3');
    const ref = `${registry.address}/cif/run:latest`;
    const runId = newRunId();
    const labels = Object.entries(runLabels(runId)).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    try {
      // docker treats 127.0.0.0/8 registries as insecure (plain HTTP) without configuration.
      await run('docker', ['pull', '-q', ref], { timeout: 60_000 });
      const repoDigests = (await run('docker', ['image', 'inspect', '-f', '{{json .RepoDigests}}', ref])).stdout;
      expect(repoDigests).toContain(pushed.digest);
      const out = await run('docker', ['run', '--rm', ...labels, '--entrypoint', '/bin/sh', ref, '-c', 'echo "cif-test-image version=$(cat /cif/version)"'], {
        timeout: 60_000,
      });
      expect(parseMarker(out.stdout)).toBe('v3');
      // The real entrypoint: prints the marker, then sleeps until stopped (and stops promptly).
      const name = `cif-test-image-${runId}`;
      await run('docker', ['run', '-d', '--name', name, ...labels, ref]);
      try {
        let log = '';
        for (let i = 0; i < 50 && !parseMarker(log); i++) {
          await new Promise((r) => setTimeout(r, 100));
          log = (await run('docker', ['logs', name])).stdout;
        }
        expect(parseMarker(log)).toBe('v3');
        expect((await run('docker', ['inspect', '-f', '{{.State.Running}}', name])).stdout).toBe('true');
        const t = Date.now();
        await run('docker', ['stop', '-t', '10', name]);
        expect(Date.now() - t).toBeLessThan(5_000);
      } finally {
        await run('docker', ['rm', '-f', name], { reject: false });
      }
    } finally {
      await run('docker', ['rmi', ref], { reject: false });
    }
  });
});
