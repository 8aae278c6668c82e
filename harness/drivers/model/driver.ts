/**
 * An in-process model of a patched cluster and a registry with fault modes, for the runner's tests and for
 * `cif run --simulate` (which checks scenario files and the report pipeline without Kubernetes, and marks its
 * results `driver: simulated`). It models the contract of the patch series (patches/README.md) — which faults
 * fall back, the deadline, the breaker that shortens a pod's wait and never skips the registry, KEP-2535
 * credentials, the gate — with the timings of containerd 1.6 (dial timeout 30 s, a hanging registry never
 * answers). It does not model the serial pull queue or the pull QPS limit. It is a model, not evidence: only
 * a real cluster run is.
 *
 * `bugs` switch single rules of the contract off, so tests can show a broken kubelet failing the matrix.
 * Time is virtual (clock.ts): observing a pod advances the clock to the moment the watch would stop.
 */
export { FakeClock } from './clock.ts';
import type { FaultMode, Observation, Policy, PullDecision, TimelineEntry } from '../../contract/index.ts';
import { FALLBACK_EVENT_REASON } from '../../contract/index.ts';
import { FakeClock } from './clock.ts';
import { faultAt, key, pullFrom, T, type Registry } from './registry.ts';
import type { ClusterNeeds, CreateResult, Driver, ImageRef, ObserveOptions, PodHandle, PodSpec, Session } from '../driver.ts';

export interface FakeBugs {
  /** Falls back on 401/403/404 too (the contract forbids it). */
  fallbackOnDenied?: boolean;
  /** Falls back silently: no PullFailedUsingCached event. */
  noFallbackEvent?: boolean;
  /** No deadline: a blackholed pull waits for containerd's 30 s dial timeout, a hang forever. */
  noDeadline?: boolean;
  /** The API server accepts CachedIfFailed with the gate off. */
  gateOffAccepts?: boolean;
}

export interface FakeOptions {
  clock: FakeClock;
  bugs?: FakeBugs;
  /** Give every session its own registry host (no breaker waits between sessions). Default: one shared host. */
  registryPerSession?: boolean;
  /** Fail this method once, to test error paths. */
  failOn?: 'pushImage' | 'setFault' | 'createPod';
}

interface NodeImage {
  version: string;
  /** Pulled by the kubelet with credentials (KEP-2535 records it). */
  withSecret: boolean;
  viaKubelet: boolean;
}


/** The pod's state from `at` (ms) on. */
interface Snapshot {
  at: number;
  outcome: string;
  version?: string;
  restarts: number;
  message?: string;
}

interface FakePod {
  spec: PodSpec;
  createdAt: number;
  snapshots: Snapshot[];
  events: { at: number; reason: string; message: string }[];
  /** The kubelet's decision for each pull with a cached copy, and when it was made (ms). */
  decisions: (PullDecision & { at: number })[];
}

export class FakeCluster {
  readonly nodes: string[];
  /** node → ref → history of what the node held (the model plays pods forward, so lookups are by time). */
  readonly images = new Map<string, Map<string, (NodeImage & { from: number; gone?: boolean })[]>>();
  /**
   * Breaker openings per registry host and repository; `pod` lets a deleted namespace take back the openings
   * it had not made yet. A successful pull from the host ends every opening of that host (`until`).
   */
  breaker: { host: string; repo: string; from: number; until: number; pod: string }[] = [];
  readonly pods = new Map<string, FakePod>();
  sessions = 0;
  failOn: FakeOptions['failOn'];

  constructor(
    readonly needs: ClusterNeeds,
    readonly opts: FakeOptions,
  ) {
    this.nodes = Array.from({ length: needs.workers }, (_, i) => `cif-worker${i === 0 ? '' : i + 1}`);
    for (const n of this.nodes) this.images.set(n, new Map());
    this.failOn = opts.failOn;
  }

  putImage(node: string, ref: string, entry: NodeImage & { from: number; gone?: boolean }): void {
    const m = this.images.get(node)!;
    const h = m.get(ref) ?? [];
    h.push(entry);
    h.sort((a, b) => a.from - b.from);
    m.set(ref, h);
  }

  imageAt(node: string, ref: string, t: number): NodeImage | undefined {
    const h = this.images.get(node)?.get(ref) ?? [];
    const e = [...h].reverse().find((x) => x.from <= t);
    return e && !e.gone ? e : undefined;
  }

