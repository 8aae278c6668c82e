/**
 * Pods a scenario creates and watches: one container, a given pull policy (a plain string, since
 * `CachedIfFailed` is not in the client's types and an API server without the gate must get the chance to
 * reject it), image and node. Observed with a client-node Watch (plus a slow poll in case a watch silently
 * stalls) until a terminal state, bounded by a timeout. Namespaces are per run and labelled so cleanup finds
 * them, also after a crash.
 */
import { CoreV1Api, KubeConfig, Watch, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { cleanups } from '../lib/run-context.ts';
import { parseMarker } from '../images/test-images.ts';
import { ownerIsGone, ownerLabels } from '../registry/cleanup.ts';
import {
  FAILURE_REASONS,
  firstFailureTime,
  podState,
  rejectionMessage,
  summarizeEvents,
  timelineEntries,
  type EventSummary,
  type PodState,
  type TimelineEntry,
} from './pod-status.ts';

export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

/** A namespace for this run (label values must be valid: the hostname is sanitised). */
export async function createRunNamespace(kc: KubeConfig, runId: string, suffix = ''): Promise<string> {
  const api = kc.makeApiClient(CoreV1Api);
  const name = `cif-${runId}${suffix ? `-${suffix}` : ''}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');
  const labels = Object.fromEntries(
    Object.entries(ownerLabels(runId)).map(([k, v]) => [k, v.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63)]),
  );
  const creating = api.createNamespace({ body: { metadata: { name, labels } } });
  // Registered before the create returns, so a SIGINT during it still deletes the namespace.
  cleanups.add(`namespace ${name}`, async () => {
    await creating.catch(() => undefined);
    await deleteNamespace(kc, name);
  });
  await creating;
  return name;
}

export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  try {
    await api.deleteNamespace({ name, gracePeriodSeconds: 0, propagationPolicy: 'Background' });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}

/** Deletes every namespace labelled with this run id. */
export async function deleteRunNamespaces(kc: KubeConfig, runId: string): Promise<string[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const list = await api.listNamespace({ labelSelector: `cif.run=${runId}` });
  const names = list.items.map((n) => n.metadata!.name!);
  for (const n of names) await deleteNamespace(kc, n);
  return names;
}

/**
 * Deletes namespaces left by runs whose process is gone (SIGKILL: no cleanup ran). Namespaces of live runs
 * and namespaces without our process labels are left alone. Returns the names it deleted.
 */
export async function sweepDeadNamespaces(kc: KubeConfig): Promise<string[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const list = await api.listNamespace({ labelSelector: 'cif.owner=cached-if-failed' });
  const dead = list.items.filter((n) => n.status?.phase !== 'Terminating' && ownerIsGone(n.metadata?.labels ?? {}));
  for (const n of dead) await deleteNamespace(kc, n.metadata!.name!);
  return dead.map((n) => n.metadata!.name!);
}

/** A kubernetes.io/dockerconfigjson secret for one registry, for imagePullSecrets. */
export async function createPullSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
  registry: string,
  creds: { username: string; password: string },
): Promise<void> {
  const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  const config = JSON.stringify({ auths: { [registry]: { username: creds.username, password: creds.password, auth } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: { name },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(config).toString('base64') },
    },
  });
}

export interface PodInput {
  runId: string;
  namespace: string;
  name: string;
  image: string;
  /** Always | IfNotPresent | Never | CachedIfFailed — any string, passed through. */
  policy: string;
  /** Pin to a node by name (skips the scheduler) … */
  nodeName?: string;
  /** … or select one. */
  nodeSelector?: Record<string, string>;
  imagePullSecrets?: string[];
  labels?: Record<string, string>;
  /** Override the image's entrypoint (e.g. a crash loop: ['/bin/sh', '-c', 'echo …; exit 1']). */
  command?: string[];
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
}

/** The pod object (pure). Grace period 0 so deleting is quick; no service account token (not needed). */
export function podManifest(p: PodInput): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: { 'cif.run': p.runId, 'cif.owner': 'cached-if-failed', ...p.labels },
    },
    spec: {
      nodeName: p.nodeName,
      nodeSelector: p.nodeSelector,
      restartPolicy: p.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{ operator: 'Exists' }], // run on control-plane nodes too when asked to
      imagePullSecrets: p.imagePullSecrets?.map((name) => ({ name })),
      containers: [{ name: 'main', image: p.image, imagePullPolicy: p.policy, command: p.command }],
    },
  };
}

export interface PodObservation {
  /** `Running`, the Waiting reason, `Rejected`, `Terminated`, or `Timeout`. */
  outcome: string;
  message?: string;
  state?: PodState;
  /** The version the container printed (Running only). */
  version?: string;
  imageID?: string;
  digest?: string;
  node?: string;
  events: EventSummary[];
  /** Every event occurrence seen by the watch, in order, counts unrolled (seconds after the create call). */
  timeline: TimelineEntry[];
  /** The timeout ended the observation (outcome `Timeout`; `state` is the last state seen). */
  timedOut: boolean;
  /** Seconds from the create call to the terminal state, by this process's clock (ms precision). */
  watchSeconds?: number;
  /**
   * API time (second precision): creationTimestamp → the container's startedAt when Running, → the first
   * kubelet `Failed` event otherwise.
   */
  apiSeconds?: number;
  createdAt?: Date;
}

export interface ObserveOptions {
  /** Give up after this long (outcome `Timeout`). Default 120 s. */
  timeoutMs?: number;
  /** Waiting reasons that end the observation (default FAILURE_REASONS: the first pull failure). */
  stopOn?: readonly string[];
  /** After the terminal state, wait up to this long for an event with this reason (events lag a little). */
  awaitEventReason?: string;
  /** Settle time for events after the terminal state (default 1500 ms). */
  eventSettleMs?: number;
  /** Read the marker from the logs (default true). */
  readVersion?: boolean;
  /**
   * Decide yourself when to stop: called on every change the watches see (pod status or an event) with the
   * state so far; return true to stop. Replaces the stopOn rule. On timeout the result has timedOut: true.
   */
  until?: (snapshot: PodSnapshot) => boolean;
}

export interface PodSnapshot {
  pod: V1Pod;
  state: PodState;
  /** The pod's events so far (from the event watch). */
  events: EventSummary[];
  /** Every event occurrence in watch order, counts unrolled, seconds after the create call. */
  timeline: TimelineEntry[];
  /** Seconds since the create call. */
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates the pod and watches it to a terminal state; see PodObservation. */
export async function runPod(kc: KubeConfig, input: PodInput, options: ObserveOptions = {}): Promise<PodObservation> {
  const api = kc.makeApiClient(CoreV1Api);
  const t0 = Date.now();
  let created: V1Pod;
  try {
    created = await api.createNamespacedPod({ namespace: input.namespace, body: podManifest(input) });
  } catch (err) {
    const rej = rejectionMessage(err);
    if (rej && (rej.code === 422 || rej.code === 403 || rej.code === 400)) {
      return { outcome: 'Rejected', message: rej.message, events: [], timeline: [], timedOut: false, watchSeconds: (Date.now() - t0) / 1000 };
    }
    throw err;
  }
  return observePod(kc, input.namespace, input.name, { ...options, startedAt: t0, resourceVersion: created.metadata?.resourceVersion });
}

/** Watches an existing pod to a terminal state. */
export async function observePod(
  kc: KubeConfig,
  namespace: string,
  name: string,
  options: ObserveOptions & { startedAt?: number; resourceVersion?: string } = {},
): Promise<PodObservation> {
  const api = kc.makeApiClient(CoreV1Api);
  const t0 = options.startedAt ?? Date.now();
  const deadline = t0 + (options.timeoutMs ?? 120_000);
  const stopOn = options.stopOn ?? FAILURE_REASONS;
  let last: V1Pod | undefined;
  let terminal: { pod: V1Pod; state: PodState; at: number } | undefined;
  let wake: () => void = () => undefined;
  const eventsByUid = new Map<string, CoreV1Event>();
  const seenCounts = new Map<string, number>();
  const timeline: TimelineEntry[] = [];
  const currentEvents = () => summarizeEvents([...eventsByUid.values()]);

  const consider = (pod: V1Pod | undefined) => {
    if (pod) last = pod;
    if (!last || terminal) return;
    const state = podState(last, stopOn);
    const done = options.until
      ? options.until({ pod: last, state, events: currentEvents(), timeline: [...timeline], seconds: (Date.now() - t0) / 1000 })
      : state.terminal;
    if (done) {
      terminal = { pod: last, state, at: Date.now() };
      wake();
    }
  };
  const considerEvent = (e: CoreV1Event | undefined) => {
    const uid = e?.metadata?.uid;
    if (!e || !uid) return;
    eventsByUid.set(uid, e);
    timeline.push(...timelineEntries(seenCounts, e, (Date.now() - t0) / 1000));
    consider(undefined);
  };

  const watch = new Watch(kc);
  type Stream = { path: string; selector: string; rv?: string; controller?: AbortController; onObject: (o: never) => void };
  const streams: Stream[] = [
    { path: `/api/v1/namespaces/${namespace}/pods`, selector: `metadata.name=${name}`, rv: options.resourceVersion, onObject: (o: V1Pod) => consider(o) },
  ];
  if (options.until) {
    streams.push({
      path: `/api/v1/namespaces/${namespace}/events`,
      selector: `involvedObject.kind=Pod,involvedObject.name=${name}`,
      onObject: (o: CoreV1Event) => considerEvent(o),
    });
  }
  const startWatch = async (st: Stream) => {
    st.controller = await watch.watch(
      st.path,
      { fieldSelector: st.selector, ...(st.rv ? { resourceVersion: st.rv } : {}), allowWatchBookmarks: true },
      (phase, obj: { metadata?: { resourceVersion?: string } }) => {
        if (obj?.metadata?.resourceVersion) st.rv = obj.metadata.resourceVersion;
        if (phase === 'ADDED' || phase === 'MODIFIED') st.onObject(obj as never);
      },
      (err: unknown) => {
        // Restarted by the loop on its next tick (≤ 2 s), not at once: a failing watch must not spin.
        st.controller = undefined;
        if (err) st.rv = undefined; // e.g. 410 Gone: start again from now
      },
    );
  };

  try {
    for (let polls = 0; !terminal && Date.now() < deadline && polls < 10_000; polls++) {
      for (const st of streams) if (!st.controller) await startWatch(st).catch(() => undefined);
      // The polls are a safety net (a stalled watch), not the main signal: every 2 s at most.
      if (options.until) {
        const listed = await api
          .listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` })
          .catch(() => undefined);
        for (const e of listed?.items ?? []) considerEvent(e);
      }
      consider(await api.readNamespacedPod({ name, namespace }).catch(() => undefined));
      if (terminal) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(2_000, Math.max(0, deadline - Date.now())));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    for (const st of streams) st.controller?.abort();
  }

  const pod = terminal?.pod ?? last;
  const state = terminal?.state ?? (pod ? podState(pod, stopOn) : undefined);
  const createdAt = pod?.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp) : undefined;
  const obs: PodObservation = {
    outcome: terminal ? terminal.state.state : 'Timeout',
    message: terminal ? state?.message : `no terminal state within ${((deadline - t0) / 1000).toFixed(0)} s; last: ${state?.state ?? 'no pod'}${state?.message ? ` (${state.message})` : ''}`,
    state,
    imageID: state?.imageID,
    digest: state?.digest,
    node: state?.node,
    events: [],
    timeline,
    timedOut: !terminal,
    watchSeconds: terminal ? (terminal.at - t0) / 1000 : undefined,
    createdAt,
  };
  if (terminal?.state.state === 'Running' && createdAt && state?.startedAt) {
    obs.apiSeconds = (state.startedAt.getTime() - createdAt.getTime()) / 1000;
  }
  if ((state?.state === 'Running' || (state?.restartCount ?? 0) > 0) && options.readVersion !== false) {
    obs.version = await readVersion(kc, namespace, name);
  }
  obs.events = await collectEvents(kc, namespace, name, { settleMs: options.eventSettleMs ?? 1_500, awaitReason: options.awaitEventReason });
  if (terminal && terminal.state.state !== 'Running' && createdAt) {
    const failedAt = firstFailureTime(obs.events);
    if (failedAt) obs.apiSeconds = (failedAt.getTime() - createdAt.getTime()) / 1000;
  }
  return obs;
}

