/**
 * The one pod watcher: watches a pod and its events until the caller says stop or the timeout runs out.
 * The namespace's feed (feed.ts: a pod watch and an event watch over the namespace, a 2 s poll as the safety
 * net for a watch that stalls silently, shared by every pod watched there) delivers them. What it sees goes
 * into a PodHistory (pod-status.ts, pure); after the stop it waits 1 s for trailing events and re-lists this
 * pod's once, then reads the version marker from the log.
 *
 * Two readings of the same watch: `observePodUntil` (the scenario driver's Session.observe → the report's
 * Observation) and `observePod`/`runPod` in pods.ts (the registry tools → PodObservation).
 */
import { CoreV1Api, KubeConfig, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { namespaceFeed } from './feed.ts';
import { parseMarker } from '../contract/index.ts';
import type { Observation } from '../contract/index.ts';
import { PodHistory, evTime, podOutcome } from './pod-status.ts';

/** A created pod: where it is, and when it was created (client clock, ms: the zero of every timing). */
export interface WatchedPod {
  namespace: string;
  name: string;
  createdAtMs: number;
}

export interface WatchOptions {
  /** Stop watching after this long (from the start of the watch); the result then has `timedOut`. */
  timeoutMs: number;
  /** Called with what was seen so far on every change (pod status or a new event occurrence); true stops. */
  until: (history: PodHistory) => boolean;
  /** How long to wait for trailing events after the stop before the final re-list (default 1 s). */
  settleMs?: number;
}

export interface WatchResult {
  history: PodHistory;
  timedOut: boolean;
  /** When `until` said stop (client clock, ms); undefined when the timeout ended it. */
  stoppedAtMs?: number;
  /** The marker the container printed, when it ran. */
  version?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function watchPod(kc: KubeConfig, pod: WatchedPod, options: WatchOptions): Promise<WatchResult> {
  const api = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + options.timeoutMs;
  const history = new PodHistory(pod.createdAtMs);
  let stoppedAtMs: number | undefined;
  let wake: () => void = () => undefined;

  const check = () => {
    if (stoppedAtMs === undefined && options.until(history)) {
      stoppedAtMs = Date.now();
      wake();
    }
  };
  const considerPod = (p: V1Pod | undefined) => {
    if (!p) return;
    history.seePod(p, Date.now());
    check();
  };
  const considerEvent = (e: CoreV1Event | undefined) => {
    if (!e || e.involvedObject?.name !== pod.name) return;
    if (history.seeEvent(e, Date.now())) check();
  };
  const listEvents = async () => {
    const list = await api.listNamespacedEvent({ namespace: pod.namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${pod.name}` });
    for (const e of list.items.sort((a, b) => evTime(a) - evTime(b))) considerEvent(e);
  };

  // The namespace's shared feed (feed.ts) delivers this pod's objects and events: its watches at once, its
  // 2 s poll behind a watch that stalls; subscribing polls at once, so the current state comes first.
  const unsubscribe = namespaceFeed(kc, pod.namespace).subscribe(pod.name, { pod: considerPod, event: considerEvent });
  let timedOut = false;
  try {
    if (stoppedAtMs === undefined) {
      timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
    }
  } finally {
    unsubscribe();
  }
  // Events trail the status (the kubelet records PullFailedUsingCached just before Running is reported):
  // settle, then re-list once.
  await sleep(options.settleMs ?? 1_000);
  await listEvents().catch(() => undefined);
  const s = podOutcome(history.pod);
  const version = s.outcome === 'Running' || s.restarts > 0 || s.outcome === 'CrashLoopBackOff' ? await readVersion(api, pod, s.outcome === 'Running') : undefined;
  return { history, timedOut, ...(stoppedAtMs !== undefined ? { stoppedAtMs } : {}), ...(version ? { version } : {}) };
}

/** The marker from the container's log; for a crashed container, from its previous run. */
async function readVersion(api: CoreV1Api, pod: WatchedPod, running: boolean): Promise<string | undefined> {
  for (let i = 0; i < 20; i++) {
    for (const previous of running ? [false] : [false, true]) {
      const log = await api.readNamespacedPodLog({ name: pod.name, namespace: pod.namespace, container: 'main', previous }).catch(() => '');
      const v = parseMarker(String(log));
      if (v) return v;
    }
    await sleep(250);
  }
  return undefined;
}

/**
 * The scenario driver's Session.observe (see its contract in scenario/driver.ts): `until` judges the
 * Observation so far; the result is the Observation after the settle, with `timedOut`/`waitedSeconds` when
 * the timeout ended it.
 */
export async function observePodUntil(
  kc: KubeConfig,
  pod: WatchedPod,
  options: { timeoutMs: number; until: (observation: Observation) => boolean },
): Promise<Observation> {
  const w = await watchPod(kc, pod, { timeoutMs: options.timeoutMs, until: (h) => options.until(h.observation()) });
  const o = w.history.observation(w.version);
  if (w.timedOut) {
    o.timedOut = true;
    o.waitedSeconds = Math.round(options.timeoutMs) / 1000;
  }
  return o;
}
