/**
 * A content-addressed cache outside the repo ($CIF_CACHE, default ~/.cache/cif). An entry's key is a hash of
 * every input that shaped it; it is built in a temp directory beside its final place and renamed there only
 * when complete, so a killed build leaves no entry that looks finished — the next run discards the temp dir.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from './process.ts';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CIF_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cif');
}

/** A stable hash of JSON-able inputs (object keys sorted), short enough for paths and tags. */
export function hashInputs(inputs: unknown, length = 16): string {
  return createHash('sha256').update(stableJson(inputs)).digest('hex').slice(0, length);
}

export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

const COMPLETE = '.cif-complete';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export interface CacheEntry {
  dir: string;
  /** False when this call built it. */
  hit: boolean;
}

/**
 * Returns the directory for `kind/key`, building it with `build(tmpDir)` when absent. Concurrent builders of
 * the same key each use their own temp dir; the first rename wins and the others discard theirs.
 */
export async function cached(
  kind: string,
  key: string,
  build: (tmpDir: string) => Promise<void>,
  root: string = cacheRoot(),
): Promise<CacheEntry> {
  const parent = join(root, kind);
  const dir = join(parent, key);
  if (await exists(join(dir, COMPLETE))) return { dir, hit: true };
  await mkdir(parent, { recursive: true });
  await discardStale(parent, key);
  if (await exists(dir)) await rm(dir, { recursive: true, force: true }); // an entry without its marker
  const tmp = join(parent, `${key}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    await build(tmp);
    await writeFile(join(tmp, COMPLETE), new Date().toISOString() + '\n');
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (await exists(join(dir, COMPLETE))) return { dir, hit: true }; // lost a race to a finished twin
    throw err;
  }
  return { dir, hit: false };
}

/** Removes temp dirs of `key` left by processes that no longer run (a SIGKILL mid-build). */
async function discardStale(parent: string, key: string): Promise<void> {
  for (const name of await readdir(parent)) {
    const m = new RegExp(`^${key}\\.tmp-(\\d+)-\\d+$`).exec(name);
    if (m && !processAlive(Number(m[1]))) await rm(join(parent, name), { recursive: true, force: true });
  }
}

