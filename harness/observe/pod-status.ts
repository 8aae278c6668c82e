/**
 * Pure reading of a pod and its events: V1Pod → the outcome a scenario checks, events → a summary and a
 * timeline, both over time → an Observation. No API calls here (watch.ts does those), so every rule is
 * unit-tested against recorded objects. The scenario driver and the registry tools read pods through this
 * one set of rules.
 */
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { FAILURE_REASONS, FALLBACK_EVENT_REASON, type Observation, type TimelineEntry } from '../contract/index.ts';

/** Waiting reasons that are progress, not an outcome (podOutcome reports an empty reason as ContainerCreating). */
const PROGRESS_REASONS = new Set(['ContainerCreating', 'PodInitializing']);

/** Outcomes that are no first failure: not yet decided, or between a crash and its back-off. */
const TRANSIENT = new Set(['Pending', 'ContainerCreating', 'PodInitializing', 'Terminated']);

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
 * The outcome of a single-container pod, in the Observation's vocabulary: `Running`; else the container's
 * Waiting reason (ContainerCreating included: "not started yet" is what a hang expectation checks);
 * `Terminated` between a crash and its back-off; `Pending` before a container status exists.
 */
export function podOutcome(pod: V1Pod | undefined): { outcome: string; message?: string; restarts: number; imageID?: string; node?: string } {
  const cs = pod?.status?.containerStatuses?.[0];
  const base = { restarts: cs?.restartCount ?? 0, ...(cs?.imageID ? { imageID: cs.imageID } : {}), ...(pod?.spec?.nodeName ? { node: pod.spec.nodeName } : {}) };
  if (cs?.state?.running) return { ...base, outcome: 'Running' };
  if (cs?.state?.waiting) {
    const w = cs.state.waiting;
    return { ...base, outcome: w.reason || 'ContainerCreating', ...(w.message ? { message: w.message } : {}) };
  }
  if (cs?.state?.terminated) {
    const t = cs.state.terminated;
    return { ...base, outcome: 'Terminated', message: `${t.reason ?? ''} exit ${t.exitCode}`.trim() };
  }
  const sched = pod?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return { ...base, outcome: 'Pending', ...(sched?.message ? { message: sched.message } : {}) };
}

