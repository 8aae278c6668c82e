/**
 * `cif doctor`: can this host run the e2e loop? Each check is one line with a fix hint. Checks read the host
 * through a HostProbe so tests can fake every answer.
 */
import { readFile, statfs } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { cacheRoot } from '../lib/cache.ts';
import { run } from '../lib/exec.ts';
import { CAP_SYS_RESOURCE, hasCapability, parseCapBnd } from './capabilities.ts';
import { ensureProbeImage } from './probe-image.ts';

export interface HostProbe {
  /** `docker info` as JSON text, or an Error saying why it failed. */
  dockerInfo(): Promise<{ serverVersion: string; defaultRuntime: string } | Error>;
  /** Runs a privileged container from a local image; undefined on success, else the error text. */
  runPrivileged(): Promise<string | undefined>;
  /** 'cgroup2fs' for v2, else v1 (tmpfs holding v1 hierarchies). */
  cgroupFsType(): Promise<'v1' | 'v2'>;
  /** `go env GOVERSION`, or undefined when go isn't on PATH. */
  goVersion(): Promise<string | undefined>;
  procStatus(): Promise<string>;
  freeBytes(path: string): Promise<number>;
  cacheDir(): string;
}

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export const MIN_GO = [1, 24] as const;
/** A cold build (Go caches, kube tree, images, node image) needs about this much. */
export const MIN_FREE_GIB = 25;

export async function runChecks(probe: HostProbe): Promise<Check[]> {
  const checks: Check[] = [];
  const info = await probe.dockerInfo();
  if (info instanceof Error) {
    checks.push({
      name: 'docker engine',
      status: 'fail',
      detail: `no engine answers: ${firstLine(info.message)}`,
      fix: 'run scripts/setup-host (installs docker.io and starts dockerd)',
    });
    checks.push({ name: 'privileged container', status: 'fail', detail: 'skipped: no docker engine', fix: 'start docker first' });
  } else {
    checks.push({ name: 'docker engine', status: 'ok', detail: `server ${info.serverVersion}, default runtime ${info.defaultRuntime}` });
    const privErr = await probe.runPrivileged();
    checks.push(
      privErr === undefined
        ? { name: 'privileged container', status: 'ok', detail: '`docker run --privileged` works' }
        : {
            name: 'privileged container',
            status: 'fail',
            detail: firstLine(privErr),
            fix: /apply caps|operation not permitted/.test(privErr)
              ? 'this host lacks CAP_SYS_RESOURCE: run scripts/setup-host to install the runc wrapper'
              : 'kind nodes are privileged containers; check dockerd’s log',
          },
    );
  }

  const mask = parseCapBnd(await probe.procStatus());
  if (mask === undefined) {
    checks.push({ name: 'capabilities', status: 'warn', detail: 'CapBnd not found in /proc/self/status' });
  } else if (hasCapability(mask, CAP_SYS_RESOURCE)) {
    checks.push({ name: 'capabilities', status: 'ok', detail: 'CAP_SYS_RESOURCE in the bounding set' });
  } else {
    const wrapped = !(info instanceof Error) && info.defaultRuntime === 'cif-runc';
    checks.push({
      name: 'capabilities',
      status: wrapped ? 'ok' : 'warn',
      detail: `CAP_SYS_RESOURCE missing from the bounding set; ${wrapped ? 'dockerd uses the cif-runc wrapper' : 'no runc wrapper in use'}`,
      ...(wrapped ? {} : { fix: 'run scripts/setup-host' }),
    });
  }

  const cg = await probe.cgroupFsType();
  checks.push({
    name: 'cgroups',
    status: 'ok',
    detail: cg === 'v1' ? 'v1 (Kubernetes 1.34 still runs here; kind nodes get our cgroup v1 entrypoint)' : 'v2',
  });

  const go = await probe.goVersion();
  if (!go) {
    checks.push({ name: 'go', status: 'fail', detail: 'go not found on PATH', fix: `install Go >= ${MIN_GO.join('.')}` });
  } else {
    const ok = goAtLeast(go, MIN_GO);
    checks.push({
      name: 'go',
      status: ok ? 'ok' : 'fail',
      detail: go,
      ...(ok ? {} : { fix: `install Go >= ${MIN_GO.join('.')}` }),
    });
  }

  const dir = probe.cacheDir();
  const free = await probe.freeBytes(dir);
  const gib = free / 2 ** 30;
  checks.push({
    name: 'disk',
    status: gib >= MIN_FREE_GIB ? 'ok' : 'fail',
    detail: `${gib.toFixed(1)} GiB free at ${dir}`,
    ...(gib >= MIN_FREE_GIB ? {} : { fix: `free space or set CIF_CACHE to a disk with >= ${MIN_FREE_GIB} GiB` }),
  });
  return checks;
}

export function goAtLeast(version: string, min: readonly [number, number]): boolean {
  const m = /go(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [maj, minor] = [Number(m[1]), Number(m[2])];
  return maj > min[0] || (maj === min[0] && minor >= min[1]);
}

export function formatChecks(checks: readonly Check[]): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks
    .map((c) => `${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? `\n      ${' '.repeat(width)}  fix: ${c.fix}` : ''}`)
    .join('\n');
}

function firstLine(s: string): string {
  return s.trim().split('\n').find((l) => l.trim()) ?? s;
}

/** The real host. */
export const hostProbe: HostProbe = {
  async dockerInfo() {
    const r = await run('docker', ['info', '--format', '{{json .}}'], { reject: false, timeout: 15_000 });
    if (r.exitCode !== 0) return new Error(r.stderr || r.stdout || `docker info exited ${r.exitCode}`);
    try {
      const j = JSON.parse(r.stdout) as { ServerVersion?: string; DefaultRuntime?: string; ServerErrors?: string[] };
      if (!j.ServerVersion) return new Error(j.ServerErrors?.join('; ') || 'docker info returned no server version');
      return { serverVersion: j.ServerVersion, defaultRuntime: j.DefaultRuntime ?? 'unknown' };
    } catch (err) {
      return err as Error;
    }
  },
  async runPrivileged() {
    try {
      const image = await ensureProbeImage();
      const r = await run('docker', ['run', '--rm', '--privileged', '--network', 'none', image, 'true'], {
        reject: false,
        timeout: 60_000,
      });
      return r.exitCode === 0 ? undefined : r.stderr || `exit ${r.exitCode}`;
    } catch (err) {
      return (err as Error).message;
    }
  },
  async cgroupFsType() {
    // cgroup2 mounted at /sys/fs/cgroup means v2; v1 hosts mount a tmpfs there with one dir per controller.
    const s = await statfs('/sys/fs/cgroup');
    return s.type === 0x63677270 ? 'v2' : 'v1';
  },
  async goVersion() {
    const r = await run('go', ['env', 'GOVERSION'], { reject: false, timeout: 30_000 }).catch(() => undefined);
    return r && r.exitCode === 0 ? r.stdout.trim() : undefined;
  },
  procStatus: () => readFile('/proc/self/status', 'utf8'),
  async freeBytes(path) {
    mkdirSync(path, { recursive: true });
    const s = await statfs(path);
    return s.bavail * s.bsize;
  },
  cacheDir: () => cacheRoot(),
};
