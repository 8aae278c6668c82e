/**
 * Pods a scenario or a registry tool creates and watches: one container, a given pull policy (a plain string,
 * since `CachedIfFailed` is not in the client's types and an API server without the gate must get the chance
 * to reject it), image and node. `runPod`/`observePod` read the one pod watcher (watch.ts) with the stop rule
 * the registry tools want (Running or the first pull failure) into a PodObservation. `createPod` and
 * `createPullSecret` serve the scenario driver too. Namespaces are per run and labelled so cleanup finds
 * them, also after a crash.
 */
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { cleanups } from '../lib/run-context.ts';
import { ownerIsGone, ownerLabels } from '../lib/owner.ts';
import type { TimelineEntry } from '../contract/index.ts';
import { firstFailureTime, podState, rejectionMessage, type EventSummary, type PodState } from './pod-status.ts';
import { watchPod, type WatchedPod } from './watch.ts';

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
  labels?: Record<string, string>,
): Promise<void> {
  const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  const config = JSON.stringify({ auths: { [registry]: { username: creds.username, password: creds.password, auth } } });
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: { name, ...(labels ? { labels } : {}) },
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
  /** The version the container printed (when it ran; a crashed container's previous run counts). */
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
  /** Wait for trailing events after the terminal state before the final re-list (default 1 s). */
  eventSettleMs?: number;
  /**
   * Decide yourself when to stop: called on every change the watches see (pod status or an event) with the
   * state so far; return true to stop. Replaces the default rule (podState's `terminal`: Running or the
   * first pull failure). On timeout the result has timedOut: true.
   */
  until?: (snapshot: PodSnapshot) => boolean;
}

export interface PodSnapshot {
  pod: V1Pod;
  state: PodState;
  /** The pod's events so far. */
  events: EventSummary[];
  /** Every event occurrence in watch order, counts unrolled, seconds after the create call. */
  timeline: TimelineEntry[];
  /** Seconds since the create call. */
  seconds: number;
}

/**
 * Creates the pod. The API's refusal of the object itself (HTTP 422 Invalid — e.g. CachedIfFailed with the
 * gate off — or 403 from admission) is an answer, `rejected` with its message; any other failure throws.
 */
export async function createPod(kc: KubeConfig, manifest: V1Pod): Promise<{ created: WatchedPod } | { rejected: string }> {
  const namespace = manifest.metadata!.namespace!;
  const name = manifest.metadata!.name!;
  const before = Date.now();
  try {
    await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body: manifest });
  } catch (err) {
    const rej = rejectionMessage(err);
    if (rej && (rej.code === 422 || rej.code === 403)) return { rejected: rej.message };
    throw err;
  }
  // The client's clock (ms) rather than creationTimestamp (s): startup figures are compared at 0.3 s.
  return { created: { namespace, name, createdAtMs: before } };
}

/** Creates the pod and watches it to a terminal state; see PodObservation. */
export async function runPod(kc: KubeConfig, input: PodInput, options: ObserveOptions = {}): Promise<PodObservation> {
  const t0 = Date.now();
  const r = await createPod(kc, podManifest(input));
  if ('rejected' in r) return { outcome: 'Rejected', message: r.rejected, events: [], timeline: [], timedOut: false, watchSeconds: (Date.now() - t0) / 1000 };
  return observePod(kc, input.namespace, input.name, { ...options, startedAt: r.created.createdAtMs });
}

/** Watches an existing pod (created at `startedAt`, default now) to a terminal state, with watch.ts. */
export async function observePod(
  kc: KubeConfig,
  namespace: string,
  name: string,
  options: ObserveOptions & { startedAt?: number } = {},
): Promise<PodObservation> {
  const t0 = options.startedAt ?? Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const until = options.until;
  const w = await watchPod(kc, { namespace, name, createdAtMs: t0 }, {
    timeoutMs,
    ...(options.eventSettleMs !== undefined ? { settleMs: options.eventSettleMs } : {}),
    until: ({ pod, events }) => {
      if (!pod) return false;
      const state = podState(pod);
      return until ? until({ pod, state, events: events.summaries, timeline: [...events.timeline], seconds: (Date.now() - t0) / 1000 }) : state.terminal;
    },
  });
  const pod = w.history.pod;
  const state = pod ? podState(pod) : undefined;
  const stopped = w.stoppedAtMs !== undefined;
  const createdAt = pod?.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp) : undefined;
  const events = w.history.events.summaries;
  const obs: PodObservation = {
    outcome: stopped ? state!.state : 'Timeout',
    message: stopped ? state?.message : `no terminal state within ${(timeoutMs / 1000).toFixed(0)} s; last: ${state?.state ?? 'no pod'}${state?.message ? ` (${state.message})` : ''}`,
    state,
    version: w.version,
    imageID: state?.imageID,
    digest: state?.digest,
    node: state?.node,
    events,
    timeline: [...w.history.events.timeline],
    timedOut: !stopped,
    watchSeconds: stopped ? (w.stoppedAtMs! - t0) / 1000 : undefined,
    createdAt,
  };
  if (stopped && createdAt) {
    const end = state?.state === 'Running' ? state.startedAt : firstFailureTime(events);
    if (end) obs.apiSeconds = (end.getTime() - createdAt.getTime()) / 1000;
  }
  return obs;
}

export async function deletePod(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}
