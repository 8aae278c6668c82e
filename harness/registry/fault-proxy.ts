/**
 * A small HTTP proxy in front of the registry that misbehaves on demand — the HTTP-level fault modes.
 * Switchable at runtime: pass-through, answer 503 / 429 / 401 (with a challenge) / 403, stream slowly,
 * flap between up and down, hang (accept, read the request, never answer), and refuse (stop listening, so
 * connections get a fast RST → ECONNREFUSED while the host stays up).
 *
 * It binds only to loopback or to addresses the caller vouches for (the gateway of a docker network our run
 * uses, so kind nodes can reach it); anything else is refused at start, so a test can never open a port on a
 * public interface.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { PROXY_FAULT_MODES, type ProxyFaultMode } from '../contract/index.ts';

/** `pass`, and every fault mode the contract says the proxy makes (`FAULTS[mode].by === 'proxy'`). */
export const PROXY_MODES = ['pass', ...PROXY_FAULT_MODES] as const;
export type ProxyMode = 'pass' | ProxyFaultMode;

export interface ProxyModeOptions {
  /** slow: response bytes per second (default 64 KiB/s). */
  bytesPerSecond?: number;
  /**
   * flapping: what a period is. `attempt` (default): a pull attempt, which starts with a HEAD of a manifest by
   * tag — attempts alternate down, up, down, … and every request of an up attempt passes, so a client that
   * retries converges on its second try. `requests`: every `flapEvery` requests. `interval`: every
   * `flapIntervalMs`.
   */
  flapBy?: 'attempt' | 'requests' | 'interval';
  /** flapping by requests: switch between up and down every N requests (default 2). */
  flapEvery?: number;
  /** flapping by interval: period length in ms (default 10 s). */
  flapIntervalMs?: number;
  /** flapping: what "down" looks like: a 503, or the connection reset without an answer (default 503). */
  flapDown?: 'http-503' | 'reset';
  /** unauthorized: the challenge (default Basic, like distribution's htpasswd auth). */
  challenge?: string;
}

export interface FaultProxyOptions {
  host: string;
  /** 0 (default): pick a free one. */
  port?: number;
  /** host:port of the registry; a function when it can change (a restarted container gets a new IP). */
  upstream: string | (() => string);
  /** Non-loopback addresses the caller allows binding to (docker network gateways of our run). */
  allowedHosts?: readonly string[];
}

export interface ProxyStats {
  requests: number;
  /** Answers by kind: 'pass', 'http-503', …, 'hang', 'reset', 'upstream-error'. */
  answered: Record<string, number>;
}

