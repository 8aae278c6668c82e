import { execa } from 'execa';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBuffered } from './http.ts';

describe('fetchBuffered', () => {
  let http: Server;
  let silent: NetServer;
  const held: Socket[] = [];
  let base: string;
  let silentUrl: string;

  beforeAll(async () => {
    http = createServer((req, res) => {
      if (req.url === '/empty') return void res.writeHead(204).end();
      res.writeHead(201, { 'x-test': 'yes' }).end(`hello ${req.method}`);
    });
    // accepts connections and never answers: the shape of a hung registry
    silent = createNetServer((s) => void held.push(s));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v2/`;
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => http.close(r));
    await new Promise((r) => silent.close(r));
  });

  it('returns status, headers and the whole body', async () => {
    const res = await fetchBuffered(`${base}/x`, { method: 'POST' }, 5_000);
    expect([res.status, res.headers.get('x-test'), await res.text()]).toEqual([201, 'yes', 'hello POST']);
  });

  it('handles responses without a body (204, HEAD)', async () => {
    expect((await fetchBuffered(`${base}/empty`, {}, 5_000)).status).toBe(204);
    const head = await fetchBuffered(`${base}/x`, { method: 'HEAD' }, 5_000);
    expect([head.status, await head.text()]).toEqual([201, '']);
  });

  it('fails at its deadline, naming the request', async () => {
    const t0 = Date.now();
    await expect(fetchBuffered(silentUrl, {}, 300)).rejects.toThrow(`GET ${silentUrl}: no answer within 300 ms`);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('holds the process open until the deadline: a script whose only work is the request reports the timeout (no silent exit 13)', async () => {
    const script = `
      import { fetchBuffered } from ${JSON.stringify(new URL('./http.ts', import.meta.url).pathname)};
      try { await fetchBuffered(${JSON.stringify(silentUrl)}, {}, 800); console.log('answered'); }
      catch (err) { console.log('failed: ' + err.message); process.exitCode = 3; }`;
    const r = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { reject: false, timeout: 20_000 });
    expect(r.stdout).toContain('no answer within 800 ms');
    expect(r.exitCode).toBe(3);
  });
});