/** The version marker from the container's log (polls briefly: the log may trail the Running state). */
export async function readVersion(kc: KubeConfig, namespace: string, name: string, timeoutMs = 10_000): Promise<string | undefined> {
  const api = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100 && Date.now() < deadline; i++) {
    const log = await api.readNamespacedPodLog({ name, namespace, container: 'main' }).catch(() => '');
    const v = parseMarker(String(log));
    if (v) return v;
    await sleep(250);
  }
  return undefined;
}

/**
 * The pod's events. Events are recorded asynchronously, so this waits `settleMs` (or until `awaitReason`
 * shows up, within settleMs + 5 s) before the final read.
 */
export async function collectEvents(
  kc: KubeConfig,
  namespace: string,
  name: string,
  o: { settleMs?: number; awaitReason?: string } = {},
): Promise<EventSummary[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const read = async () =>
    summarizeEvents(
      (await api.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` })).items,
    );
  const settle = o.settleMs ?? 1_500;
  if (o.awaitReason) {
    const deadline = Date.now() + settle + 5_000;
    for (let i = 0; i < 100 && Date.now() < deadline; i++) {
      const ev = await read();
      if (ev.some((e) => e.reason === o.awaitReason)) return ev;
      await sleep(250);
    }
    return read();
  }
  await sleep(settle);
  return read();
}

export async function deletePod(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}
