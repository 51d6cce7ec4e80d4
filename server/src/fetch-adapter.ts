/**
 * Runs a fetch handler (`fetch(Request, env) => Response`) on a Node request: builds the Web Request
 * from the already-vetted headers, streams the Response back with backpressure, and aborts the
 * Request's signal when the client goes away. `env` is what @hono/node-server passes,
 * `{ incoming, outgoing }` (the Node request and response), so Node-only helpers such as Hono's
 * getConnInfo work unchanged.
 */

import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FetchApp, RequestListener } from './app-loader.js';

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  // X-Forwarded-Proto/Host are the gateway's verdict, set on every request (forwarded.ts); the
  // fallbacks only matter to a request that never went through the pipeline.
  const proto =
    (req.headers['x-forwarded-proto'] as string | undefined) ??
    ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  const host = (req.headers['x-forwarded-host'] as string | undefined) ?? req.headers.host ?? 'localhost';
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    // HTTP/2's pseudo-headers (:method, :path, ...) are not header fields; Headers refuses the names.
    if (value === undefined || name.charCodeAt(0) === 58) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method: req.method ?? 'GET', headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    init.duplex = 'half'; // required by undici for a streamed request body
  }
  return new Request(`${proto}://${host}${req.url ?? '/'}`, init);
}

async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) {
        await reader.cancel();
        return;
      }
      if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
    res.end();
  } finally {
    reader.releaseLock();
  }
}

export function fetchListener(app: FetchApp): RequestListener {
  return async (req, res) => {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let request: Request;
    try {
      request = toRequest(req, controller.signal);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json', connection: 'close' });
      res.end('{"statusCode":400,"error":"Bad Request","message":"invalid request target or Host"}');
      return;
    }
    const response = await app.fetch(request, { incoming: req, outgoing: res });
    if (!(response instanceof Response)) throw new TypeError('fetch handler did not return a Response');
    // The app answered through env.outgoing itself: its Response is not written a second time.
    if (res.headersSent || res.writableEnded) {
      await response.body?.cancel();
      return;
    }
    await writeResponse(response, res);
  };
}
