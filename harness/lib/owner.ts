/**
 * Which process owns an object: what the harness creates carries the creating process (`cif.pid`,
 * `cif.pidstart` = its start time in clock ticks since boot, `cif.host`) besides the run labels, so a later
 * run can tell a leftover of a dead (e.g. SIGKILLed) run from the live run of another process on this
 * machine. Cleanup (registry/cleanup.ts) and the pod helpers (observe/pods.ts) both read these.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { runLabels } from './run-context.ts';

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
