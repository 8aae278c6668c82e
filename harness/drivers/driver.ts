/**
 * The Driver: everything the runner needs from a cluster and a registry, and nothing more. The runner is the
 * only place that sequences steps; a Driver only does one thing per call and reports what it saw.
 *
 * Two implementations:
 *  - the real one (an adapter over harness/cluster, harness/registry, harness/images/test-images and
 *    harness/observe/pods, composed at merge time — see `DriverFactory`);
 *  - `fake-driver.ts`, an in-process model of the contract for tests and `cif run --simulate`.
 *
 * Lifetimes:
 *   DriverFactory(needs)  → one Driver per distinct set of cluster needs (a cluster, reused when compatible)
 *   Driver.openSession()  → one Session per "fault domain": a scenario, or one fault group of a matrix. A
 *                           session owns a registry (its fault mode is the session's), the namespaces its pods
 *                           use, and the repositories it pushed; `close()` removes them.
 *
 * Names the runner chooses (the adapter maps them, it never invents its own):
 *   - node: a worker node name taken from `Driver.nodes` (scenario `worker-1` = nodes[0]);
 *   - image: `{repo, tag}` where repo is unique per scenario cell (e.g. `fault-matrix/always-hang-cached/app`);
 *     the adapter prefixes its registry host (`<host>/<repo>:<tag>`) when it makes pod specs and pulls;
 *   - namespace: unique per run and cell (DNS-1123 label); the adapter creates it on first use, labelled
 *     with the run labels, and deletes it in `Session.close()`.
 */
import type { FaultMode, Observation, Policy, PullDecision } from '../contract/index.ts';

/** What a scenario needs from its cluster. Scenarios with equal needs share a Driver (and so a cluster). */
export interface ClusterNeeds {
  /** Worker nodes (besides the control plane). A cluster with more workers is compatible. */
  workers: number;
  /** Feature gate ImagePullPolicyCachedIfFailed on kube-apiserver and kubelet. */
  gate: boolean;
  /** Further feature gates, e.g. { KubeletEnsureSecretPulledImages: true } (KEP-2535). */
  featureGates: Record<string, boolean>;
  kubelet: {
    /** imagePullFallbackTimeout, seconds (0 = no deadline). */
    imagePullFallbackTimeout: number;
    /** imagePullFallbackCircuitBreakerWindow, seconds (0 = off). */
    imagePullFallbackCircuitBreakerWindow: number;
    /** serializeImagePulls; scenarios default to the kubelet's own default, true (one pull at a time). */
    serializeImagePulls: boolean;
    /**
     * registryPullQPS: the kubelet's own pull rate limit (default 5/s, burst 10), which fails pulls beyond
     * the burst before they reach the registry, whatever the policy. 0 = unlimited (a burst benchmark).
     */
    registryPullQPS?: number;
    /** KEP-2535 imagePullCredentialsVerificationPolicy (only meaningful with KubeletEnsureSecretPulledImages). */
    imagePullCredentialsVerificationPolicy?:
      | 'NeverVerify'
      | 'NeverVerifyPreloadedImages'
      | 'NeverVerifyAllowlistedImages'
      | 'AlwaysVerify';
  };
}

export interface ImageRef {
  repo: string;
  tag: string;
}

export interface PodSpec {
  namespace: string;
  name: string;
  /** A name from Driver.nodes; the adapter pins the pod there (spec.nodeName or a hostname node selector). */
  node: string;
  image: ImageRef;
  policy: Policy;
  /** Attach imagePullSecrets holding the session registry's credentials (for private repositories). */
  pullSecret: boolean;
  /**
   * `serve`: print the image's version marker, then stay up. `crash`: print it, exit 1 (a crash loop).
   * The test images decide how; the marker is what `Observation.version` reports.
   */
  command: 'serve' | 'crash';
  labels: Record<string, string>;
}

export interface PodHandle {
  namespace: string;
  name: string;
  /** When the API server accepted it (ms since the epoch, from metadata.creationTimestamp or the client). */
  createdAtMs: number;
}

/**
 * The API server either accepts the pod or refuses it: `rejected` carries its message for a refusal of the
 * object itself (HTTP 422 Invalid — e.g. the gate-off validation error — or a 403 from admission). Any other
 * failure (connection, 5xx, timeouts) throws: it is a broken run, not an observation.
 */
export type CreateResult = { created: PodHandle } | { rejected: string };

export interface ObserveOptions {
  /** Stop watching after this long; return the state then, with `timedOut: true`. */
  timeoutMs: number;
  /**
   * Called with the observation so far on every change the watch sees (pod status or a new event). Return
   * true to stop and return it. The observation's `events` / `fallbackEvent` / `timeline` must include the
   * events recorded so far; before returning, re-list the pod's events once after a short settle (≈1 s) —
   * the kubelet records PullFailedUsingCached a moment before the status that reports Running.
   */
  until: (observation: Observation) => boolean;
}

