/**
 * One API feed per namespace for every pod watched in it: a pod watch and an event watch over the whole
 * namespace, and a poll every 2 s (list the pods, list their events) as the safety net for a watch that
 * stalls silently — fanned out by pod name to the pods that subscribed.
 *
 * Why shared: the API server and etcd share the node's two cores with the pods being measured. Per pod, the
 * same safety net costs two watches and two quorum reads every 2 s; thirty pods started at once (P3) were
 * sixty watches and thirty reads a second while the kubelet created their sandboxes. Shared, it is two
 * watches and one pair of lists every 2 s for the whole namespace.
 *
 * A feed runs while it has subscribers and stops with the last one. A subscriber is told about every pod
 * object and every event (of its pod) the feed sees, in the order seen; it keeps its own state (PodHistory).
 */
import { CoreV1Api, KubeConfig, Watch, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { evTime } from './pod-status.ts';

export interface FeedSubscriber {
  pod(p: V1Pod): void;
  event(e: CoreV1Event): void;
}

/** The safety-net poll's period; the watches deliver changes at once. */
export const POLL_INTERVAL_MS = 2_000;

const feeds = new WeakMap<KubeConfig, Map<string, NamespaceFeed>>();

/** The feed of `namespace` on the cluster `kc` points at (one per KubeConfig object and namespace). */
export function namespaceFeed(kc: KubeConfig, namespace: string): NamespaceFeed {
  let byNs = feeds.get(kc);
  if (!byNs) feeds.set(kc, (byNs = new Map()));
  let f = byNs.get(namespace);
  if (!f) byNs.set(namespace, (f = new NamespaceFeed(kc, namespace, () => byNs.delete(namespace))));
  return f;
}

/** A watch kept running by the feed's loop: (re)started on a tick while it is down, never in a tight loop. */
class KeptWatch {
  private controller: AbortController | undefined;
  private starting = false;
  constructor(
    private readonly watch: Watch,
    private readonly path: string,
    private readonly onObject: (o: unknown) => void,
  ) {}

  async ensure(): Promise<void> {
    if (this.controller || this.starting) return;
    this.starting = true;
    // The client may call `done` before its promise returns (a watch refused at once): that watch is down,
    // whatever controller comes back, and the next tick starts a new one.
    let ended = false;
    const c = await this.watch
      .watch(
        this.path,
        {},
        (phase, obj: unknown) => {
          if (phase === 'ADDED' || phase === 'MODIFIED') this.onObject(obj);
        },
        () => {
          ended = true;
          this.controller = undefined;
        },
      )
      .catch(() => undefined);
    this.starting = false;
    if (c && !ended) this.controller = c;
  }

  abort(): void {
    this.controller?.abort();
    this.controller = undefined;
  }
}

export class NamespaceFeed {
  private readonly subscribers = new Map<string, Set<FeedSubscriber>>();
  private readonly api: CoreV1Api;
  private readonly watches: KeptWatch[];
  private loop: Promise<void> | undefined;
  private wake: () => void = () => undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;

  constructor(
    kc: KubeConfig,
    readonly namespace: string,
    private readonly forget: () => void,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    const watch = new Watch(kc);
    this.watches = [
      new KeptWatch(watch, `/api/v1/namespaces/${namespace}/pods`, (o) => this.dispatchPod(o as V1Pod)),
      new KeptWatch(watch, `/api/v1/namespaces/${namespace}/events`, (o) => this.dispatchEvent(o as CoreV1Event)),
    ];
  }

  /** Subscribes to one pod's objects and events; the returned function unsubscribes. Polls at once. */
  subscribe(podName: string, sub: FeedSubscriber): () => void {
    let set = this.subscribers.get(podName);
    if (!set) this.subscribers.set(podName, (set = new Set()));
    set.add(sub);
    this.loop ??= this.run();
    void this.poll(); // the newcomer's current state now, not at the next tick
    return () => {
      set.delete(sub);
      if (!set.size) this.subscribers.delete(podName);
      if (!this.subscribers.size) this.wake();
    };
  }

  get subscriberCount(): number {
    let n = 0;
    for (const s of this.subscribers.values()) n += s.size;
    return n;
  }

  private async run(): Promise<void> {
    try {
      // bounded: a day of 2 s ticks; every subscriber's own deadline ends it far sooner
      for (let i = 0; this.subscribers.size && i < 43_200; i++) {
        for (const w of this.watches) await w.ensure();
        await this.poll();
        if (!this.subscribers.size) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_INTERVAL_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      for (const w of this.watches) w.abort();
      this.loop = undefined;
      // a subscriber that came while the loop was ending starts a new one
      if (this.subscribers.size) this.loop = this.run();
      else this.forget();
    }
  }

  /** Lists the namespace's pods and events once; calls made while one is in flight coalesce into one more. */
  poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      try {
        do {
          this.pollAgain = false;
          const [pods, events] = await Promise.all([
            this.api.listNamespacedPod({ namespace: this.namespace }).catch(() => undefined),
            this.api.listNamespacedEvent({ namespace: this.namespace, fieldSelector: 'involvedObject.kind=Pod' }).catch(() => undefined),
          ]);
          for (const p of pods?.items ?? []) this.dispatchPod(p);
          for (const e of (events?.items ?? []).sort((a, b) => evTime(a) - evTime(b))) this.dispatchEvent(e);
        } while (this.pollAgain && this.subscribers.size);
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private dispatchPod(p: V1Pod): void {
    for (const s of this.subscribers.get(p.metadata?.name ?? '') ?? []) s.pod(p);
  }

  private dispatchEvent(e: CoreV1Event): void {
    if (e.involvedObject?.kind && e.involvedObject.kind !== 'Pod') return;
    for (const s of this.subscribers.get(e.involvedObject?.name ?? '') ?? []) s.event(e);
  }
}
