/**
 * The registry fault modes, once: for each mode its class in the contract (does CachedIfFailed fall back?),
 * the kubelet's classification, how the harness makes it (`by`) and its doc line. The scenario schema, the
 * registry's fault switch, the fault proxy and the --simulate model all read this record; nothing else lists
 * fault modes. Adding a mode starts here; the type checker then points at the proxy (when `by: 'proxy'`)
 * and the model.
 */

/** What the contract does under a fault: fall back (unreachable), never (denied-or-missing), or pull (degraded). */
export type FaultClass = 'unreachable' | 'denied-or-missing' | 'degraded';

/** How the patched kubelet classifies the failure (the series' error classes). */
export type ErrorClass = 'none' | 'unreachable' | 'auth' | 'not-found' | 'transient';

/**
 * Who makes the fault: the fault proxy in front of the registry (a proxy mode of the same name), the
 * registry container (stopped), the nodes' /etc/hosts (dns), the nodes' iptables (blackhole), or the
 * registry's content (the tag deleted).
 */
export type FaultMaker = 'nothing' | 'proxy' | 'stop-registry' | 'node-hosts' | 'node-iptables' | 'delete-tag';

export interface FaultSpec {
  /** undefined for `none`, which belongs to no class. */
  class?: FaultClass;
  errorClass: ErrorClass;
  /** Does CachedIfFailed fall back to a cached image under it? */
  fallsBack: boolean;
  by: FaultMaker;
  /** How the harness makes it. */
  how: string;
  /** What a containerd 1.6 pull reports (shape; harness/registry/README.md has measured text). */
  containerd: string;
}

export const FAULTS = {
  none: { errorClass: 'none', fallsBack: false, by: 'nothing', how: 'proxy passes everything through', containerd: 'pull succeeds' },
  stopped: {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'stop-registry',
    how: "registry container stopped (docker stop); nodes' /etc/hosts points the name at an address of the network where nothing answers (the subnet's last host address)",
    containerd: 'dial tcp <ip>:<P>: connect: no route to host (ARP gives up after ~3 s)',
  },
  refused: {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'proxy',
    how: 'the proxy closes its listening socket: the gateway host is up, the port is closed',
    containerd: 'dial tcp <gw>:<P>: connect: connection refused (immediately)',
  },
  blackhole: {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'node-iptables',
    how: "iptables -I OUTPUT -d <gw> --dport <P> -j DROP inside each node's network namespace",
    containerd: 'dial tcp <gw>:<P>: i/o timeout (containerd gives up after its 30 s dial timeout)',
  },
  dns: {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'node-hosts',
    how: "the registry name's line is removed from each node's /etc/hosts; docker DNS answers NXDOMAIN",
    containerd: 'dial tcp: lookup <name> … no such host',
  },
  'http-503': {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'proxy',
    how: 'proxy answers 503 UNAVAILABLE',
    containerd: 'unexpected status … 503 Service Unavailable',
  },
  'http-429': {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'proxy',
    how: 'proxy answers 429 TOOMANYREQUESTS, Retry-After: 1',
    containerd: 'unexpected status … 429 Too Many Requests',
  },
  unauthorized: {
    class: 'denied-or-missing',
    errorClass: 'auth',
    fallsBack: false,
    by: 'proxy',
    how: 'proxy answers 401 with WWW-Authenticate: Basic realm="cif-registry"',
    containerd: '… 401 Unauthorized',
  },
  forbidden: { class: 'denied-or-missing', errorClass: 'auth', fallsBack: false, by: 'proxy', how: 'proxy answers 403 DENIED', containerd: '… 403 Forbidden' },
  'not-found': {
    class: 'denied-or-missing',
    errorClass: 'not-found',
    fallsBack: false,
    by: 'delete-tag',
    how: 'the tag is deleted in the registry (manifest DELETE by digest); restored on clear',
    containerd: 'code = NotFound … <ref>: not found',
  },
  slow: {
    class: 'degraded',
    errorClass: 'none',
    fallsBack: false,
    by: 'proxy',
    how: 'proxy streams responses at a bandwidth limit (default 64 KiB/s)',
    containerd: 'pull succeeds, slower',
  },
  flapping: {
    class: 'degraded',
    errorClass: 'transient',
    fallsBack: true,
    by: 'proxy',
    how: 'proxy alternates pull attempts (a HEAD of a manifest by tag starts one): down (503), up, down, … — or by request count / interval',
    containerd: 'odd attempts: … failed with status code [manifests <tag>]: 503 Service Unavailable; even attempts pull (a retry converges)',
  },
  'http-500-blobs': {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'proxy',
    how: 'proxy serves manifests and answers every blob request with 500: the pull fails mid-way, after resolving the tag',
    containerd: 'failed to copy: httpReadSeeker: failed open: unexpected status code …/blobs/sha256:…: 500 Internal Server Error',
  },
  hang: {
    class: 'unreachable',
    errorClass: 'unreachable',
    fallsBack: true,
    by: 'proxy',
    how: 'proxy accepts connections and reads requests but never answers',
    containerd: 'never returns (containerd 1.6 has no response timeout); only the kubelet deadline ends it',
  },
} as const satisfies Record<string, FaultSpec>;

export type FaultMode = keyof typeof FAULTS;
export const FAULT_MODES = Object.keys(FAULTS) as FaultMode[];

/** The modes the fault proxy makes; each is a proxy mode of the same name. */
export type ProxyFaultMode = { [M in FaultMode]: (typeof FAULTS)[M]['by'] extends 'proxy' ? M : never }[FaultMode];
export const PROXY_FAULT_MODES = FAULT_MODES.filter((m): m is ProxyFaultMode => FAULTS[m].by === 'proxy');

export const FAULT_CLASS_NAMES: readonly FaultClass[] = ['unreachable', 'denied-or-missing', 'degraded'];

export function faultSpec(mode: FaultMode): FaultSpec {
  return FAULTS[mode];
}

export function isFaultMode(name: string): name is FaultMode {
  return Object.hasOwn(FAULTS, name);
}

/** The modes of a class, in record order. */
export function modesOf(cls: FaultClass): FaultMode[] {
  return FAULT_MODES.filter((m) => faultSpec(m).class === cls);
}

export function isUnreachable(mode: FaultMode): boolean {
  return faultSpec(mode).class === 'unreachable';
}

/** A fault mode name or a class name → the modes it stands for. */
export function faultsOf(name: string): FaultMode[] | undefined {
  if (isFaultMode(name)) return [name];
  if ((FAULT_CLASS_NAMES as readonly string[]).includes(name)) return modesOf(name as FaultClass);
  return undefined;
}
