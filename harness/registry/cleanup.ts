/**
 * Cleanup by label. Everything a run creates carries `cif.run=<id>` and `cif.owner=cached-if-failed`; what
 * this home creates also carries the creating process (`cif.pid`, `cif.pidstart` = its start time in clock
 * ticks since boot, `cif.host`), so a later run can tell a leftover of a dead (e.g. SIGKILLed) run from the
 * live run of another process on this machine — and sweeps only the former.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { run } from '../lib/exec.ts';
import { OWNER_LABEL, OWNER_VALUE, RUN_LABEL, runLabels } from '../lib/run-context.ts';

export const PID_LABEL = 'cif.pid';
export const PIDSTART_LABEL = 'cif.pidstart';
export const HOST_LABEL = 'cif.host';
/** kind's own label: containers carrying it are cluster nodes and are never swept from here. */
export const KIND_CLUSTER_LABEL = 'io.x-k8s.kind.cluster';

/** Field 22 of /proc/<pid>/stat (start time), or undefined when the process does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19]; // fields 3.. → index 0 is field 3, so field 22 is index 19
  } catch {
    return undefined;
  }
}

/** The labels that identify this process as the owner of an object. */
export function ownerLabels(runId: string, pid = process.pid): Record<string, string> {
  return {
    ...runLabels(runId),
    [PID_LABEL]: String(pid),
    [PIDSTART_LABEL]: processStartTime(pid) ?? '0',
    [HOST_LABEL]: hostname(),
  };
}

export function dockerLabelArgs(labels: Record<string, string>): string[] {
  return Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
}

/**
 * Is the run that created an object with these labels gone? Only when we can prove it: same host, and the
 * process is missing or is a different process (PID reused: another start time). Objects without our process
 * labels (made by other code, or another host) are never judged dead.
 */
export function ownerIsGone(labels: Record<string, string | undefined>, host = hostname()): boolean {
  const pid = Number(labels[PID_LABEL]);
  const start = labels[PIDSTART_LABEL];
  if (!Number.isInteger(pid) || pid <= 0 || !start || labels[HOST_LABEL] !== host) return false;
  const now = processStartTime(pid);
  return now === undefined || now !== start;
}

interface DockerObject {
  kind: 'container' | 'network';
  id: string;
  name: string;
  labels: Record<string, string>;
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

async function listOwned(filter: string[]): Promise<DockerObject[]> {
  const containers = await run('docker', ['ps', '-a', '--no-trunc', ...filter, '--format', '{{.ID}}\t{{.Names}}\t{{.Labels}}']);
  const networks = await run('docker', ['network', 'ls', '--no-trunc', ...filter, '--format', '{{.ID}}\t{{.Name}}\t{{.Labels}}']);
  const parse = (kind: DockerObject['kind'], out: string) =>
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id = '', name = '', labels = ''] = line.split('\t');
        return { kind, id, name, labels: parseLabels(labels) };
      });
  return [...parse('container', containers.stdout), ...parse('network', networks.stdout)];
}

async function removeDocker(objects: DockerObject[]): Promise<string[]> {
  const removed: string[] = [];
  // Containers first: a network with attached containers can't be removed.
  for (const o of objects.filter((x) => x.kind === 'container' && !x.labels[KIND_CLUSTER_LABEL])) {
    const r = await run('docker', ['rm', '-f', '-v', o.id], { reject: false, timeout: 60_000 });
    if (r.exitCode === 0) removed.push(`container ${o.name}`);
  }
  for (const o of objects.filter((x) => x.kind === 'network')) {
    const r = await run('docker', ['network', 'rm', o.id], { reject: false, timeout: 60_000 });
    if (r.exitCode === 0) removed.push(`network ${o.name}`);
  }
  return removed;
}

/** Removes this run's docker containers and networks (never kind nodes). Returns what it removed. */
export async function removeRunDocker(runId: string): Promise<string[]> {
  return removeDocker(await listOwned(['--filter', `label=${RUN_LABEL}=${runId}`]));
}

/**
 * At the start of a run: removes docker objects left by runs whose process is gone — after a SIGKILL nothing
 * ran their cleanup. Live runs of other processes are left alone. Kubernetes namespaces: see
 * observe/pods.ts sweepDeadNamespaces (same rule).
 */
export async function sweepDeadRuns(): Promise<string[]> {
  const objects = await listOwned(['--filter', `label=${OWNER_LABEL}=${OWNER_VALUE}`]);
  return removeDocker(objects.filter((o) => ownerIsGone(o.labels)));
}
