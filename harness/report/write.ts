/**
 * Writing a run's reports atomically: everything goes into `reports/.tmp-<run>-<pid>/`, which is renamed to
 * `reports/<run-id>/` only when every file is written; then, for a complete run only, `reports/latest` is
 * repointed by renaming a fresh symlink over it (rename is atomic, so a reader sees the old or the new run,
 * never a half-written one). Temp entries of dead processes are swept on the next write.
 */
import { mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../lib/errors.ts';
import { renderAll } from './render.ts';
import { parseResults, type RunResults } from '../contract/index.ts';
import { processAlive } from '../lib/process.ts';

export interface WriteOptions {
  reportsDir: string;
  runId: string;
  /** Repoint reports/latest at this run. Only for a run that finished (passing or not), never an aborted one. */
  complete: boolean;
  /** Renderers (injectable for tests of the failure path). */
  render?: (r: RunResults) => Record<string, string>;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;


/** Removes `.tmp-*` / `.latest-*` left by processes that no longer run. */
export async function sweepStale(reportsDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(reportsDir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.(?:tmp-.*|latest)-(\d+)$/.exec(n);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) await rm(join(reportsDir, n), { recursive: true, force: true });
  }
}

export async function writeRun(results: RunResults, opts: WriteOptions): Promise<string> {
  if (!RUN_ID.test(opts.runId)) throw new InputError(`run id "${opts.runId}" can't name a directory`, { hint: 'use letters, digits, dot, dash, underscore' });
  await mkdir(opts.reportsDir, { recursive: true });
  await sweepStale(opts.reportsDir);
  const finalDir = join(opts.reportsDir, opts.runId);
  const tmp = join(opts.reportsDir, `.tmp-${opts.runId}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await writeFile(join(tmp, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    const files = (opts.render ?? renderAll)(results);
    for (const [name, text] of Object.entries(files)) await writeFile(join(tmp, name), text);
    await rename(tmp, finalDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  if (opts.complete) await pointLatest(opts.reportsDir, opts.runId);
  return finalDir;
}

/** Atomically points reports/latest at reports/<runId> (a relative symlink, so the folder can move). */
export async function pointLatest(reportsDir: string, runId: string): Promise<void> {
  const tmpLink = join(reportsDir, `.latest-${process.pid}`);
  await rm(tmpLink, { force: true });
  await symlink(runId, tmpLink);
  try {
    await rename(tmpLink, join(reportsDir, 'latest'));
  } catch (err) {
    await rm(tmpLink, { force: true });
    throw err;
  }
}

export async function readLatest(reportsDir: string): Promise<string | undefined> {
  try {
    return await readlink(join(reportsDir, 'latest'));
  } catch {
    return undefined;
  }
}

export async function readResults(runDir: string, name = 'results.json'): Promise<RunResults> {
  const file = join(runDir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`no results.json in ${runDir} (${(err as NodeJS.ErrnoException).code})`, {
      where: file,
      hint: 'pass a run directory under reports/, or run `cif run` / `npm run e2e` first',
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(`results.json is not JSON: ${(err as Error).message}`, { where: file, hint: 'the run that wrote it did not finish; pick another run' });
  }
  const parsed = parseResults(data);
  if (!parsed.ok) {
    throw new InputError(`results.json does not match its schema (it lacks scenarios / benchmarks / startedAt, or a field is off): ${parsed.problems}`, {
      where: file,
      hint: 'is this a cif reports folder?',
    });
  }
  return parsed.results;
}

/** Re-renders junit/md/svg/html from results.json in place, each file replaced atomically. */
export async function rerender(runDir: string): Promise<string[]> {
  const results = await readResults(runDir);
  const files = renderAll(results);
  for (const [name, text] of Object.entries(files)) {
    const tmp = join(runDir, `.${name}.${process.pid}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, join(runDir, name));
  }
  return Object.keys(files);
}

export function defaultReportsDir(cwd: string = process.cwd()): string {
  return resolve(cwd, 'reports');
}
