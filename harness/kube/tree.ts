/**
 * The patched tree: the upstream base (source.ts) plus our series (patches/*.patch, in order), applied with
 * `git am` in a git worktree of its own, keyed by the series hash. The base is never modified, so any number
 * of series versions coexist and a failed apply leaves nothing that looks finished.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../lib/cache.ts';
import { InputError } from '../lib/errors.ts';
import { run } from '../lib/exec.ts';
import { GIT_IDENTITY, type KubeTree } from './source.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PATCHES_DIR = join(REPO_ROOT, 'patches');

export interface Series {
  dir: string;
  /** The patch files, in apply order (their numeric prefixes). */
  patches: string[];
  /** sha256 over the patch contents, 12 hex chars: part of every build's cache key and version string. */
  hash: string;
}

export async function readSeries(dir: string = PATCHES_DIR): Promise<Series> {
  const names = existsSync(dir) ? (await readdir(dir)).filter((n) => /^\d{4}-.*\.patch$/.test(n)).sort() : [];
  const h = createHash('sha256');
  for (const n of names) h.update(n).update('\0').update(await readFile(join(dir, n))).update('\0');
  return { dir, patches: names.map((n) => join(dir, n)), hash: h.digest('hex').slice(0, 12) };
}

export interface PatchedTree extends KubeTree {
  series: Series;
}

/** A worktree of `base` at base.baseRef with the series applied as commits; reused when already complete. */
export async function patchedTree(base: KubeTree, series: Series, log: (l: string) => void = () => {}): Promise<PatchedTree> {
  const dir = join(cacheRoot(), 'kube-patched', `${base.version}-${series.hash}`);
  const done = join(dir, '.cif-applied');
  if (existsSync(done)) return { ...base, dir, external: false, series };
  if (existsSync(dir)) {
    await run('git', ['-C', base.dir, 'worktree', 'remove', '--force', dir], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
  await run('git', ['-C', base.dir, 'worktree', 'prune']);
  await run('git', ['-C', base.dir, 'worktree', 'add', '-q', '--detach', dir, base.baseRef]);
  try {
    for (const p of series.patches) {
      log(`applying ${relative(REPO_ROOT, p)}`);
      const r = await run('git', ['-C', dir, ...GIT_IDENTITY, 'am', '-q', '--keep-cr', p], { reject: false });
      if (r.exitCode !== 0) {
        await run('git', ['-C', dir, 'am', '--abort'], { reject: false });
        throw new InputError(`patch does not apply:\n${indent(r.stderr || r.stdout)}`, {
          where: relative(REPO_ROOT, p),
          hint: `rebase the series onto ${base.version} (cif patch check names each failing hunk)`,
        });
      }
    }
    await run('sh', ['-c', `date -u +%FT%TZ > '${done}'`]);
  } catch (err) {
    await run('git', ['-C', base.dir, 'worktree', 'remove', '--force', dir], { reject: false });
    throw err;
  }
  return { ...base, dir, external: false, series };
}

function indent(s: string): string {
  return s.trim().split('\n').map((l) => `    ${l}`).join('\n');
}