  maybeFail(what: NonNullable<FakeOptions['failOn']>): void {
    if (this.failOn === what) {
      this.failOn = undefined;
      throw new Error(`fake ${what} failure`);
    }
  }
}


class FakeSession implements Session {
  readonly registryHost: string;
  private pullCount = 0;
  private readonly created: string[] = [];
  constructor(
    private readonly c: FakeCluster,
    private readonly reg: Registry,
    private readonly clock: FakeClock,
  ) {
    this.registryHost = reg.host;
  }

  async pushImage(image: ImageRef, version: string, options: { private: boolean }): Promise<void> {
    this.c.maybeFail('pushImage');
    this.reg.tags.set(key(image), version);
    if (options.private) this.reg.privateRepos.add(image.repo);
  }
  async deleteTag(image: ImageRef): Promise<void> {
    this.reg.tags.delete(key(image));
  }
  async cacheOnNode(node: string, image: ImageRef): Promise<void> {
    const v = this.reg.tags.get(key(image));
    if (!v || faultAt(this.reg, this.clock.now()).mode !== 'none') throw new Error(`crictl pull ${key(image)}: not pullable`);
    this.c.putImage(node, key(image), { version: v, withSecret: false, viaKubelet: false, from: this.clock.now() });
  }
  async uncacheOnNode(node: string, image: ImageRef): Promise<void> {
    this.c.putImage(node, key(image), { version: '', withSecret: false, viaKubelet: false, from: this.clock.now(), gone: true });
  }
  async setFault(mode: Exclude<FaultMode, 'none'>): Promise<void> {
    this.c.maybeFail('setFault');
    this.reg.faults.push({ at: this.clock.now(), mode });
  }
  async clearFault(): Promise<void> {
    this.reg.faults.push({ at: this.clock.now(), mode: 'none' });
  }

  async createPod(spec: PodSpec): Promise<CreateResult> {
    this.c.maybeFail('createPod');
    if (spec.policy === 'CachedIfFailed' && !this.c.needs.gate && !this.c.opts.bugs?.gateOffAccepts) {
      return { rejected: `Pod "${spec.name}" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: "CachedIfFailed": supported values: "Always", "IfNotPresent", "Never"` };
    }
    const now = this.clock.now();
    const pod: FakePod = { spec, createdAt: now, snapshots: [{ at: now, outcome: 'ContainerCreating', restarts: 0 }], events: [], decisions: [] };
    this.c.pods.set(`${spec.namespace}/${spec.name}`, pod);
    this.created.push(`${spec.namespace}/${spec.name}`);
    this.simulate(pod);
    return { created: { namespace: spec.namespace, name: spec.name, createdAtMs: now } };
  }

  /** May this pod use the cached copy without pulling, as far as KEP-2535 goes? */
  private mayUseCached(spec: PodSpec, img: NodeImage): boolean {
    const kep = this.c.needs.featureGates.KubeletEnsureSecretPulledImages === true;
    if (!kep) return true;
    const policy = this.c.needs.kubelet.imagePullCredentialsVerificationPolicy ?? 'NeverVerifyPreloadedImages';
    if (policy === 'NeverVerify') return true;
    if (!img.viaKubelet) return policy !== 'AlwaysVerify';
    return !img.withSecret || spec.pullSecret;
  }

