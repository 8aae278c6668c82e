/**
 * HTTP requests with a deadline that holds the process open while they are pending.
 *
 * `AbortSignal.timeout()` runs on an unref'd timer, and undici does not always hold the event loop open
 * while it waits (e.g. a fetch to a docker-published port whose container is still starting). A process
 * whose only pending work is such a fetch drains its loop and exits 13 ("unsettled top-level await") in the
 * middle of the request — skipping every cleanup. Here the deadline is an ordinary (ref'd) timer, and the
 * body is read before it is cleared, so the request either answers, fails, or times out: never vanishes.
 */

export async function fetchBuffered(url: string, init: Omit<RequestInit, 'signal'> = {}, timeoutMs: number): Promise<Response> {
  const method = init.method ?? 'GET';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    const body = await res.arrayBuffer();
    const nullBody = method === 'HEAD' || [101, 204, 205, 304].includes(res.status);
    return new Response(nullBody ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
  } finally {
    clearTimeout(timer);
  }
}
