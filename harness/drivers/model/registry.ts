/**
 * The registry as the model sees it: tags, private repositories, and the history of fault modes, and what a
 * pull gets from it at a given moment. The kubelet model (model.ts) decides what to do with the answer.
 */
import type { FaultMode } from '../../contract/index.ts';
import type { ImageRef, PodSpec } from '../driver.ts';

export // Model timings, seconds.
const T = {
  start: 0.8, // schedule + create + start a container, image present
  pull: 0.4, // pull over a healthy registry
  slowPull: 6, // bandwidth-limited pull
  fastFail: 0.15, // refused, DNS, HTTP errors
  dialTimeout: 30, // containerd's dial timeout under blackhole
  crashAfter: 0.5, // crash command: exits this long after starting
  backoff: 10, // first image-pull / crash-loop back-off
  /** The deadline of a pull with a cached copy while the breaker is open (patches: circuitOpenPullTimeout). */
  breakerPullTimeout: 2,
};

export interface Registry {
  host: string;
  tags: Map<string, string>; // repo:tag → version
  privateRepos: Set<string>;
  faults: { at: number; mode: FaultMode }[];
}

/**
 * `connection`: the failure is evidence that the host is unreachable at the connection level (refused, DNS,
 * dial timeout), the only failures that open the kubelet's breaker; an HTTP answer or a deadline cut is not.
 */
export type PullResult =
  | { ok: true; version: string; at: number }
  | { ok: false; at: number; error: string; cls: 'unreachable' | 'denied' | 'deadline'; connection?: boolean };

export const key = (i: ImageRef) => `${i.repo}:${i.tag}`;

export function faultAt(reg: Registry, t: number): { mode: FaultMode; until: number } {
  let mode: FaultMode = 'none';
  let until = Infinity;
  for (const f of reg.faults) {
    if (f.at <= t) mode = f.mode;
    else {
      until = f.at;
      break;
    }
  }
  return { mode, until };
}

/**
 * One CRI pull of `spec.image` starting at `t` (ms), against the registry's fault history: what the registry
 * answers under each fault mode, with containerd 1.6's timings. `attempt` counts pull attempts (flapping).
 */
export function pullFrom(reg: Registry, spec: PodSpec, t: number, attempt: () => number): PullResult {
  const { mode, until } = faultAt(reg, t);
  const v = reg.tags.get(key(spec.image));
  const ref = `${reg.host}/${key(spec.image)}`;
  const fail = (after: number, cls: 'unreachable' | 'denied', error: string, connection = false): PullResult => ({
    ok: false,
    at: t + after * 1000,
    cls,
    error: `failed to pull and unpack image "${ref}": ${error}`,
    ...(connection ? { connection } : {}),
  });
  const isPrivate = reg.privateRepos.has(spec.image.repo);
  switch (mode) {
    case 'none':
    case 'slow': {
      if (!v) return fail(T.fastFail, 'denied', `${ref}: not found`);
      if (isPrivate && !spec.pullSecret) return fail(T.fastFail, 'denied', 'unexpected status code [manifests]: 401 Unauthorized');
      return { ok: true, version: v, at: t + (mode === 'slow' ? T.slowPull : T.pull) * 1000 };
    }
    case 'flapping': {
      if (attempt() % 2 === 1) return fail(T.fastFail, 'unreachable', 'dial tcp: connect: connection refused', true);
      if (!v) return fail(T.fastFail, 'denied', `${ref}: not found`);
      return { ok: true, version: v, at: t + T.pull * 1000 };
    }
    case 'stopped':
    case 'refused':
      return fail(T.fastFail, 'unreachable', 'dial tcp 172.18.0.9:5000: connect: connection refused', true);
    case 'dns':
      return fail(T.fastFail, 'unreachable', 'dial tcp: lookup registry.cif: no such host', true);
    case 'http-503':
      return fail(T.fastFail, 'unreachable', 'unexpected status code [manifests]: 503 Service Unavailable');
    case 'http-429':
      return fail(T.fastFail, 'unreachable', 'unexpected status code [manifests]: 429 Too Many Requests');
    case 'http-500-blobs':
      if (!v) return fail(T.fastFail, 'denied', `${ref}: not found`);
      return fail(T.pull, 'unreachable', `failed to copy: httpReadSeeker: failed open: unexpected status code https://${reg.host}/v2/${spec.image.repo}/blobs/sha256:…: 500 Internal Server Error`);
    case 'blackhole':
      return fail(T.dialTimeout, 'unreachable', 'dial tcp 172.18.0.9:5000: i/o timeout', true);
    case 'hang':
      // never answers; when the fault is cleared the proxy closes the connection
      return until === Infinity ? { ok: false, at: Infinity, cls: 'unreachable', error: 'hang' } : fail((until - t) / 1000, 'unreachable', 'unexpected EOF');
    case 'unauthorized':
      return fail(T.fastFail, 'denied', 'unexpected status code [manifests]: 401 Unauthorized');
    case 'forbidden':
      return fail(T.fastFail, 'denied', 'unexpected status code [manifests]: 403 Forbidden');
    case 'not-found':
      return fail(T.fastFail, 'denied', `${ref}: not found`);
  }
}

