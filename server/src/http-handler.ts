/**
 * The request path of a worker's server, in one place: every request through the pipeline (the
 * head checks of head-checks.ts, a chunked body's size, figures for the metrics, the access log
 * line, the app, and a last-resort 500 when it throws), `Expect: 100-continue`, HTTP Upgrade, and
 * heads too malformed to parse.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RequestListener } from './app-loader.js';
import { limitBody } from './body-limit.js';
import type { ClientShare } from './client-share.js';
import type { TrustFn } from './forwarded.js';
import { mayContinue, useTargetAuthority, vetForwarded, vetHead } from './head-checks.js';
import type { AccessLog } from './logger.js';
import { rawRefusal, reject } from './refusals.js';
import type { Config } from './settings.js';
import { dropForbiddenTrailers } from './trailers.js';
import type { UpgradeGuard } from './upgrades.js';
import type { WorkerStats } from './worker-stats.js';

/** The body cut at the limit: a 413, and the app's request stream ends with an error. */
function watchBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  limitBody(req, limit, () => {
    reject(res, 413, `request body is larger than ${limit} bytes`);
    // Node would also destroy the socket of a request destroyed before its end, which resets the
    // connection under the 413: without its socket for that one call, only the stream is
    // destroyed, and the socket is left to the lingering close (the parser reads the rest).
    const socket = req.socket;
    (req as { socket: Socket | null }).socket = null;
    req.destroy(new Error(`request body is larger than ${limit} bytes`));
    req.socket = socket;
    return false;
  });
}

export interface PipelineOptions {
  config: Config;
  trust: TrustFn;
  app: RequestListener;
  stats: WorkerStats;
  errorLog: Logger;
  accessLog: AccessLog | undefined;
  /** Each untrusted address's share of the app (max_in_flight_per_client). */
  share: ClientShare;
  /** After how many requests (counted in stats.total) the worker asks to be recycled; 0: never. */
  maxRequests: number;
  onMaxRequests: () => void;
}

const START = Symbol('gateway.start');
const WRITTEN = Symbol('gateway.written');

export function createPipeline(o: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, trust, app, stats, errorLog, accessLog, share, maxRequests, onMaxRequests } = o;
  const idPrefix = `${randomBytes(4).toString('hex')}-`;
  let seq = 0;
  const bodyLimit = config.limit_request_body;

  // One shared 'close' listener (it reads the request through res.req), not a closure per request:
  // on a small request the allocation shows.
  function onClose(this: ServerResponse & { [START]?: number; [WRITTEN]?: number }): void {
    const req = this.req;
    stats.inFlight--;
    const seconds = (performance.now() - this[START]!) / 1000;
    const h2 = req.httpVersionMajor === 2;
    stats.record(this.statusCode, seconds, h2);
    if (accessLog) {
      const sock = req.socket;
      accessLog.write({
        method: req.method,
        path: req.url,
        status: this.statusCode,
        // nginx's $server_protocol. On HTTP/2, bytes_sent is the connection's bytes written meanwhile:
        // the stream's own share when it was the only one open, more when streams overlapped.
        protocol: h2 ? 'HTTP/2.0' : req.httpVersionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1',
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
    useTargetAuthority(req, head);
    if (head.chunked) {
      if (bodyLimit > 0) watchBody(req, res, bodyLimit);
      dropForbiddenTrailers(req);
    }
    vetForwarded(req, head, trust);
    const peer = sock.remoteAddress;
    const trusted = peer === undefined || trust(peer, 0);
    if (accessLog) {
      // A trusted proxy's request id is kept so one id follows the request through nginx and here.
      if (!trusted || req.headers['x-request-id'] === undefined)
        req.headers['x-request-id'] = idPrefix + (++seq).toString(36);
      res.setHeader('x-request-id', req.headers['x-request-id'] as string);
    }

    // No closure on the way in: only a request that must wait keeps one.
    const client = trusted ? undefined : peer;
    if (share.enter(client, res)) runApp(app, req, res, errorLog);
    else share.wait(client!, res, () => runApp(app, req, res, errorLog));
  };
}

function runApp(app: RequestListener, req: IncomingMessage, res: ServerResponse, log: Logger): void {
  try {
    const out = app(req, res);
    if (out && typeof (out as Promise<void>).then === 'function') {
      (out as Promise<void>).then(undefined, (err: unknown) => appFailed(err, req, res, log));
    }
  } catch (err) {
    appFailed(err, req, res, log);
  }
}

function appFailed(err: unknown, req: IncomingMessage, res: ServerResponse, log: Logger): void {
  log.error({ err, method: req.method, path: req.url }, 'Error handling request');
  reject(res, 500, 'internal server error');
}

export interface RequestPathOptions {
  config: Config;
  trust: TrustFn;
  stats: WorkerStats;
  errorLog: Logger;
  /** HTTP Upgrade requests: vetted, bounded and handed to the app's WebSocket server (upgrades.ts). */
  upgrades: UpgradeGuard;
}

/**
 * Wires a server's request path: `pipeline` (from createPipeline, one for all of a worker's
 * servers) answers every request; the other events are handled beside it.
 */
export function attachRequestPath(
  server: Server,
  pipeline: (req: IncomingMessage, res: ServerResponse) => void,
  o: RequestPathOptions,
): void {
  const { config, stats, errorLog, upgrades } = o;
  server.on('request', pipeline);
  // Expect: 100-continue. Node's default would send "100 Continue" before any check, inviting an
  // oversized upload only to refuse it. Refused heads get their 413/414/431 instead (emitted as a
  // 'request' so the pipeline answers it, with the scan made here, and the drain still sees it);
  // good ones are invited.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (mayContinue(req, config)) res.writeContinue();
    server.emit('request', req, res);
  });
  // HTTP Upgrade (WebSocket): vetted like any request, bounded, then the app takes the connection over.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrades.handle(req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const inProgress = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    stats.record(status, 0);
    errorLog.debug({ code: err.code, peer: socket.remoteAddress }, `Malformed request: ${err.message}`);
    socket.end(rawRefusal(status));
  });
}