export interface Session {
  /**
   * The registry host this session's pulls go to. The kubelet's fallback circuit breaker is keyed by host:
   * sessions that share a host share breaker state, and the runner waits the breaker window out between
   * them when it must (see runner.ts). An adapter that gives each session its own host avoids those waits.
   */
  readonly registryHost: string;
  /** Build (or reuse) the test image of `version` and push it to repo:tag, moving the tag if it existed. */
  pushImage(image: ImageRef, version: string, options: { private: boolean }): Promise<void>;
  /** Remove the tag from the registry (later pulls of it get 404 / manifest unknown). */
  deleteTag(image: ImageRef): Promise<void>;
  /** Pull the image onto the node through its container runtime (crictl pull; credentials when private). */
  cacheOnNode(node: string, image: ImageRef): Promise<void>;
  /** Remove the image from the node's runtime (crictl rmi). No error when it was not there. */
  uncacheOnNode(node: string, image: ImageRef): Promise<void>;
  /** Switch this session's registry to the fault mode; returns once it is in effect as seen from the nodes. */
  setFault(mode: Exclude<FaultMode, 'none'>): Promise<void>;
  /** Back to a healthy registry (closing any connection a `hang` is holding). */
  clearFault(): Promise<void>;
  createPod(spec: PodSpec): Promise<CreateResult>;
  /**
   * Watch the pod (client-node Watch) until `until` says stop or the timeout runs out. The Observation:
   *  - outcome: `Running`, else the container's Waiting reason (ErrImagePull, ImagePullBackOff,
   *    ContainerCreating, CrashLoopBackOff …); `Pending` before a container status exists;
   *  - version: the marker the container printed (its log), when it ran;
   *  - startupSeconds: creation → Running when the outcome is Running (or a crash loop that ran), else
   *    creation → the first failure reason; from API timestamps where they exist;
   *  - events (reason, message, count), fallbackEvent (a PullFailedUsingCached event exists), restarts;
   *  - timeline: every event occurrence in watch order, seconds after creation, counts unrolled (an
   *    aggregated event whose count went 1→3 contributes three entries) — `restartPullWithin` reads it;
   *  - timedOut / waitedSeconds when the timeout ended the watch.
   */
  observe(pod: PodHandle, options: ObserveOptions): Promise<Observation>;
  /**
   * The kubelet's CachedIfFailed pull decisions for this pod so far, in order, from the kubelet on `node` (its
   * own clock: what the fallback deadline bounds, without watch or API-timestamp delays). Empty when the
   * kubelet made none (another policy, or no cached copy).
   */
  pullDecisions(pod: PodHandle, node: string): Promise<PullDecision[]>;
  /** Delete the pod and wait until it is gone (bounded). */
  deletePod(pod: PodHandle): Promise<void>;
  /** Clear the fault, delete the session's namespaces and repositories. Idempotent. */
  close(): Promise<void>;
}

export interface Driver {
  /** Worker node names, in a stable order: scenario `worker-1` is nodes[0]. */
  readonly nodes: readonly string[];
  /**
   * Every session gets a registry of its own (host, tags, fault mode), so sessions never see each other's
   * faults or breaker state and the runner may run scenarios side by side (runner.ts `waves`).
   */
  readonly sessionsIsolated: boolean;
  openSession(options: { id: string; labels: Record<string, string> }): Promise<Session>;
  /** Release the driver (the cluster may stay up for reuse). */
  close(): Promise<void>;
}

export interface DriverContext {
  runId: string;
  labels: Record<string, string>;
  signal?: AbortSignal;
}

/** Makes (or reuses) a cluster that satisfies `needs` and returns a Driver over it and the registry. */
export type DriverFactory = (needs: ClusterNeeds, context: DriverContext) => Promise<Driver>;

/** Time, injectable so tests of the runner never sleep. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A stable key for grouping scenarios by cluster needs. */
export function needsKey(needs: ClusterNeeds): string {
  const gates = Object.entries(needs.featureGates).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([needs.workers, needs.gate, gates, needs.kubelet]);
}

/** One line a human can read: `2 workers, gate on, deadline 10s, breaker 30s`. */
export function describeNeeds(needs: ClusterNeeds): string {
  const parts = [
    `${needs.workers} worker${needs.workers === 1 ? '' : 's'}`,
    `gate ${needs.gate ? 'on' : 'off'}`,
    `deadline ${needs.kubelet.imagePullFallbackTimeout}s`,
    `breaker ${needs.kubelet.imagePullFallbackCircuitBreakerWindow}s`,
  ];
  // the kubelet's defaults go unsaid; a cluster that differs names the variant
  if (!needs.kubelet.serializeImagePulls) parts.push('parallel pulls');
  if (needs.kubelet.registryPullQPS !== undefined) parts.push(`registryPullQPS ${needs.kubelet.registryPullQPS}`);
  for (const [g, on] of Object.entries(needs.featureGates)) parts.push(`${g}=${on}`);
  if (needs.kubelet.imagePullCredentialsVerificationPolicy) parts.push(needs.kubelet.imagePullCredentialsVerificationPolicy);
  return parts.join(', ');
}
