/**
 * The images scenarios pull: made here, byte for byte, from Debian's busybox-static — no base image, no
 * registry, no docker build. Each version (v1, v2, …) is an OCI image of two layers: busybox (shared by every
 * version, so a v1 → v2 pull moves only a few hundred bytes) and a tiny layer holding /cif/version. Tar entries
 * are sorted with fixed mtimes/owners and gzip output is deterministic, so a version's digest is the same on
 * every build on a host (it depends only on the host's busybox binary and zlib).
 *
 * Started, the container prints `cif-test-image version=<v>` (the marker the checks read from the logs) and
 * then sleeps until SIGTERM, which it honours at once so pods delete quickly.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { MARKER_PREFIX } from '../contract/index.ts';
import { HostError } from '../lib/errors.ts';
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, RegistryClient, sha256Digest, type RegistryCredentials } from '../lib/registry-client.ts';

export { MARKER_PREFIX, parseMarker } from '../contract/index.ts';

export const BUSYBOX_PATH = '/bin/busybox';
/** The label in the image config that carries the version too (for `crictl inspecti`). */
export const VERSION_LABEL = 'cif.test-image.version';

// ---------------------------------------------------------------------------------------------------------
// A minimal, deterministic ustar writer (directories, regular files, symlinks).

export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string };

