import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, realpath, symlink, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../contract/index.ts';
import { readResults, rerender, sweepStale, writeRun } from './write.ts';

const results = (runId: string): RunResults => ({
  kubernetes: 'v1.34.4',
  series: 's',
  runId,
  startedAt: '2026-11-27T12:00:00.000Z',
  durationSeconds: 1,
  scenarios: [
    { id: 'a/p', scenario: 'a', policy: 'Always', fault: 'none', cached: false, expected: { outcome: 'Running' }, observed: { outcome: 'Running', fallbackEvent: false }, pass: true },
  ],
  benchmarks: [],
});

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cif-reports-'));
}

describe('writeRun', () => {
  it('writes every file into reports/<run-id>/ and points latest at it', async () => {
    const dir = await tmp();
    const out = await writeRun(results('run-1'), { reportsDir: dir, runId: 'run-1', complete: true });
    expect(out).toBe(join(dir, 'run-1'));
    expect((await readdir(out)).sort()).toEqual(['junit.xml', 'latency.svg', 'report.html', 'report.md', 'results.json']);
    expect(await readlink(join(dir, 'latest'))).toBe('run-1');
    expect((await readResults(join(dir, 'latest'))).runId).toBe('run-1');
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a failure mid-write leaves the previous latest intact and nothing half-written', async () => {
    const dir = await tmp();
    await writeRun(results('good'), { reportsDir: dir, runId: 'good', complete: true });
    const render = () => {
      throw new Error('renderer crashed half way');
    };
    await expect(writeRun(results('bad'), { reportsDir: dir, runId: 'bad', complete: true, render })).rejects.toThrow('renderer crashed half way');
    expect(await readlink(join(dir, 'latest'))).toBe('good');
    expect(existsSync(join(dir, 'bad'))).toBe(false);
    expect((await readdir(dir)).sort()).toEqual(['good', 'latest']);
    expect(JSON.parse(await readFile(join(dir, 'latest', 'results.json'), 'utf8')).runId).toBe('good');
  });

  it('an incomplete (aborted) run is written but never becomes latest', async () => {
    const dir = await tmp();
    await writeRun(results('good'), { reportsDir: dir, runId: 'good', complete: true });
    await writeRun(results('aborted'), { reportsDir: dir, runId: 'aborted', complete: false });
    expect(await readlink(join(dir, 'latest'))).toBe('good');
    expect(existsSync(join(dir, 'aborted', 'results.json'))).toBe(true);
  });

  it('refuses to overwrite an existing run and sweeps temp entries of dead processes', async () => {
    const dir = await tmp();
    await writeRun(results('r'), { reportsDir: dir, runId: 'r', complete: true });
    await expect(writeRun(results('r'), { reportsDir: dir, runId: 'r', complete: true })).rejects.toThrow();
    expect(await readlink(join(dir, 'latest'))).toBe('r');
    // a pid that cannot exist (above pid_max) stands for a crashed writer
    await mkdir(join(dir, '.tmp-x-99999999'));
    await symlink('r', join(dir, '.latest-99999999'));
    await mkdir(join(dir, `.tmp-mine-${process.pid}`));
    await sweepStale(dir);
    const names = await readdir(dir);
    expect(names).not.toContain('.tmp-x-99999999');
    expect(names).not.toContain('.latest-99999999');
    expect(names).toContain(`.tmp-mine-${process.pid}`);
  });

  it('rejects a run id that is not a plain name', async () => {
    await expect(writeRun(results('x'), { reportsDir: await tmp(), runId: '../escape', complete: true })).rejects.toThrow(/can't name a directory/);
  });
});

describe('rerender', () => {
  it('re-renders from results.json alone', async () => {
    const dir = await tmp();
    const run = await writeRun(results('r'), { reportsDir: dir, runId: 'r', complete: true });
    await writeFile(join(run, 'report.md'), 'stale');
    expect((await rerender(await realpath(join(dir, 'latest')))).sort()).toEqual(['junit.xml', 'latency.svg', 'report.html', 'report.md']);
    expect(await readFile(join(run, 'report.md'), 'utf8')).toContain('1 passed, 0 failed');
  });

  it('says what is wrong with a folder that is not a run', async () => {
    const dir = await tmp();
    await expect(readResults(dir)).rejects.toThrow(/no results.json/);
    await writeFile(join(dir, 'results.json'), '{"nope": 1}');
    await expect(readResults(dir)).rejects.toThrow(/lacks scenarios/);
  });
});
