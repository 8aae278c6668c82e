/**
 * Pure reading of pod status and events: V1Pod → the outcome a scenario checks, events → a summary. No API
 * calls here, so every rule is unit-tested against recorded objects.
 */
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';

/** Waiting reasons that end an observation: the pod won't run without something changing. */
export const FAILURE_REASONS = [
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'ImageInspectError',
  'RegistryUnavailable',
  'SignatureValidationFailed',
  'CreateContainerConfigError',
  'CreateContainerError',
  'CrashLoopBackOff',
  'RunContainerError',
] as const;

/** Waiting reasons that are progress, not an outcome. */
const PROGRESS_REASONS = new Set(['ContainerCreating', 'PodInitializing', '']);

export interface PodState {
  /** `Running`, a Waiting reason, `Terminated`, `Pending` (nothing decisive yet), or `Failed`/`Succeeded`. */
  state: string;
  terminal: boolean;
  message?: string;
  imageID?: string;
  /** The image digest (sha256:…) out of imageID, when it has one. */
  digest?: string;
  restartCount: number;
  /** The container's raw Waiting reason (ContainerCreating included), when it is waiting. */
  waitingReason?: string;
  node?: string;
  /** The container's running start (API timestamp, second precision). */
  startedAt?: Date;
}

/** `registry:5000/cif/app@sha256:abc` or `sha256:abc` → `sha256:abc`. */
export function digestOf(imageID: string | undefined): string | undefined {
  if (!imageID) return undefined;
  const m = /(sha256:[0-9a-f]{64})/.exec(imageID);
  return m?.[1];
}

function asDate(v: unknown): Date | undefined {
  if (!v) return undefined;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * The state of a single-container pod. `stopOn` lists Waiting reasons that count as terminal (default
 * FAILURE_REASONS, so the first ErrImagePull ends it; pass ['ImagePullBackOff'] to wait for the back-off).
 */
export function podState(pod: V1Pod, stopOn: readonly string[] = FAILURE_REASONS): PodState {
  const cs = pod.status?.containerStatuses?.[0];
  const base = {
    restartCount: cs?.restartCount ?? 0,
    node: pod.spec?.nodeName,
    imageID: cs?.imageID || undefined,
    digest: digestOf(cs?.imageID),
  };
  if (cs?.state?.running) {
    return { ...base, state: 'Running', terminal: true, startedAt: asDate(cs.state.running.startedAt) };
  }
  if (cs?.state?.waiting) {
    const reason = cs.state.waiting.reason ?? '';
    if (PROGRESS_REASONS.has(reason)) return { ...base, state: 'Pending', terminal: false, waitingReason: reason || undefined };
    return { ...base, state: reason, terminal: stopOn.includes(reason), message: cs.state.waiting.message, waitingReason: reason };
  }
  if (cs?.state?.terminated) {
    const t = cs.state.terminated;
    return {
      ...base,
      state: 'Terminated',
      terminal: pod.spec?.restartPolicy === 'Never',
      message: `${t.reason ?? ''} exit ${t.exitCode}${t.message ? `: ${t.message}` : ''}`.trim(),
    };
  }
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return { ...base, state: phase, terminal: true, message: pod.status?.message };
  // Unschedulable and friends show up as a PodScheduled=False condition: not terminal (may resolve), but say so.
  const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return { ...base, state: 'Pending', terminal: false, message: sched?.message };
}

export interface EventSummary {
  type: string;
  reason: string;
  message: string;
  count: number;
  /** First and last time seen (API timestamps). */
  first?: Date;
  last?: Date;
  source?: string;
}

/** Events of one object, oldest first; a series' count wins over the legacy count. */
export function summarizeEvents(events: readonly CoreV1Event[]): EventSummary[] {
  const out = events.map((e) => {
    const first = asDate(e.firstTimestamp) ?? asDate(e.eventTime) ?? asDate(e.metadata?.creationTimestamp);
    const last = asDate(e.series?.lastObservedTime) ?? asDate(e.lastTimestamp) ?? first;
    return {
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: e.message ?? '',
      count: e.series?.count ?? e.count ?? 1,
      first,
      last,
      source: e.source?.component ?? e.reportingComponent ?? undefined,
    };
  });
  return out.sort((a, b) => (a.first?.getTime() ?? 0) - (b.first?.getTime() ?? 0));
}

export interface TimelineEntry {
  reason: string;
  type: string;
  message: string;
  /** Seconds after the observation started (the create call), by this process's clock. */
  seconds: number;
}

/**
 * The new occurrences an event object stands for, given the counts seen so far (keyed by event uid; updated
 * in place): an aggregated event whose count went 1 → 3 yields two entries. Pure but for `seen`.
 */
export function timelineEntries(seen: Map<string, number>, e: CoreV1Event, seconds: number): TimelineEntry[] {
  const uid = e.metadata?.uid ?? `${e.reason}|${e.message}`;
  const count = e.series?.count ?? e.count ?? 1;
  const before = seen.get(uid) ?? 0;
  if (count <= before) return [];
  seen.set(uid, count);
  const entry = { reason: e.reason ?? '', type: e.type ?? 'Normal', message: e.message ?? '', seconds };
  return Array.from({ length: Math.min(count - before, 1_000) }, () => ({ ...entry }));
}

/** When the kubelet first reported a failure for the pod (its first Warning `Failed` event). */
export function firstFailureTime(events: readonly EventSummary[]): Date | undefined {
  return events.find((e) => e.type === 'Warning' && e.reason === 'Failed')?.first;
}

export function hasEvent(events: readonly EventSummary[], reason: string): boolean {
  return events.some((e) => e.reason === reason);
}

/**
 * The API's own reason for rejecting a create (HTTP 422 Invalid, 403 Forbidden by admission …) out of a
 * client-node ApiException (its body is the Status object, as JSON text or parsed).
 */
export function rejectionMessage(err: unknown): { code: number; message: string } | undefined {
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e?.code !== 'number' || e.code < 400 || e.code >= 500) return undefined;
  let body: unknown = e.body;
  if (typeof e.body === 'string') {
    const text = e.body;
    try {
      body = JSON.parse(text);
    } catch {
      return { code: e.code, message: text };
    }
  }
  const status = body as { message?: string } | undefined;
  return { code: e.code, message: status?.message ?? e.message ?? `HTTP ${e.code}` };
}