export interface PodState {
  /** `Running`, a Waiting reason, `Terminated`, `Pending` (nothing decisive yet), or `Failed`/`Succeeded`. */
  state: string;
  /** The state ends a `runPod` observation (Running, a FAILURE_REASONS reason, a pod phase that is final). */
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

/**
 * podOutcome with `runPod`'s stop rule: the first pull failure (FAILURE_REASONS) ends it, progress reasons
 * are `Pending`, a terminated container ends it only when it will not restart (restartPolicy Never), a
 * final pod phase without container status (e.g. evicted) ends it.
 */
export function podState(pod: V1Pod): PodState {
  const o = podOutcome(pod);
  const base = { restartCount: o.restarts, node: o.node, imageID: o.imageID, digest: digestOf(o.imageID) };
  switch (o.outcome) {
    case 'Running':
      return { ...base, state: 'Running', terminal: true, startedAt: asDate(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt) };
    case 'Terminated':
      return { ...base, state: 'Terminated', terminal: pod.spec?.restartPolicy === 'Never', message: o.message };
    case 'Pending': {
      const phase = pod.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') return { ...base, state: phase, terminal: true, message: pod.status?.message };
      return { ...base, state: 'Pending', terminal: false, message: o.message };
    }
  }
  if (PROGRESS_REASONS.has(o.outcome)) return { ...base, state: 'Pending', terminal: false, waitingReason: o.outcome };
  return { ...base, state: o.outcome, terminal: (FAILURE_REASONS as readonly string[]).includes(o.outcome), message: o.message, waitingReason: o.outcome };
}

/** When an event first happened by the API (firstTimestamp, else eventTime, else its creation). */
function firstTimeOf(e: CoreV1Event): Date | undefined {
  return asDate(e.firstTimestamp) ?? asDate(e.eventTime) ?? asDate(e.metadata?.creationTimestamp);
}

/** An event's first time in ms (0 when it has none): the order a listing is replayed in. */
export function evTime(e: CoreV1Event): number {
  return firstTimeOf(e)?.getTime() ?? 0;
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
    const first = firstTimeOf(e);
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

/** When the kubelet first reported a failure for the pod (its first Warning `Failed` event). */
export function firstFailureTime(events: readonly EventSummary[]): Date | undefined {
  return events.find((e) => e.type === 'Warning' && e.reason === 'Failed')?.first;
}

/**
 * Events of one pod as the watch sees them: each event object (by uid) with its latest count; every count
 * increase adds that many timeline entries at the time it was seen (seconds after creation, client clock —
 * millisecond precision, where API timestamps have only seconds).
 */
export class EventTracker {
  private readonly byUid = new Map<string, { event: CoreV1Event; count: number }>();
  readonly timeline: TimelineEntry[] = [];
  constructor(private readonly createdAtMs: number) {}

  /** Returns true when something new was seen. */
  see(e: CoreV1Event, nowMs: number): boolean {
    const uid = e.metadata?.uid ?? `${e.reason}/${e.metadata?.name}`;
    const count = e.series?.count ?? e.count ?? 1;
    const before = this.byUid.get(uid)?.count ?? 0;
    this.byUid.set(uid, { event: e, count: Math.max(count, before) });
    if (count <= before) return false;
    const at = Math.round(Math.max(0, nowMs - this.createdAtMs)) / 1000;
    for (let i = before; i < count; i++) this.timeline.push({ atSeconds: at, reason: e.reason ?? '' });
    return true;
  }

  /** In the order first seen, for the Observation. */
  get events(): { reason: string; message: string; count: number }[] {
    return [...this.byUid.values()].map(({ event, count }) => ({ reason: event.reason ?? '', message: event.message ?? '', count }));
  }

  /** With types and API times, oldest first (summarizeEvents of the latest object of each event). */
  get summaries(): EventSummary[] {
    return summarizeEvents([...this.byUid.values()].map((x) => x.event));
  }

  get fallbackEvent(): boolean {
    return [...this.byUid.values()].some((x) => x.event.reason === FALLBACK_EVENT_REASON);
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * What a watch has seen of one pod: its latest object, its events, and when (client clock) it first ran and
 * first failed — the Observation at any moment. The watch loop (watch.ts) feeds it; it decides nothing.
 */
export class PodHistory {
  pod: V1Pod | undefined;
  readonly events: EventTracker;
  private firstRunningMs: number | undefined;
  private firstFailureMs: number | undefined;

  constructor(readonly createdAtMs: number) {
    this.events = new EventTracker(createdAtMs);
  }

  seePod(p: V1Pod, nowMs: number): void {
    this.pod = p;
    const s = podOutcome(p);
    const ran = s.outcome === 'Running' || s.restarts > 0;
    if (ran && this.firstRunningMs === undefined) {
      // a crash that happened between two looks: the container's own start time (API, seconds) is the best we have
      const started = p.status?.containerStatuses?.[0]?.lastState?.terminated?.startedAt;
      this.firstRunningMs = s.outcome !== 'Running' && started ? new Date(started).getTime() : nowMs;
    }
    if (!ran && !TRANSIENT.has(s.outcome) && this.firstFailureMs === undefined) this.firstFailureMs = nowMs;
  }

  /** Returns true when something new was seen. */
  seeEvent(e: CoreV1Event, nowMs: number): boolean {
    return this.events.see(e, nowMs);
  }

  /**
   * The Observation so far. startupSeconds: creation → first Running when it runs (or ran: a crash loop),
   * else creation → the first failure outcome the watch saw.
   */
  observation(version?: string): Observation {
    const s = podOutcome(this.pod);
    const o: Observation = {
      outcome: s.outcome,
      fallbackEvent: this.events.fallbackEvent,
      events: this.events.events,
      restarts: s.restarts,
      timeline: [...this.events.timeline],
      ...(s.message ? { message: s.message } : {}),
      ...(s.imageID ? { imageID: s.imageID } : {}),
      ...(s.node ? { node: s.node } : {}),
      ...(version ? { version } : {}),
    };
    if (this.firstRunningMs !== undefined && (s.outcome === 'Running' || s.restarts > 0 || s.outcome === 'CrashLoopBackOff' || s.outcome === 'Terminated')) {
      o.startupSeconds = round3((this.firstRunningMs - this.createdAtMs) / 1000);
    } else if (this.firstFailureMs !== undefined) o.startupSeconds = round3((this.firstFailureMs - this.createdAtMs) / 1000);
    return o;
  }
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
