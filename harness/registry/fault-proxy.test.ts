/**
 * Every proxy mode against a real registry (Debian's docker-registry as a child process on loopback), with
 * real HTTP clients: status codes, headers, timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { FaultProxy } from './fault-proxy.ts';
import { REGISTRY_BINARY } from './registry-image.ts';
import { startLocalRegistry, type LocalRegistry } from './local-registry.ts';
import { RegistryClient, sha256Digest } from '../lib/registry-client.ts';
import { pushTestImage, type PushedImage } from '../images/test-images.ts';

const haveRegistry = existsSync(REGISTRY_BINARY);
if (!haveRegistry) console.warn(`\n*** SKIP fault-proxy tests: ${REGISTRY_BINARY} missing (apt-get install docker-registry) ***\n`);

const PAYLOAD = 256 * 1024;

describe.skipIf(!haveRegistry)('fault proxy in front of a real registry', () => {
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let image: PushedImage;
  let payloadDigest: string;

  beforeAll(async () => {
    registry = await startLocalRegistry();
    image = await pushTestImage({ address: registry.address }, 'cif/proxy', 'v1', { version: 'v1', payloadBytes: PAYLOAD });
    const manifest = JSON.parse(
      Buffer.from((await new RegistryClient(registry.address).getManifest('cif/proxy', 'v1'))!.body).toString(),
    ) as { layers: { digest: string; size: number }[] };
    payloadDigest = manifest.layers[2]!.digest;
    proxy = await FaultProxy.start({ host: '127.0.0.1', upstream: registry.address });
  });

  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  const url = (path: string) => `http://${proxy.address}${path}`;
  const get = (path: string, timeoutMs = 10_000) => fetch(url(path), { signal: AbortSignal.timeout(timeoutMs) });
  const manifestPath = () => `/v2/cif/proxy/manifests/v1`;
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };

  it('refuses to bind anything but loopback or an allowed address', async () => {
    await expect(FaultProxy.start({ host: '0.0.0.0', upstream: registry.address })).rejects.toThrow(/refuses to bind 0\.0\.0\.0/);
    await expect(FaultProxy.start({ host: '10.9.8.7', upstream: registry.address })).rejects.toThrow(/refuses to bind/);
  });

  it('pass: forwards reads and pushes unchanged', async () => {
    await proxy.setMode('pass');
    const res = await fetch(url(manifestPath()), { headers: accept });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(image.digest);
    expect(sha256Digest(new Uint8Array(await res.arrayBuffer()))).toBe(image.digest);
    // A push through the proxy: the upload Location must lead back through the proxy.
    const pushed = await pushTestImage({ address: proxy.address }, 'cif/proxy', 'v2', 'v2');
    expect(await new RegistryClient(registry.address).manifestDigest('cif/proxy', 'v2')).toBe(pushed.digest);
  });

  it('http-500-blobs: manifests pass, every blob request answers 500', async () => {
    await proxy.setMode('http-500-blobs');
    const manifest = await fetch(url(manifestPath()), { headers: accept });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.digest);
    const blob = await get(`/v2/cif/proxy/blobs/${payloadDigest}`);
    expect(blob.status).toBe(500);
    await blob.arrayBuffer();
    await proxy.setMode('pass');
  });

  it.each([
    ['http-503', 503, 'UNAVAILABLE'],
    ['http-429', 429, 'TOOMANYREQUESTS'],
    ['unauthorized', 401, 'UNAUTHORIZED'],
    ['forbidden', 403, 'DENIED'],
  ] as const)('%s: every request answers %i with a registry error body', async (mode, status, code) => {
    await proxy.setMode(mode);
    for (const path of ['/v2/', manifestPath(), `/v2/cif/proxy/blobs/${payloadDigest}`]) {
      const res = await get(path);
      expect(res.status).toBe(status);
      const body = (await res.json()) as { errors: { code: string }[] };
      expect(body.errors[0]!.code).toBe(code);
      if (mode === 'unauthorized') expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      if (mode === 'http-429') expect(res.headers.get('retry-after')).toBe('1');
    }
    await proxy.setMode('pass');
    expect((await get('/v2/')).status).toBe(200);
  });

  it('slow: a blob arrives complete but at the configured rate', async () => {
    await proxy.setMode('pass');
    let t = Date.now();
    let res = await get(`/v2/cif/proxy/blobs/${payloadDigest}`);
    expect(sha256Digest(new Uint8Array(await res.arrayBuffer()))).toBe(payloadDigest);
    const fast = Date.now() - t;

    await proxy.setMode('slow', { bytesPerSecond: 128 * 1024 });
    t = Date.now();
    res = await get(`/v2/cif/proxy/blobs/${payloadDigest}`, 30_000);
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    const slow = Date.now() - t;
    expect(sha256Digest(body)).toBe(payloadDigest);
    // ≥ 256 KiB (gzip of random bytes is a little larger) at 128 KiB/s: about 2 s; well under 1 s when passing.
    expect(slow).toBeGreaterThanOrEqual(1_800);
    expect(slow).toBeLessThan(10_000);
    expect(fast).toBeLessThan(1_000);
    await proxy.setMode('pass');
  });

  it('flapping (per request count): up, up, down, down, up, up, …', async () => {
    await proxy.setMode('flapping', { flapEvery: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await get('/v2/');
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 503, 503, 200, 200, 503, 503]);
  });

  it('isTagManifest tells tags from digests', async () => {
    const { isTagManifest } = await import('./fault-proxy.ts');
    expect(isTagManifest('/v2/cif/app/manifests/v1')).toBe(true);
    expect(isTagManifest('/v2/a/b/c/manifests/latest?x=1')).toBe(true);
    expect(isTagManifest(`/v2/cif/app/manifests/sha256:${'a'.repeat(64)}`)).toBe(false);
    expect(isTagManifest('/v2/cif/app/blobs/sha256:abc')).toBe(false);
  });

  it('flapping (per pull attempt, the default): attempts alternate down/up, all requests of an up attempt pass', async () => {
    await proxy.setMode('flapping');
    const head = async () => (await fetch(url(manifestPath()), { method: 'HEAD', headers: accept })).status;
    const blob = async () => {
      const res = await get(`/v2/cif/proxy/blobs/${payloadDigest}`);
      await res.arrayBuffer();
      return res.status;
    };
    // attempt 1: down from its first request on
    expect([await head(), await blob()]).toEqual([503, 503]);
    // attempt 2: up, including by-digest and blob requests that follow
    expect([await head(), (await fetch(url(`/v2/cif/proxy/manifests/${image.digest}`), { headers: accept })).status, await blob(), await blob()]).toEqual([200, 200, 200, 200]);
    // attempt 3: down again
    expect(await head()).toBe(503);
    await proxy.setMode('pass');
  });

  it('flapping (per interval, resets): alternates with time', async () => {
    await proxy.setMode('flapping', { flapIntervalMs: 400, flapDown: 'reset' });
    const outcome = async () => {
      try {
        const res = await get('/v2/', 3_000);
        await res.arrayBuffer();
        return res.status;
      } catch {
        return 'reset';
      }
    };
    const seen: (number | string)[] = [await outcome()];
    await new Promise((r) => setTimeout(r, 500));
    seen.push(await outcome());
    await new Promise((r) => setTimeout(r, 400));
    seen.push(await outcome());
    expect(seen).toEqual([200, 'reset', 200]);
    await proxy.setMode('pass');
  });

  it('hang: accepts, never answers, until the client gives up', async () => {
    await proxy.setMode('hang');
    const hungBefore = proxy.stats.answered.hang ?? 0;
    const t = Date.now();
    const err = await get(manifestPath(), 1_500).then(
      () => undefined,
      (e: Error) => e,
    );
    const waited = Date.now() - t;
    expect(err?.name).toBe('TimeoutError');
    expect(waited).toBeGreaterThanOrEqual(1_450);
    expect(proxy.stats.answered.hang).toBe(hungBefore + 1);
    // A raw TCP connect succeeds (it is accepted) — this is not `refused`.
    await new Promise<void>((resolve, reject) => {
      const s = connect(proxy.port, '127.0.0.1', () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
    await proxy.setMode('pass');
    expect((await get('/v2/')).status).toBe(200);
  });

  it('refused: the port closes (fast ECONNREFUSED), then reopens on the same port', async () => {
    const port = proxy.port;
    await proxy.setMode('refused');
    const t = Date.now();
    // A fresh TCP connection (fetch might reuse a pooled socket and report its reset instead).
    const code = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(code).toBe('ECONNREFUSED');
    expect(Date.now() - t).toBeLessThan(1_000);
    await proxy.setMode('pass');
    expect(proxy.port).toBe(port);
    expect((await get('/v2/')).status).toBe(200);
  });

  it('pass with the registry gone: 502 naming the upstream error', async () => {
    const dead = await FaultProxy.start({ host: '127.0.0.1', upstream: '127.0.0.1:1' });
    try {
      const res = await fetch(`http://${dead.address}/v2/`);
      expect(res.status).toBe(502);
      expect(res.headers.get('x-cif-upstream-error')).toMatch(/ECONNREFUSED/);
    } finally {
      await dead.close();
    }
  });

  it('rejects an unknown mode', async () => {
    await expect(proxy.setMode('bogus' as never)).rejects.toThrow(/unknown fault proxy mode "bogus"/);
  });
});
