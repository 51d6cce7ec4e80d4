/**
 * The gateway's part of every request, around the app's: limits the parser does not enforce
 * (request line, header count and field size, body size), proxy-header vetting, figures for the
 * metrics, the access log line, and a last-resort 500 when the app throws.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RequestListener } from './app-loader.js';
import { applyForwarded, resolveForwarded, type TrustFn } from './forwarded.js';
import type { AccessLog } from './logger.js';
import type { Config } from './settings.js';
import type { WorkerStats } from './worker-stats.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** An empty answer written straight on a socket that has no ServerResponse (bad head, upgrade). */
export function rawRefusal(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

/** Answers on the gateway's behalf and closes the connection: the rest of the request is not passed on. */
export function reject(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ statusCode: status, error: STATUS_TEXT[status] ?? 'Error', message });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  if (!res.req.complete) lingeringClose(res.req.socket);
  res.end(body);
}

/** How long a refused request's connection goes on reading, and discarding, what the client sends. */
const LINGER_MS = 5000;

/**
 * nginx's lingering close. A refusal often comes while the client is still sending its body (a 413
 * on the declared length comes before any of it). Closing a socket with unread data makes the
 * kernel answer with a reset, and a client still writing then sees EPIPE or ECONNRESET instead of
 * the 413 already on its way (measured: 19 of 30 uploads of 10 MiB + 1 lost it). So after the
 * answer only the sending side is closed; Node goes on reading and discarding the body (it dumps an
 * unread request once the response is done) until the client closes, for LINGER_MS at most.
 */
function lingeringClose(socket: Socket): void {
  // What Node calls once a `Connection: close` response is written: end, then destroy at once.
  socket.destroySoon = function (this: Socket) {
    if (this.writable) this.end();
  };
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
}

interface Refusal {
  status: 413 | 414 | 431;
  message: string;
}

/** What one pass over the head tells; req.headers (built lazily by Node) is not touched. */
interface HeadScan {
  refusal: Refusal | undefined;
  contentLength: string | undefined;
  chunked: boolean;
  forwarded: boolean;
}

const FORWARDED_NAMES = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/**
 * The checks every request head gets before the app sees it, before a "100 Continue" and before
 * an upgrade: request line (the parser only caps the head as a whole), header count and field
 * size, declared body size. One pass over the raw head, which also notes what the caller needs.
 */
function vetHead(req: IncomingMessage, config: Config): HeadScan {
  const out: HeadScan = { refusal: undefined, contentLength: undefined, chunked: false, forwarded: false };
  // The request line is method SP target SP HTTP/x.y.
  if ((req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > config.limit_request_line) {
    out.refusal = { status: 414, message: `request line is longer than ${config.limit_request_line} bytes` };
    return out;
  }
  const raw = req.rawHeaders;
  if (raw.length / 2 > config.limit_request_fields) {
    out.refusal = { status: 431, message: `more than ${config.limit_request_fields} header fields` };
    return out;
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // name + ": " + value, as it stood on the wire
    if (name.length + raw[i + 1]!.length + 2 > config.limit_request_field_size) {
      out.refusal = {
        status: 431,
        message: `header field ${name} is larger than ${config.limit_request_field_size} bytes`,
      };
      return out;
    }
    const n = name.length;
    if (n === 14 || n === 17 || n === 9 || n === 15 || n === 16) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') out.contentLength = raw[i + 1];
      else if (lower === 'transfer-encoding') out.chunked = true;
      else if (FORWARDED_NAMES.has(lower)) out.forwarded = true;
    }
  }
  const limit = config.limit_request_body;
  if (limit > 0 && out.contentLength !== undefined && Number(out.contentLength) > limit) {
    out.refusal = { status: 413, message: `request body is larger than ${limit} bytes` };
  }
  return out;
}

/**
 * Without forwarded headers the socket already tells the truth and there is nothing to vet: the
 * common case (a direct client, or a proxy that sets none) costs nothing here.
 */
function vetForwarded(req: IncomingMessage, head: HeadScan, trust: TrustFn): void {
  if (head.forwarded)
    applyForwarded(req, resolveForwarded(req, trust, (req.socket as { encrypted?: boolean }).encrypted === true));
}

/**
 * Counts body bytes as the parser pushes them, so a chunked body over the limit is cut off even
 * when the app streams it and never looks at its size.
 */
function watchBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  let seen = 0;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null && chunk !== undefined) {
      seen += (chunk as Buffer).length;
      if (seen > limit) {
        // Nothing more of this body reaches the app: the parser goes on reading it (for the
        // lingering close after the 413) into nothing.
        req.push = () => true;
        reject(res, 413, `request body is larger than ${limit} bytes`);
        // The app's request stream ends with an error. Node would also destroy the socket of a
        // request destroyed before its end, which resets the connection under the 413: without
        // its socket for that one call, only the stream is destroyed, and the socket is left to
        // the lingering close.
        const socket = req.socket;
        (req as { socket: Socket | null }).socket = null;
        req.destroy(new Error(`request body is larger than ${limit} bytes`));
        req.socket = socket;
        return false;
      }
    }
    return push(chunk, encoding);
  };
}

/**
 * Whether a request that says `Expect: 100-continue` may be told to send its body: the same head
 * checks as the pipeline's. Without this, Node answers "100 Continue" on its own and the client
 * uploads a body that is then refused with 413.
 */
export function mayContinue(req: IncomingMessage, config: Config): boolean {
  return vetHead(req, config).refusal === undefined;
}

export interface PipelineOptions {
  config: Config;
  trust: TrustFn;
  app: RequestListener;
  stats: WorkerStats;
  errorLog: Logger;
  accessLog: AccessLog | undefined;
  /** After how many requests (counted in stats.total) the worker asks to be recycled; 0: never. */
  maxRequests: number;
  onMaxRequests: () => void;
}

const START = Symbol('gateway.start');
const WRITTEN = Symbol('gateway.written');

/**
 * The same head checks and proxy-header vetting for an Upgrade request (WebSocket) before the app
 * takes the connection over. Returns the refusal to write on the raw socket, if any.
 */
export function vetUpgrade(req: IncomingMessage, config: Config, trust: TrustFn): string | undefined {
  const head = vetHead(req, config);
  if (head.refusal) return rawRefusal(head.refusal.status);
  vetForwarded(req, head, trust);
  return undefined;
}

export function createPipeline(o: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, trust, app, stats, errorLog, accessLog, maxRequests, onMaxRequests } = o;
  const idPrefix = `${randomBytes(4).toString('hex')}-`;
  let seq = 0;
  const bodyLimit = config.limit_request_body;

  // One shared 'close' listener (it reads the request through res.req), not a closure per request:
  // on a small request the allocation shows.
  function onClose(this: ServerResponse & { [START]?: number; [WRITTEN]?: number }): void {
    const req = this.req;
    stats.inFlight--;
    const seconds = (performance.now() - this[START]!) / 1000;
    stats.record(this.statusCode, seconds);
    if (accessLog) {
      const sock = req.socket;
      accessLog.write({
        method: req.method,
        path: req.url,
        status: this.statusCode,
        // Like nginx's $bytes_sent: the whole response on the wire, head included.
        bytes_sent: sock.bytesWritten - this[WRITTEN]!,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        client_ip: req.headers['x-forwarded-for'] ?? sock.remoteAddress,
        worker_pid: process.pid,
        request_id: req.headers['x-request-id'],
        completed: this.writableFinished,
      });
    }
  }

  return function handle(req, res: ServerResponse & { [START]?: number; [WRITTEN]?: number }) {
    const sock = req.socket;
    res[START] = performance.now();
    if (accessLog) res[WRITTEN] = sock.bytesWritten;
    stats.inFlight++;
    if (++stats.total === maxRequests) onMaxRequests();
    res.on('close', onClose); // 'close' comes once per response

    const head = vetHead(req, config);
    if (head.refusal) {
      reject(res, head.refusal.status, head.refusal.message);
      return;
    }
    if (head.chunked && bodyLimit > 0) watchBody(req, res, bodyLimit);
    vetForwarded(req, head, trust);
    if (accessLog) {
      // A trusted proxy's request id is kept so one id follows the request through nginx and here.
      const peer = sock.remoteAddress;
      const trusted = peer === undefined || trust(peer, 0);
      if (!trusted || req.headers['x-request-id'] === undefined)
        req.headers['x-request-id'] = idPrefix + (++seq).toString(36);
      res.setHeader('x-request-id', req.headers['x-request-id'] as string);
    }

    try {
      const out = app(req, res);
      if (out && typeof (out as Promise<void>).then === 'function') {
        (out as Promise<void>).then(undefined, (err: unknown) => appFailed(err, req, res, errorLog));
      }
    } catch (err) {
      appFailed(err, req, res, errorLog);
    }
  };
}

function appFailed(err: unknown, req: IncomingMessage, res: ServerResponse, log: Logger): void {
  log.error({ err, method: req.method, path: req.url }, 'Error handling request');
  reject(res, 500, 'internal server error');
}
