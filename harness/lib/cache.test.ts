import { mkdtemp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cached, hashInputs, stableJson } from './cache.ts';

const root = () => mkdtemp(join(tmpdir(), 'cif-cache-test-'));

describe('cached', () => {
  it('builds once, then hits', async () => {
    const r = await root();
    let builds = 0;
    const build = async (dir: string) => {
      builds++;
      await writeFile(join(dir, 'out'), 'x');
    };
    const a = await cached('kind', 'k1', build, r);
    const b = await cached('kind', 'k1', build, r);
    expect([a.hit, b.hit, builds]).toEqual([false, true, 1]);
    expect(await readFile(join(b.dir, 'out'), 'utf8')).toBe('x');
  });

  it('a failed build leaves no entry and no temp dir', async () => {
    const r = await root();
    await expect(cached('kind', 'k2', async () => Promise.reject(new Error('boom')), r)).rejects.toThrow('boom');
    expect(await readdir(join(r, 'kind'))).toEqual([]);
  });

  it('discards the temp dir of a killed builder and an entry without its completion marker', async () => {
    const r = await root();
    await mkdir(join(r, 'kind', 'k3.tmp-999999999-1'), { recursive: true }); // no such pid
    await mkdir(join(r, 'kind', 'k3'), { recursive: true }); // renamed but unmarked: never trusted
    const e = await cached('kind', 'k3', async (d) => writeFile(join(d, 'fresh'), 'y'), r);
    expect(e.hit).toBe(false);
    expect((await readdir(join(r, 'kind'))).sort()).toEqual(['k3']);
    expect(await readdir(e.dir)).toContain('fresh');
  });
});

describe('hashInputs', () => {
  it('ignores key order and changes with any value', () => {
    expect(hashInputs({ a: 1, b: { c: 2, d: 3 } })).toBe(hashInputs({ b: { d: 3, c: 2 }, a: 1 }));
    expect(hashInputs({ a: 1 })).not.toBe(hashInputs({ a: 2 }));
    expect(stableJson({ b: 1, a: [2, { d: 1, c: 0 }] })).toBe('{"a":[2,{"c":0,"d":1}],"b":1}');
  });
});
