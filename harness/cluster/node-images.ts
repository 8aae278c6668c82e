/**
 * A node's image cache, driven through the CRI with crictl inside the node container (`docker exec`), i.e.
 * through the same containerd the kubelet uses: pre-pull an image onto one node, remove it, list what's there,
 * and time a raw pull (how each registry fault looks to containerd, without the kubelet in between).
 *
 * Every crictl call runs under coreutils `timeout` inside the node: killing our `docker exec` client would not
 * stop a crictl blocked on a hanging registry; `timeout` does, and crictl's exit cancels containerd's pull.
 */
import { run } from '../lib/exec.ts';
import type { RegistryCredentials } from '../lib/registry-client.ts';

export interface NodeImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

export interface CrictlPullResult {
  ok: boolean;
  exitCode: number;
  /** crictl's output (the image ID on success, the CRI error on failure). */
  output: string;
  /** The CRI error text alone (criError(output)); empty on success. */
  error: string;
  seconds: number;
  /** True when our `timeout` ended it (the pull never returned on its own). */
  timedOut: boolean;
}

function crictl(node: string, timeoutSeconds: number, args: string[]): string[] {
  return ['exec', node, 'timeout', '-s', 'INT', '-k', '5', String(timeoutSeconds), 'crictl', ...args];
}

/**
 * The CRI error out of crictl's output: the `err="…"` of its PullImage log line (which keeps the gRPC code),
 * else the `msg="…"` of its fatal line, unescaped; the whole output when neither is there.
 */
export function criError(output: string): string {
  const unescape = (s: string) => s.replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  const err = /err="((?:[^"\\]|\\.)*)"/.exec(output);
  if (err?.[1]) return unescape(err[1]);
  const msg = /level=fatal msg="((?:[^"\\]|\\.)*)"/.exec(output);
  if (msg?.[1]) return unescape(msg[1]).replace(/^pulling image: /, '');
  return output.trim();
}

/** Pulls through the CRI on `node`, never throwing: the result carries the outcome, text and time. */
export async function crictlPull(
  node: string,
  ref: string,
  o: { timeoutSeconds?: number; credentials?: RegistryCredentials } = {},
): Promise<CrictlPullResult> {
  const timeoutSeconds = o.timeoutSeconds ?? 120;
  const creds = o.credentials ? ['--creds', `${o.credentials.username}:${o.credentials.password}`] : [];
  const t = Date.now();
  const r = await run('docker', crictl(node, timeoutSeconds, ['pull', ...creds, ref]), { reject: false, timeout: (timeoutSeconds + 30) * 1000 });
  const seconds = (Date.now() - t) / 1000;
  const output = `${r.stdout}\n${r.stderr}`.trim();
  // timeout(1) exits 124 when it had to stop the command (130 for INT forwarded to crictl is also "ours").
  const timedOut = r.exitCode === 124 || r.exitCode === 137 || (r.exitCode === 130 && seconds >= timeoutSeconds - 1);
  const ok = r.exitCode === 0;
  return { ok, exitCode: r.exitCode, output, error: ok ? '' : criError(output), seconds, timedOut };
}

/** Pre-pulls `ref` onto `node` (the "cached" in a scenario); throws with crictl's message on failure. */
export async function prePull(node: string, ref: string, o: { timeoutSeconds?: number; credentials?: RegistryCredentials } = {}): Promise<void> {
  const r = await crictlPull(node, ref, o);
  if (!r.ok) {
    throw new Error(`pre-pulling ${ref} onto ${node} failed after ${r.seconds.toFixed(1)} s${r.timedOut ? ' (timed out)' : ''}: ${r.output}`);
  }
}

/** Lists the images on a node (crictl images -o json). */
export async function listNodeImages(node: string): Promise<NodeImage[]> {
  const r = await run('docker', crictl(node, 60, ['images', '-o', 'json']), { timeout: 90_000 });
  const parsed = JSON.parse(r.stdout || '{}') as { images?: { id: string; repoTags?: string[]; repoDigests?: string[]; size?: string }[] };
  return (parsed.images ?? []).map((i) => ({
    id: i.id,
    repoTags: i.repoTags ?? [],
    repoDigests: i.repoDigests ?? [],
    size: Number(i.size ?? 0),
  }));
}

/** The images on `node` known by `ref` (a tag reference, repo@digest, or an image ID). */
export function findImage(images: readonly NodeImage[], ref: string): NodeImage | undefined {
  return images.find((i) => i.id === ref || i.repoTags.includes(ref) || i.repoDigests.includes(ref));
}

/** Removes all images of a repository (`host:port/repo`, any tag or digest) from a node. */
export async function removeRepository(node: string, repository: string): Promise<string[]> {
  const images = await listNodeImages(node);
  const ids = images
    .filter((i) => [...i.repoTags, ...i.repoDigests].some((r) => r.startsWith(`${repository}:`) || r.startsWith(`${repository}@`)))
    .map((i) => i.id);
  if (ids.length) await run('docker', crictl(node, 60, ['rmi', ...ids]), { timeout: 90_000 });
  return ids;
}