  /** Plays the kubelet forward from the pod's creation: pulls, fallbacks, back-offs, restarts. All times in ms. */
  private simulate(pod: FakePod): void {
    const spec = pod.spec;
    const bugs = this.c.opts.bugs ?? {};
    if (!this.c.images.has(spec.node)) throw new Error(`no node ${spec.node}`);
    const k = key(spec.image);
    const deadline = this.c.needs.kubelet.imagePullFallbackTimeout * 1000;
    const window = this.c.needs.kubelet.imagePullFallbackCircuitBreakerWindow * 1000;
    const S = (sec: number) => sec * 1000;
    const ev = (at: number, reason: string, message = reason) => pod.events.push({ at, reason, message });

    /** One container start attempt at t: when it ran (and which version) or how it failed. */
    const attempt = (t: number): { ran: true; at: number; version: string } | { ran: false; at: number; reason: string; message: string } => {
      const cached = this.c.imageAt(spec.node, k, t);
      const usable = cached && this.mayUseCached(spec, cached) ? cached : undefined;
      const policy: Policy = spec.policy;
      if (policy === 'Never') {
        return cached ? { ran: true, at: t + S(T.start), version: cached.version } : { ran: false, at: t + S(0.2), reason: 'ErrImageNeverPull', message: 'image not present with pull policy of Never' };
      }
      if (policy === 'IfNotPresent' && usable) return { ran: true, at: t + S(T.start), version: usable.version };
      const open = this.c.breaker.some((b) => b.host === this.reg.host && b.repo === spec.image.repo && b.from <= t && t < b.until);
      ev(t, 'Pulling');
      let r = pullFrom(this.reg, spec, t, () => ++this.pullCount);
      // With a cached copy the pull gets the deadline, shortened while the breaker is open; it is always asked.
      const hasFallback = policy === 'CachedIfFailed' && usable !== undefined;
      const limit = !hasFallback || bugs.noDeadline ? 0 : open ? (deadline > 0 ? Math.min(deadline, S(T.breakerPullTimeout)) : S(T.breakerPullTimeout)) : deadline;
      if (limit > 0 && r.at > t + limit) r = { ok: false, at: t + limit, cls: 'deadline', error: `context deadline exceeded after ${limit / 1000}s` };
      if (hasFallback) {
        const decision = r.ok ? 'pulled' : r.at === Infinity ? undefined : r.cls === 'denied' && !bugs.fallbackOnDenied ? 'error' : 'fallback';
        const errorClass = r.ok ? '' : r.cls === 'deadline' ? (open ? 'CircuitOpen' : 'FallbackDeadline') : r.cls === 'denied' ? 'Unknown' : 'Unreachable';
        if (decision) pod.decisions.push({ at: r.at, decision, errorClass, durationSeconds: (r.at - t) / 1000, deadlineSeconds: limit / 1000, breakerOpen: open });
      }
      if (r.ok) {
        ev(r.at, 'Pulled');
        this.c.putImage(spec.node, k, { version: r.version, withSecret: spec.pullSecret, viaKubelet: true, from: r.at });
        for (const b of this.c.breaker) if (b.host === this.reg.host && b.from <= r.at && r.at < b.until) b.until = r.at;
        return { ran: true, at: r.at + S(T.start), version: r.version };
      }
      if (r.at === Infinity) return { ran: false, at: Infinity, reason: 'ContainerCreating', message: '' };
      if (r.connection && window > 0) {
        this.c.breaker.push({ host: this.reg.host, repo: spec.image.repo, from: r.at, until: r.at + window, pod: `${spec.namespace}/${spec.name}` });
      }
      const fallback = hasFallback && (r.cls !== 'denied' || bugs.fallbackOnDenied);
      if (fallback) {
        if (!bugs.noFallbackEvent) ev(r.at, FALLBACK_EVENT_REASON, `pull failed (${r.cls}): ${r.error}; using cached image ${usable.version}`);
        return { ran: true, at: r.at + S(T.start), version: usable.version };
      }
      ev(r.at, 'Failed', `Failed to pull image: ${r.error}`);
      return { ran: false, at: r.at, reason: 'ErrImagePull', message: r.error };
    };

    const horizon = pod.createdAt + S(900); // plenty for any scenario timeout
    let t = pod.createdAt;
    let restarts = 0;
    let backoff = S(T.backoff);
    for (let guard = 0; guard < 50 && t < horizon; guard++) {
      const a = attempt(t);
      if (a.at === Infinity) break; // hangs: stays ContainerCreating
      if (!a.ran) {
        pod.snapshots.push({ at: a.at, outcome: a.reason, message: a.message, restarts });
        if (a.reason === 'ErrImageNeverPull') break;
        pod.snapshots.push({ at: a.at + S(1), outcome: 'ImagePullBackOff', message: 'Back-off pulling image', restarts });
        t = a.at + backoff;
        backoff = Math.min(backoff * 2, S(300));
        continue;
      }
      ev(a.at - S(0.1), 'Created');
      ev(a.at, 'Started');
      pod.snapshots.push({ at: a.at, outcome: 'Running', version: a.version, restarts });
      if (spec.command !== 'crash') break;
      const exit = a.at + S(T.crashAfter);
      restarts++;
      pod.snapshots.push({ at: exit, outcome: 'CrashLoopBackOff', version: a.version, restarts });
      t = exit + S(T.backoff) * 2 ** (restarts - 1);
    }
    pod.events.sort((x, y) => x.at - y.at);
  }

