/**
 * The gateway's part of every request, around the app's: limits the parser does not enforce
 * (request line, header count and field size, body size), proxy-header vetting, figures for the
 * metrics, the access log line, and a last-resort 500 when the app throws.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { RequestListener } from './app-loader.js';
import type { AccessLog } from './logger.js';
import { applyForwarded, resolveForwarded, type TrustFn } from './forwarded.js';
import type { Config } from './settings.js';
import type { WorkerStats } from './worker-stats.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 413: 'Content Too Large', 414: 'URI Too Long', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable',
};

/** Answers on the gateway's behalf and closes the connection: the rest of the request is not read. */
export function reject(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) { res.destroy(); return; }
  const body = JSON.stringify({ statusCode: status, error: STATUS_TEXT[status] ?? 'Error', message });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** What one pass over the raw head tells; req.headers (built lazily by Node) is not touched. */
interface HeadScan {
  problem: string | undefined;
  contentLength: string | undefined;
  chunked: boolean;
  forwarded: boolean;
}

const FORWARDED_NAMES = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

function scanHead(raw: string[], config: Config): HeadScan {
  const out: HeadScan = { problem: undefined, contentLength: undefined, chunked: false, forwarded: false };
  if (raw.length / 2 > config.limit_request_fields) {
    out.problem = `more than ${config.limit_request_fields} header fields`;
    return out;
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // name + ": " + value, as it stood on the wire
    if (name.length + raw[i + 1]!.length + 2 > config.limit_request_field_size) {
      out.problem = `header field ${name} is larger than ${config.limit_request_field_size} bytes`;
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
  return out;
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
        req.push = push;
        reject(res, 413, `request body is larger than ${limit} bytes`);
        // Nothing more of this body reaches the app; the connection closes after the 413.
        req.destroy();
        return false;
      }
    }
    return push(chunk, encoding);
  };
}

/**
 * Whether a request that says `Expect: 100-continue` may be told to send its body: the same head
 * checks as the pipeline's (request line, header fields, declared body size). Without this, Node
 * answers "100 Continue" on its own and the client uploads a body that is then refused with 413.
 */
export function mayContinue(req: IncomingMessage, config: Config): boolean {
  if ((req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > config.limit_request_line) return false;
  const head = scanHead(req.rawHeaders, config);
  if (head.problem) return false;
  const limit = config.limit_request_body;
  return !(limit > 0 && head.contentLength !== undefined && Number(head.contentLength) > limit);
}

export interface PipelineOptions {
  config: Config;
  trust: TrustFn;
  app: RequestListener;
  stats: WorkerStats;
  errorLog: Logger;
  accessLog: AccessLog | undefined;
  onRequest: () => void;
}

const START = Symbol('gateway.start');
const WRITTEN = Symbol('gateway.written');

/**
 * The same head checks and proxy-header vetting for an Upgrade request (WebSocket) before the app
 * takes the connection over. Returns the refusal to write on the raw socket, if any.
 */
export function vetUpgrade(req: IncomingMessage, config: Config, trust: TrustFn): string | undefined {
  const refuse = (status: number) => `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
  if ((req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > config.limit_request_line) return refuse(414);
  const head = scanHead(req.rawHeaders, config);
  if (head.problem) return refuse(431);
  if (head.forwarded) applyForwarded(req, resolveForwarded(req, trust, (req.socket as { encrypted?: boolean }).encrypted === true));
  return undefined;
}

export function createPipeline(o: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, trust, app, stats, errorLog, accessLog } = o;
  const idPrefix = `${randomBytes(4).toString('hex')}-`;
  let seq = 0;
  const bodyLimit = config.limit_request_body;

  // One shared 'close' listener (it reads the request through res.req), not a closure per request:
  // on a small request the allocation shows.
  function onClose(this: ServerResponse & { [START]?: number; [WRITTEN]?: number }): void {
    const res = this;
    const req = res.req;
    stats.inFlight--;
    const seconds = (performance.now() - res[START]!) / 1000;
    stats.record(res.statusCode, seconds);
    if (accessLog) {
      const sock = req.socket;
      accessLog.write({
        method: req.method, path: req.url, status: res.statusCode,
        // Like nginx's $bytes_sent: the whole response on the wire, head included.
        bytes_sent: sock.bytesWritten - res[WRITTEN]!,
        duration_ms: Math.round(seconds * 1e6) / 1e3, client_ip: req.headers['x-forwarded-for'] ?? sock.remoteAddress,
        worker_pid: process.pid, request_id: req.headers['x-request-id'], completed: res.writableFinished,
      });
    }
  }

  return function handle(req, res: ServerResponse & { [START]?: number; [WRITTEN]?: number }) {
    const sock = req.socket;
    res[START] = performance.now();
    if (accessLog) res[WRITTEN] = sock.bytesWritten;
    stats.inFlight++;
    o.onRequest();
    res.on('close', onClose); // 'close' comes once per response

    // The request line is method SP target SP HTTP/x.y; the parser only caps the head as a whole.
    if ((req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > config.limit_request_line) {
      reject(res, 414, `request line is longer than ${config.limit_request_line} bytes`);
      return;
    }
    const head = scanHead(req.rawHeaders, config);
    if (head.problem) { reject(res, 431, head.problem); return; }
    if (bodyLimit > 0) {
      if (head.contentLength !== undefined && Number(head.contentLength) > bodyLimit) {
        reject(res, 413, `request body is larger than ${bodyLimit} bytes`);
        return;
      }
      if (head.chunked) watchBody(req, res, bodyLimit);
    }

    // Without forwarded headers the socket already tells the truth and there is nothing to vet:
    // the common case (a direct client, or a proxy that sets none) costs nothing here.
    if (head.forwarded) {
      const encrypted = (sock as { encrypted?: boolean }).encrypted === true;
      applyForwarded(req, resolveForwarded(req, trust, encrypted));
    }
    if (accessLog) {
      // A trusted proxy's request id is kept so one id follows the request through nginx and here.
      const peer = sock.remoteAddress;
      const trusted = peer === undefined || trust(peer, 0);
      if (!trusted || req.headers['x-request-id'] === undefined) req.headers['x-request-id'] = idPrefix + (++seq).toString(36);
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