function octal(value: number, width: number): string {
  // width includes the trailing NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const name = entry.type === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar path too long for ustar: ${name}`);
  h.write(name, 0, 100, 'utf8');
  const mode = entry.type === 'symlink' ? 0o777 : (entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644));
  h.write(octal(mode, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii'); // uid
  h.write(octal(0, 8), 116, 8, 'ascii'); // gid
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(0, 12), 136, 12, 'ascii'); // mtime: the epoch, always
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder
  h.write(entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0', 156, 1, 'ascii');
  if (entry.type === 'symlink') h.write(entry.target, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

/** A tar archive of `entries`, sorted by path so the bytes never depend on the caller's order. */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  for (const e of sorted) {
    const data = e.type === 'file' ? Buffer.from(e.data) : Buffer.alloc(0);
    parts.push(header(e, data.length), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------------
// Building images.

export interface Blob {
  digest: string;
  mediaType: string;
  data: Buffer;
}

export interface BuiltImage {
  version: string;
  /** Digest of the manifest: what `imageID`/`crictl` report as the repo digest. */
  digest: string;
  manifest: Buffer;
  config: Blob;
  layers: Blob[];
  /** The config digest: containerd's image ID (`crictl images -o json` id). */
  configDigest: string;
}

export interface TestImageSpec {
  version: string;
  /**
   * Extra incompressible bytes (deterministic, derived from the version) in a third layer, for scenarios that
   * need a pull to take measurable time through the `slow` fault. Default 0 (no extra layer).
   */
  payloadBytes?: number;
  /** Overrides what the container runs after printing the marker (default: sleep until SIGTERM). */
  afterMarker?: string;
}

const BUSYBOX_APPLETS = ['sh', 'cat', 'echo', 'sleep', 'true', 'false', 'ls'];

let busyboxCache: { bytes: Buffer; layer: Blob; diffId: string } | undefined;

async function busyboxLayer(): Promise<{ layer: Blob; diffId: string }> {
  if (busyboxCache) return busyboxCache;
  let bytes: Buffer;
  try {
    bytes = await readFile(BUSYBOX_PATH);
  } catch (err) {
    throw new HostError(`cannot read ${BUSYBOX_PATH} to build the test images: ${(err as Error).message}`, {
      hint: 'apt-get install busybox-static (scripts/setup-host does this)',
    });
  }
  const tar = tarArchive([
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', data: bytes, mode: 0o755 },
    ...BUSYBOX_APPLETS.map((a) => ({ type: 'symlink' as const, path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  ]);
  busyboxCache = { bytes, ...gzLayer(tar) };
  return busyboxCache;
}

function gzLayer(tar: Buffer): { layer: Blob; diffId: string } {
  // Node's gzip header carries mtime 0 and a fixed OS byte, so equal input gives equal output.
  const data = gzipSync(tar, { level: 9 });
  return { layer: { digest: sha256Digest(data), mediaType: OCI_LAYER_GZIP, data }, diffId: sha256Digest(tar) };
}

/** Deterministic pseudo-random bytes (SHA-256 in counter mode over a seed): incompressible, reproducible. */
export function payload(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

function checkVersion(version: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(version)) {
    throw new Error(`test image version ${JSON.stringify(version)} is not a valid tag (letters, digits, . _ -)`);
  }
}

/** The command the image runs: print the marker, then `afterMarker` (default: sleep until SIGTERM). */
export function entrypointScript(afterMarker?: string): string {
  return [
    `echo "${MARKER_PREFIX}$(cat /cif/version)"`,
    afterMarker ?? `trap 'exit 0' TERM INT; while :; do sleep 1 & wait $!; done`,
  ].join('; ');
}

/** A pod command for a crash loop with any test image: print the marker, exit 1. */
export function crashCommand(): string[] {
  return ['/bin/sh', '-c', entrypointScript('exit 1')];
}

export async function buildTestImage(spec: TestImageSpec): Promise<BuiltImage> {
  checkVersion(spec.version);
  const base = await busyboxLayer();
  const versionLayer = gzLayer(
    tarArchive([
      { type: 'dir', path: 'cif' },
      { type: 'file', path: 'cif/version', data: Buffer.from(`${spec.version}\n`) },
    ]),
  );
  const layers = [base, versionLayer];
  if (spec.payloadBytes && spec.payloadBytes > 0) {
    layers.push(gzLayer(tarArchive([{ type: 'file', path: 'cif/payload', data: payload(spec.version, spec.payloadBytes) }])));
  }
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/bin'],
      Entrypoint: ['/bin/sh', '-c', entrypointScript(spec.afterMarker)],
      Labels: { [VERSION_LABEL]: spec.version },
      WorkingDir: '/',
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created_by: `cif test image layer ${i}`, created: '1970-01-01T00:00:00Z' })),
    created: '1970-01-01T00:00:00Z',
  };
  const configData = Buffer.from(JSON.stringify(config));
  const configBlob: Blob = { digest: sha256Digest(configData), mediaType: OCI_CONFIG, data: configData };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configBlob.digest, size: configData.length },
      layers: layers.map((l) => ({ mediaType: l.layer.mediaType, digest: l.layer.digest, size: l.layer.data.length })),
      annotations: { 'org.opencontainers.image.version': spec.version },
    }),
  );
  return {
    version: spec.version,
    digest: sha256Digest(manifest),
    manifest,
    config: configBlob,
    layers: layers.map((l) => l.layer),
    configDigest: configBlob.digest,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Registry operations scenarios use.

export interface PushTarget {
  /** host:port this process reaches the registry at (RegistryHandle.hostAddress). */
  address: string;
  credentials?: RegistryCredentials;
}

export interface PushedImage {
  repo: string;
  tag: string;
  version: string;
  digest: string;
  configDigest: string;
}

/** Builds version `spec.version` and pushes it as `repo:tag` (a tag that held another version now moves). */
export async function pushTestImage(target: PushTarget, repo: string, tag: string, spec: TestImageSpec | string): Promise<PushedImage> {
  const s = typeof spec === 'string' ? { version: spec } : spec;
  const image = await buildTestImage(s);
  const client = new RegistryClient(target.address, target.credentials);
  for (const blob of [...image.layers, image.config]) await client.pushBlob(repo, blob.data, blob.digest);
  const digest = await client.putManifest(repo, tag, image.manifest, OCI_MANIFEST);
  if (digest !== image.digest) {
    throw new Error(`registry at ${target.address} stored ${repo}:${tag} as ${digest}, expected ${image.digest}`);
  }
  return { repo, tag, version: s.version, digest, configDigest: image.configDigest };
}

/**
 * Deletes `repo:tag` so it answers 404: deletes the manifest it points to, by digest. Every other tag that
 * pointed to the same manifest goes too (distribution's semantics). Returns the deleted digest, or undefined
 * when the tag did not exist.
 */
export async function deleteTag(target: PushTarget, repo: string, tag: string): Promise<string | undefined> {
  const client = new RegistryClient(target.address, target.credentials);
  const digest = await client.manifestDigest(repo, tag);
  if (!digest) return undefined;
  await client.deleteManifest(repo, digest);
  return digest;
}

/** The digest `repo:tag` points to now, or undefined (404). */
export async function tagDigest(target: PushTarget, repo: string, tag: string): Promise<string | undefined> {
  return new RegistryClient(target.address, target.credentials).manifestDigest(repo, tag);
}

