/**
 * The registry image: CNCF distribution from Debian's `docker-registry` package, imported into docker from a
 * rootfs we assemble (the binary, the shared libraries `ldd` names, a config file) — no base image, no pull.
 * Tagged by a hash of those bytes, so a rebuilt host package gives a new tag and an unchanged one is reused.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hashInputs } from '../lib/cache.ts';
import { HostError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import { createHash } from 'node:crypto';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const REGISTRY_IMAGE_REPO = 'cif-registry';
/** Inside the image: where the config and the htpasswd file live, where blobs are stored. */
export const CONFIG_PATH = '/etc/docker/registry/config.yml';
export const HTPASSWD_PATH = '/etc/docker/registry/htpasswd';
export const STORAGE_DIR = '/var/lib/registry';

export interface RegistryConfigOptions {
  /** `host:port` or `:port` to listen on. */
  addr: string;
  rootDirectory: string;
  /** Path of an htpasswd (bcrypt) file: enables basic auth with realm `cif-registry`. */
  htpasswdPath?: string;
}

/**
 * The registry's config. Delete is enabled so a tag can be made to answer 404; there is no blob descriptor
 * cache, so a deletion is visible at once; the log is kept at `info` for the container logs.
 */
export function registryConfig(o: RegistryConfigOptions): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${o.rootDirectory}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${o.addr}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
  ];
  if (o.htpasswdPath) {
    lines.push('auth:', '  htpasswd:', '    realm: cif-registry', `    path: ${o.htpasswdPath}`);
  }
  return lines.join('\n') + '\n';
}

/** The shared libraries `ldd` lists for a binary (absolute paths; the vdso has none). */
export function parseLdd(output: string): string[] {
  const libs = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  return [...libs].sort();
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function requireBinary(): Promise<Buffer> {
  if (!existsSync(REGISTRY_BINARY)) {
    throw new HostError(`${REGISTRY_BINARY} not found: the registry image is built from Debian's docker-registry package`, {
      hint: 'apt-get install docker-registry (scripts/setup-host does this)',
    });
  }
  return readFile(REGISTRY_BINARY);
}

/** Builds (or reuses) the registry image; returns its tag. */
export async function ensureRegistryImage(): Promise<string> {
  const binary = await requireBinary();
  const libs = parseLdd((await run('ldd', [REGISTRY_BINARY])).stdout);
  const libHashes = await Promise.all(libs.map(async (l) => [l, sha256(await readFile(l))] as const));
  const config = registryConfig({ addr: ':5000', rootDirectory: STORAGE_DIR });
  const tag = `${REGISTRY_IMAGE_REPO}:${hashInputs({ binary: sha256(binary), libs: libHashes, config, format: 1 })}`;
  if ((await run('docker', ['image', 'inspect', tag], { reject: false })).exitCode === 0) return tag;

  const dir = await mkdtemp(join(tmpdir(), 'cif-registry-rootfs-'));
  try {
    for (const path of [REGISTRY_BINARY, ...libs]) {
      await mkdir(join(dir, dirname(path)), { recursive: true });
      await copyFile(path, join(dir, path));
    }
    await mkdir(join(dir, dirname(CONFIG_PATH)), { recursive: true });
    await writeFile(join(dir, CONFIG_PATH), config);
    await mkdir(join(dir, STORAGE_DIR), { recursive: true });
    await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o1777 });
    // Sorted entries, fixed mtimes and owners: the same inputs make the same layer.
    await run('sh', [
      '-c',
      `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - . | docker import ` +
        `-c 'ENTRYPOINT ["${REGISTRY_BINARY}", "serve", "${CONFIG_PATH}"]' -c 'EXPOSE 5000' - "$2"`,
      'sh',
      dir,
      tag,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return tag;
}

/** Creates a bcrypt htpasswd line with apache2-utils' `htpasswd -B` (the only hash distribution accepts). */
export async function htpasswdLine(username: string, password: string): Promise<string> {
  const r = await run('htpasswd', ['-nbB', username, password]).catch((err: unknown) => {
    throw new HostError(`htpasswd failed: ${(err as Error).message}`, { hint: 'apt-get install apache2-utils' });
  });
  return r.stdout.trim() + '\n';
}
