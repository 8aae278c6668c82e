/**
 * The kubelet's own account of each CachedIfFailed pull with a cached copy: the V(0) line
 * `"CachedIfFailed pull decided"` the patch series prints at every decision (patches/README.md, "Timing at
 * the source"). Its `durationSeconds` is taken by the kubelet from the pull's start to its decision, so it
 * holds on a loaded host where API timestamps (1 s resolution) and watch arrival times do not.
 *
 * Only klog's key/value syntax is parsed: a value is a bare token or a Go-quoted string. Quoted values are
 * decoded with JSON.parse (Go's %q output for the ASCII these fields carry), so a pod name or image never
 * changes which key a value belongs to.
 */
import type { PullDecision as ContractPullDecision } from '../contract/index.ts';
import { run } from '../lib/exec.ts';

export const PULL_DECIDED_MESSAGE = 'CachedIfFailed pull decided';

export interface PullDecision {
  /** namespace/name, as klog.KObj prints it. */
  pod: string;
  podUID: string;
  image: string;
  decision: 'pulled' | 'fallback' | 'error';
  errorClass: string;
  /** When the kubelet started the pull (RFC 3339, as printed). */
  pullStartedAt: string;
  /** Pull start → decision, seconds, as the kubelet measured it. */
  durationSeconds: number;
  deadlineSeconds: number;
  breakerOpen: boolean;
}

const DECISIONS = new Set(['pulled', 'fallback', 'error']);

/** key=value pairs of one klog structured line, after its quoted message. */
export function parseKlogKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)/g;
  for (const m of text.matchAll(re)) {
    const raw = m[2]!;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        continue;
      }
    }
    out.set(m[1]!, value);
  }
  return out;
}

/** One decision from one kubelet log line, or undefined for any other line. */
export function parsePullDecision(line: string): PullDecision | undefined {
  const at = line.indexOf(`"${PULL_DECIDED_MESSAGE}"`);
  if (at < 0) return undefined;
  const kv = parseKlogKeyValues(line.slice(at + PULL_DECIDED_MESSAGE.length + 2));
  const decision = kv.get('decision');
  const duration = Number(kv.get('durationSeconds'));
  const pod = kv.get('pod');
  if (!pod || !decision || !DECISIONS.has(decision) || !Number.isFinite(duration)) return undefined;
  return {
    pod,
    podUID: kv.get('podUID') ?? '',
    image: kv.get('image') ?? '',
    decision: decision as PullDecision['decision'],
    errorClass: kv.get('errorClass') ?? '',
    pullStartedAt: kv.get('pullStartedAt') ?? '',
    durationSeconds: duration,
    deadlineSeconds: Number(kv.get('deadlineSeconds') ?? 0),
    breakerOpen: kv.get('breakerOpen') === 'true',
  };
}

/** Every decision in a journal's text, in order. */
export function parsePullDecisions(journal: string): PullDecision[] {
  const out: PullDecision[] = [];
  for (const line of journal.split('\n')) {
    const d = parsePullDecision(line);
    if (d) out.push(d);
  }
  return out;
}

/**
 * The decisions the kubelet on `node` (a kind node container) logged for one pod since `sinceMs`, in order.
 * journald keeps the kubelet's stderr; the filter on the message runs in the node, so only decision lines
 * cross `docker exec`. The pod is matched on its klog.KObj form, which the harness chose (namespace/name).
 */
export async function readPullDecisions(node: string, pod: { namespace: string; name: string }, sinceMs: number): Promise<PullDecision[]> {
  const since = `@${Math.floor(sinceMs / 1000) - 5}`;
  const script = `journalctl -u kubelet -o cat --no-pager --since "$1" | grep -F -- "$2" || true`;
  const r = await run('docker', ['exec', node, 'sh', '-c', script, 'sh', since, `"${PULL_DECIDED_MESSAGE}"`], { timeout: 60_000 });
  const key = `${pod.namespace}/${pod.name}`;
  return parsePullDecisions(r.stdout).filter((d) => d.pod === key);
}

/** What results.json keeps of a decision (the contract's shape). */
export function toContractDecision(d: PullDecision): ContractPullDecision {
  return { decision: d.decision, errorClass: d.errorClass, durationSeconds: d.durationSeconds, deadlineSeconds: d.deadlineSeconds, breakerOpen: d.breakerOpen };
}
