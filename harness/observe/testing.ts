/**
 * Test utility: a fake Kubernetes API server (node:http on loopback, no cluster) and a KubeConfig that
 * points at it. The handler answers; every request is recorded (method, path, watch or not) so tests can
 * count what a watcher costs the API server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface FakeApiRequest {
  method: string;
  path: string;
  watch: boolean;
  at: number;
}

export interface FakeApi {
  kc: KubeConfig;
  requests: FakeApiRequest[];
  close(): Promise<void>;
}

export type FakeApiHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** JSON answer helper for handlers. */
export const json = (res: ServerResponse, code: number, body: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));

export async function startFakeApi(handler: FakeApiHandler): Promise<FakeApi> {
  const requests: FakeApiRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, watch: url.searchParams.get('watch') === 'true', at: Date.now() });
    handler(req, res, url);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  });
  return {
    kc,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
