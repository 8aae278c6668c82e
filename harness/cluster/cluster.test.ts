import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLock } from './cluster.ts';

describe('withLock', () => {
  it('serializes holders of the same lock', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cif-lock-')), 'x.lock');
    const order: string[] = [];
    const slow = (tag: string) => async () => {
      order.push(`${tag}+`);
      await new Promise((r) => setTimeout(r, 300));
      order.push(`${tag}-`);
    };
    await Promise.all([withLock(dir, 10, slow('a')), withLock(dir, 10, slow('b'))]);
    expect(order.join(' ')).toMatch(/^(a\+ a- b\+ b-|b\+ b- a\+ a-)$/);
    expect(existsSync(dir)).toBe(false);
  });
  it('takes over a lock whose holder is dead, and gives up on a live one after the bound', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cif-lock-')), 'y.lock');
    mkdirSync(dir);
    writeFileSync(join(dir, 'pid'), '999999999');
    await expect(withLock(dir, 5, async () => 'ok')).resolves.toBe('ok');
    mkdirSync(dir);
    writeFileSync(join(dir, 'pid'), String(process.pid));
    await expect(withLock(dir, 1, async () => 'never')).rejects.toThrow(/held by PID/);
  });
});
