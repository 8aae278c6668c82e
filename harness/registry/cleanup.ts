/**
 * Cleanup by label. Everything a run creates carries `cif.run=<id>` and `cif.owner=cached-if-failed`; what
 * this home creates also carries the creating process (`cif.pid`, `cif.pidstart` = its start time in clock
 * ticks since boot, `cif.host`), so a later run can tell a leftover of a dead (e.g. SIGKILLed) run from the
 * live run of another process on this machine — and sweeps only the former.
 */
import { run } from '../lib/exec.ts';
import { OWNER_LABEL, OWNER_VALUE, RUN_LABEL } from '../lib/run-context.ts';
import { KIND_CLUSTER_LABEL, ownerIsGone } from '../lib/owner.ts';

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