  async observe(h: PodHandle, options: ObserveOptions): Promise<Observation> {
    const pod = this.c.pods.get(`${h.namespace}/${h.name}`);
    if (!pod) throw new Error(`no pod ${h.namespace}/${h.name}`);
    const start = this.clock.now();
    const end = start + options.timeoutMs;
    const times = [start, ...pod.snapshots.map((s) => s.at).filter((t) => t > start && t <= end)];
    for (const t of times) {
      await this.clock.sleepUntil(t);
      const o = this.observationAt(pod, t, false, start);
      if (options.until(o)) return o;
    }
    await this.clock.sleepUntil(end);
    return this.observationAt(pod, end, true, start);
  }

  private observationAt(pod: FakePod, t: number, timedOut: boolean, start: number): Observation {
    const cur = [...pod.snapshots].reverse().find((s) => s.at <= t) ?? pod.snapshots[0]!;
    // the real adapter re-lists events after a ≈1 s settle; the model shows what that would see
    const seen = pod.events.filter((e) => e.at <= t + 1000);
    const counts = new Map<string, { reason: string; message: string; count: number }>();
    for (const e of seen) {
      const c = counts.get(e.reason);
      if (c) c.count++;
      else counts.set(e.reason, { reason: e.reason, message: e.message, count: 1 });
    }
    // creation → Running when it runs, else creation → the first failure (as driver.ts asks of adapters)
    const firstSettled =
      cur.outcome === 'Running' || cur.outcome === 'CrashLoopBackOff'
        ? pod.snapshots.find((s) => s.outcome === 'Running')
        : pod.snapshots.find((s) => s.outcome !== 'ContainerCreating');
    const timeline: TimelineEntry[] = seen.map((e) => ({ atSeconds: (e.at - pod.createdAt) / 1000, reason: e.reason }));
    return {
      outcome: cur.outcome,
      ...(cur.version ? { version: cur.version } : {}),
      fallbackEvent: counts.has(FALLBACK_EVENT_REASON),
      ...(firstSettled && firstSettled.at <= t ? { startupSeconds: Math.round(firstSettled.at - pod.createdAt) / 1000 } : {}),
      ...(cur.message ? { message: cur.message } : {}),
      node: pod.spec.node,
      events: [...counts.values()],
      restarts: cur.restarts,
      timeline,
      waitedSeconds: Math.round(t - start) / 1000,
      ...(timedOut ? { timedOut: true } : {}),
    };
  }

  async pullDecisions(h: PodHandle): Promise<PullDecision[]> {
    const pod = this.c.pods.get(`${h.namespace}/${h.name}`);
    const now = this.clock.now();
    return (pod?.decisions ?? []).filter((d) => d.at <= now).map(({ at: _at, ...d }) => d);
  }

  async deletePod(h: PodHandle): Promise<void> {
    this.c.pods.delete(`${h.namespace}/${h.name}`);
  }
  async close(): Promise<void> {
    this.reg.faults.push({ at: this.clock.now(), mode: 'none' });
    // the model plays pods forward eagerly; a pod deleted now never makes its later pulls
    const now = this.clock.now();
    const mine = new Set(this.created);
    this.c.breaker = this.c.breaker.filter((b) => !(mine.has(b.pod) && b.from > now));
    for (const p of mine) this.c.pods.delete(p);
  }
}

export class FakeDriver implements Driver {
  readonly nodes: readonly string[];
  private readonly shared: Registry;
  constructor(
    readonly cluster: FakeCluster,
    private readonly clock: FakeClock,
  ) {
    this.nodes = cluster.nodes;
    this.shared = { host: 'registry.cif:5000', tags: new Map(), privateRepos: new Set(), faults: [] };
  }
  get sessionsIsolated(): boolean {
    return this.cluster.opts.registryPerSession ?? false;
  }
  async openSession(): Promise<Session> {
    const n = ++this.cluster.sessions;
    const reg = this.cluster.opts.registryPerSession
      ? { host: `registry-${n}.cif:5000`, tags: new Map(), privateRepos: new Set<string>(), faults: [] }
      : this.shared;
    return new FakeSession(this.cluster, reg, this.clock);
  }
  async close(): Promise<void> {}
}

/** A DriverFactory over the model: one fake cluster per needs group. */
export function fakeDriverFactory(opts: FakeOptions): { factory: (needs: ClusterNeeds) => Promise<Driver>; clusters: FakeCluster[] } {
  const clusters: FakeCluster[] = [];
  return {
    clusters,
    factory: async (needs) => {
      const c = new FakeCluster(needs, opts);
      clusters.push(c);
      return new FakeDriver(c, opts.clock);
    },
  };
}