export function isLoopback(host: string): boolean {
  return (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

const ERROR_BODIES: Record<number, { code: string; message: string }> = {
  401: { code: 'UNAUTHORIZED', message: 'authentication required' },
  403: { code: 'DENIED', message: 'requested access to the resource is denied' },
  429: { code: 'TOOMANYREQUESTS', message: 'too many requests' },
  500: { code: 'UNKNOWN', message: 'internal server error' },
  502: { code: 'UNAVAILABLE', message: 'upstream registry unreachable' },
  503: { code: 'UNAVAILABLE', message: 'service unavailable' },
};

export class FaultProxy {
  private server: Server;
  private sockets = new Set<Socket>();
  private hung = new Set<ServerResponse>();
  private modeValue: ProxyMode = 'pass';
  private opts: ProxyModeOptions = {};
  private flapCount = 0;
  private flapStart = Date.now();
  private listening = false;
  readonly stats: ProxyStats = { requests: 0, answered: {} };

  private constructor(
    readonly host: string,
    public port: number,
    private readonly upstream: () => string,
  ) {
    this.server = createServer((req, res) => this.handle(req, res));
    // No server-side timeouts: `hang` must hang until the client gives up, and slow pulls must finish.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 0;
    this.server.keepAliveTimeout = 5_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(o: FaultProxyOptions): Promise<FaultProxy> {
    if (!isLoopback(o.host) && !(o.allowedHosts ?? []).includes(o.host)) {
      throw new Error(
        `fault proxy refuses to bind ${o.host}: only loopback or our own docker network's gateway addresses (${(o.allowedHosts ?? []).join(', ') || 'none given'})`,
      );
    }
    const up = typeof o.upstream === 'string' ? () => o.upstream as string : o.upstream;
    const p = new FaultProxy(o.host, o.port ?? 0, up);
    await p.listen();
    return p;
  }

  get address(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get mode(): ProxyMode {
    return this.modeValue;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`fault proxy cannot listen on ${this.host}:${this.port}: ${err.message}`));
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        if (a && typeof a === 'object') this.port = a.port;
        this.listening = true;
        resolve();
      });
    });
  }

  private stopListening(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // close() waits for open connections; end them so the port is really closed and keep-alives can't
      // sneak requests through.
      this.dropConnections();
    });
  }

  private dropConnections(): void {
    for (const r of this.hung) r.destroy();
    this.hung.clear();
    for (const s of this.sockets) s.destroy();
  }

  /**
   * Switches mode. Leaving `hang` resets the hung connections (a client blocked on them sees a reset, not a
   * silent recovery); entering or leaving `refused` closes / reopens the listening socket on the same port.
   */
  async setMode(mode: ProxyMode, options: ProxyModeOptions = {}): Promise<void> {
    if (!PROXY_MODES.includes(mode)) throw new Error(`unknown fault proxy mode ${JSON.stringify(mode)}; known: ${PROXY_MODES.join(', ')}`);
    const previous = this.modeValue;
    this.modeValue = mode;
    this.opts = options;
    this.flapCount = 0;
    this.flapStart = Date.now();
    if (previous === 'hang' && mode !== 'hang') {
      for (const r of this.hung) r.destroy();
      this.hung.clear();
    }
    if (mode === 'refused') await this.stopListening();
    else if (!this.listening) await this.listen();
  }

  async close(): Promise<void> {
    await this.stopListening();
    this.dropConnections();
  }

  private count(kind: string): void {
    this.stats.answered[kind] = (this.stats.answered[kind] ?? 0) + 1;
  }

  private sendError(res: ServerResponse, status: number, extraHeaders: Record<string, string> = {}, kind = `http-${status}`): void {
    const e = ERROR_BODIES[status] ?? { code: 'UNKNOWN', message: 'error' };
    const body = JSON.stringify({ errors: [{ code: e.code, message: `${e.message} (cif fault proxy)`, detail: null }] });
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'docker-distribution-api-version': 'registry/2.0',
      'content-length': String(Buffer.byteLength(body)),
      ...extraHeaders,
    });
    res.end(body);
    this.count(kind);
  }

  /** flapping: is the registry "up" for this request? */
  private flapUp(req: IncomingMessage): boolean {
    const by = this.opts.flapBy ?? (this.opts.flapIntervalMs ? 'interval' : this.opts.flapEvery ? 'requests' : 'attempt');
    if (by === 'interval') {
      const period = Math.max(1, this.opts.flapIntervalMs ?? 10_000);
      return Math.floor((Date.now() - this.flapStart) / period) % 2 === 0;
    }
    if (by === 'requests') {
      const every = Math.max(1, this.opts.flapEvery ?? 2);
      const up = Math.floor(this.flapCount / every) % 2 === 0;
      this.flapCount++;
      return up;
    }
    // attempt: a HEAD of /v2/<name>/manifests/<tag> (not a digest) opens a new attempt; the first is down.
    if (req.method === 'HEAD' && isTagManifest(req.url ?? '')) this.flapCount++;
    return this.flapCount % 2 === 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++;
    switch (this.modeValue) {
      case 'http-503':
        req.resume();
        return this.sendError(res, 503);
      case 'http-429':
        req.resume();
        return this.sendError(res, 429, { 'retry-after': '1' });
      case 'unauthorized':
        req.resume();
        return this.sendError(res, 401, { 'www-authenticate': this.opts.challenge ?? 'Basic realm="cif-registry"' }, 'unauthorized');
      case 'forbidden':
        req.resume();
        return this.sendError(res, 403, {}, 'forbidden');
      case 'http-500-blobs':
        if (!/^\/v2\/.+\/blobs\//.test(req.url ?? '')) return this.forward(req, res, 0, 'pass');
        req.resume();
        return this.sendError(res, 500);
      case 'hang':
        // Read the request, never answer. The socket stays open until the client gives up or the mode changes.
        req.resume();
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        this.count('hang');
        return;
      case 'flapping':
        if (!this.flapUp(req)) {
          req.resume();
          if (this.opts.flapDown === 'reset') {
            this.count('reset');
            req.socket.destroy();
            return;
          }
          return this.sendError(res, 503, {}, 'flap-down');
        }
        return this.forward(req, res, 0, 'flap-up');
      case 'slow':
        return this.forward(req, res, this.opts.bytesPerSecond ?? 64 * 1024, 'slow');
      case 'refused': // only reachable by a request already in flight when the mode switched
        req.socket.destroy();
        return;
      case 'pass':
        return this.forward(req, res, 0, 'pass');
      default:
        return unreachableMode(this.modeValue);
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse, bytesPerSecond: number, kind: string): void {
    const [upHost, upPortText] = splitHostPort(this.upstream());
    const upReq = httpRequest({
      host: upHost,
      port: Number(upPortText),
      method: req.method,
      path: req.url,
      // The Host header goes through unchanged: the registry builds upload Locations from it, and they must
      // point back at the proxy the client knows.
      headers: req.headers,
      timeout: 0,
    });
    upReq.on('error', (err) => {
      if (!res.headersSent) {
        // The registry behind us is gone (e.g. its container stopped while nodes still point here).
        this.sendError(res, 502, { 'x-cif-upstream-error': err.message.replace(/[^\x20-\x7e]/g, ' ') }, 'upstream-error');
      } else {
        this.count('upstream-error');
        res.destroy(err);
      }
    });
    upReq.on('response', (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, upRes.headers);
      this.count(kind);
      if (bytesPerSecond <= 0) {
        upRes.pipe(res);
        return;
      }
      void throttle(upRes, res, bytesPerSecond).catch((err: Error) => res.destroy(err));
    });
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });
    req.pipe(upReq);
  }
}

