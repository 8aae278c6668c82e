/**
 * The registry as a plain child process on a loopback port, with a temp config and storage: for unit tests
 * of the proxy and the image code, which need a real registry but not docker. Stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTRY_BINARY, htpasswdLine, registryConfig } from './registry-image.ts';
import { fetchBuffered } from '../lib/http.ts';

export interface LocalRegistry {
  address: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** A free TCP port on `host` (bound then released; the caller binds it right away). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForHttp(url: string, timeoutMs: number, accept: (status: number) => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetchBuffered(url, {}, 2_000);
      if (accept(res.status)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (last: ${last})`);
}

export async function startLocalRegistry(options: { auth?: { username: string; password: string } } = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'cif-local-registry-'));
  const port = await freePort();
  let htpasswdPath: string | undefined;
  if (options.auth) {
    htpasswdPath = join(dir, 'htpasswd');
    await writeFile(htpasswdPath, await htpasswdLine(options.auth.username, options.auth.password));
  }
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, registryConfig({ addr: `127.0.0.1:${port}`, rootDirectory: join(dir, 'storage'), htpasswdPath }));
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`${REGISTRY_BINARY} did not come up on 127.0.0.1:${port}: ${(err as Error).message}\n${stderr}`);
  }
  return { address: `127.0.0.1:${port}`, port, pid: child.pid!, stop };
}
