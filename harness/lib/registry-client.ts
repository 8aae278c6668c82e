/**
 * A small client for the OCI distribution API (the subset the harness needs: push blobs and manifests, read a
 * tag's digest, delete a manifest). Plain HTTP only — our registries live on loopback or on our own docker
 * networks. Written against Node's fetch so the pushes are real registry traffic, not `docker push` (which
 * would need the daemon's insecure-registries setting for anything but 127.0.0.0/8).
 */
import { createHash } from 'node:crypto';
import { fetchBuffered } from './http.ts';

export interface RegistryCredentials {
  username: string;
  password: string;
}

export class RegistryApiError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${url} → HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`);
    this.name = 'RegistryApiError';
  }
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const ACCEPT_MANIFESTS = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export class RegistryClient {
  /** `address` is host:port as seen from this process, e.g. 127.0.0.1:41234. */
  constructor(
    readonly address: string,
    private readonly credentials?: RegistryCredentials,
    private readonly timeoutMs = 30_000,
  ) {}

  private url(path: string): string {
    return path.startsWith('http') ? path : `http://${this.address}${path}`;
  }

  private async request(method: string, path: string, init: { headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.credentials) {
      headers.authorization = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    }
    return fetchBuffered(this.url(path), { method, headers, body: init.body, redirect: 'follow' }, this.timeoutMs);
  }

  private async expect(res: Response, method: string, path: string, ok: number[]): Promise<Response> {
    if (!ok.includes(res.status)) {
      const body = await res.text().catch(() => '');
      throw new RegistryApiError(method, this.url(path), res.status, body);
    }
    return res;
  }

  /** GET /v2/ → the status (200 open, 401 auth required). Throws on connection errors. */
  async ping(): Promise<number> {
    const res = await this.request('GET', '/v2/');
    await res.arrayBuffer();
    return res.status;
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const path = `/v2/${repo}/blobs/${digest}`;
    const res = await this.request('HEAD', path);
    await this.expect(res, 'HEAD', path, [200, 404]);
    return res.status === 200;
  }

  /** Monolithic upload (POST then PUT with the digest); skipped when the blob is already there. */
  async pushBlob(repo: string, data: Uint8Array, digest = sha256Digest(data)): Promise<string> {
    if (await this.hasBlob(repo, digest)) return digest;
    const start = `/v2/${repo}/blobs/uploads/`;
    const res = await this.expect(await this.request('POST', start), 'POST', start, [202]);
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (!location) throw new RegistryApiError('POST', this.url(start), res.status, 'no Location header in upload response');
    const loc = new URL(location, this.url(start));
    loc.searchParams.set('digest', digest);
    // The registry builds Location from the Host header we sent, so it already points where we can reach.
    const put = await this.request('PUT', loc.toString(), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.byteLength) },
      body: data,
    });
    await this.expect(put, 'PUT', loc.pathname, [201]);
    await put.arrayBuffer();
    return digest;
  }

  /** PUT a manifest under a tag (or digest); returns the digest the registry computed. */
  async putManifest(repo: string, reference: string, manifest: Uint8Array | string, mediaType = OCI_MANIFEST): Promise<string> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const res = await this.expect(
      await this.request('PUT', path, { headers: { 'content-type': mediaType }, body: manifest }),
      'PUT',
      path,
      [201],
    );
    await res.arrayBuffer();
    return res.headers.get('docker-content-digest') ?? sha256Digest(manifest);
  }

  /** The digest a tag points to, or undefined when the registry answers 404 (tag or repo unknown). */
  async manifestDigest(repo: string, reference: string): Promise<string | undefined> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const res = await this.request('HEAD', path, { headers: { accept: ACCEPT_MANIFESTS } });
    await this.expect(res, 'HEAD', path, [200, 404]);
    if (res.status === 404) return undefined;
    const digest = res.headers.get('docker-content-digest');
    if (!digest) throw new RegistryApiError('HEAD', this.url(path), res.status, 'no Docker-Content-Digest header');
    return digest;
  }

  async getManifest(repo: string, reference: string): Promise<{ digest: string; mediaType: string; body: Uint8Array } | undefined> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const res = await this.request('GET', path, { headers: { accept: ACCEPT_MANIFESTS } });
    await this.expect(res, 'GET', path, [200, 404]);
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status === 404) return undefined;
    return {
      digest: res.headers.get('docker-content-digest') ?? sha256Digest(body),
      mediaType: res.headers.get('content-type') ?? OCI_MANIFEST,
      body,
    };
  }

  /**
   * DELETE a manifest by digest (needs `storage.delete.enabled`). Distribution 2.8 also removes every tag
   * that pointed at it, so afterwards those tags answer 404 MANIFEST_UNKNOWN. Deleting by tag is not
   * supported by the API, hence the digest.
   */
  async deleteManifest(repo: string, digest: string): Promise<void> {
    const path = `/v2/${repo}/manifests/${digest}`;
    const res = await this.expect(await this.request('DELETE', path), 'DELETE', path, [202]);
    await res.arrayBuffer();
  }
}