/** `/v2/<name>/manifests/<reference>` where the reference is a tag, not a digest. */
export function isTagManifest(url: string): boolean {
  const m = /^\/v2\/.+\/manifests\/([^/?]+)/.exec(url);
  return Boolean(m && !m[1]!.includes(':'));
}

function splitHostPort(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new Error(`upstream ${address} has no port`);
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), address.slice(i + 1)];
}

/** A proxy-made fault mode without a case in `handle` fails the type check here. */
function unreachableMode(mode: never): never {
  throw new Error(`the fault proxy has no behaviour for mode ${String(mode)}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Copies `from` to `to` at no more than `bytesPerSecond`, in slices sent every ≤100 ms. */
async function throttle(from: IncomingMessage, to: ServerResponse, bytesPerSecond: number): Promise<void> {
  const start = Date.now();
  let sent = 0;
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  for await (const chunk of from as AsyncIterable<Buffer>) {
    for (let off = 0; off < chunk.length; off += slice) {
      if (to.destroyed) return;
      const part = chunk.subarray(off, off + slice);
      const due = start + ((sent + part.length) / bytesPerSecond) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      sent += part.length;
      if (!to.write(part)) {
        await new Promise<void>((r) => {
          const done = () => {
            to.off('drain', done);
            to.off('close', done);
            r();
          };
          to.once('drain', done);
          to.once('close', done);
        });
      }
    }
  }
  to.end();
}
