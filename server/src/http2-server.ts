/**
 * HTTP/2 beside HTTP/1.1, on the same ports. A worker's HTTP/1 servers stay what they are (Node's
 * http/https.Server with every limit of the HTTP/1 path); a connection that speaks HTTP/2 is handed
 * from them to one Http2Server of the worker's, which never listens: it only runs the sessions.
 * - TLS: ALPN offers `h2` and `http/1.1`; a connection that chose `h2` becomes an HTTP/2 session,
 *   one that chose `http/1.1` (or nothing) takes Node's HTTP/1 path unchanged. The same port serves
 *   both, as Node's createSecureServer({ allowHTTP1 }) would; that fallback is not used because its
 *   HTTP/1 side lacks http.Server's options (maxHeaderSize, keepAliveTimeout, the connection checks)
 *   in Node 20.
 * - Cleartext: HTTP/2 by prior knowledge (h2c) from peers in forwarded_allow_ips only, as in
 *   Gunicorn 26. Their first bytes are looked at: the HTTP/2 preface makes a session, anything else
 *   is given back to the HTTP/1 parser. An untrusted peer's bytes go straight to the HTTP/1 parser,
 *   which refuses the preface with a 400.
 * Every HTTP/2 request then goes through the same pipeline as an HTTP/1 one (head checks, forwarded
 * headers, the app, metrics and the access log), through Node's compatibility API.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { Server as HttpsServer } from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { limitBody } from './body-limit.js';
import type { TrustFn } from './forwarded.js';
import { reject } from './refusals.js';
import type { Config } from './settings.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const { NGHTTP2_NO_ERROR } = http2.constants;

type ConnectionListener = (this: net.Server, socket: net.Socket) => void;

export function http2Enabled(config: Config): boolean {
  return config.http_protocols.includes('h2');
}

/** What a TLS port offers by ALPN, in the order of preference. */
export function alpnProtocols(config: Config): string[] {
  return http2Enabled(config) ? ['h2', 'http/1.1'] : ['http/1.1'];
}

/** Whether a connection's first bytes are (the start of) the HTTP/2 connection preface. */
export function startsWithPreface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, PREFACE.length);
  return n > 0 && chunk.compare(PREFACE, 0, n, 0, n) === 0;
}

export interface Http2Options {
  config: Config;
  trust: TrustFn;
  /** The worker's one pipeline (http-handler.ts), the same as its HTTP/1 servers'. */
  pipeline: (req: IncomingMessage, res: ServerResponse) => void;
  errorLog: Logger;
}

/**
 * Ends a stream whose answer is out while its request is still coming (RFC 9113 §8.1: RST_STREAM
 * NO_ERROR): HTTP/2's lingering close. Node sends what is queued of the answer before the reset.
 */
function endStreamAfterAnswer(this: http2.ServerHttp2Stream): void {
  if (this.readableEnded || this.closed) return;
  this.close(NGHTTP2_NO_ERROR);
  // What already arrived of the body is read into nothing, so the stream ends and is freed.
  this.resume();
}

/** The body cut at the limit with a 413 (the stream is then reset once the 413 is out). */
function watchBody(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, limit: number): void {
  limitBody(req, limit, () => {
    reject(res as unknown as ServerResponse, 413, `request body is larger than ${limit} bytes`);
    // Not false: a request paused now would be resumed by Node after its stream closed, which
    // Node's compatibility layer does not expect (an internal assertion, as an 'error').
    return true;
  });
}

/** The worker's HTTP/2 sessions: created from its HTTP/1 servers' connections, drained with GOAWAY. */
export class Http2Sessions {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private draining = false;

  constructor(private readonly o: Http2Options) {
    const { config, errorLog } = o;
    this.server = http2.createServer({
      settings: {
        maxConcurrentStreams: config.http2_max_concurrent_streams,
        // The HTTP/1 head limit, as HPACK-decoded bytes (names, values, 32 per field).
        maxHeaderListSize: config.limit_request_header_size,
        enablePush: false,
      },
      // Past this many fields Node refuses the stream; below it the pipeline answers 431 by its count
      // (the 4 pseudo-headers, :method :path :scheme :authority, counted with the fields).
      maxHeaderListPairs: config.limit_request_fields + 8,
    });
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('sessionError', (err: NodeJS.ErrnoException) =>
      errorLog.debug({ code: err.code }, `HTTP/2 session error: ${err.message}`),
    );
  }

  /** A TLS server: connections that chose `h2` by ALPN become sessions, the others keep the HTTP/1 path. */
  attachTls(server: HttpsServer): void {
    const sessions = this.server;
    this.intercept(server, 'secureConnection', (socket, h1) => {
      if ((socket as tls.TLSSocket).alpnProtocol === 'h2') sessions.emit('connection', socket);
      else h1(socket);
    });
  }

  /** A cleartext server: a trusted peer that opens with the preface gets HTTP/2 (prior knowledge). */
  attachCleartext(server: HttpServer): void {
    const { trust, config } = this.o;
    const sessions = this.server;
    const peekMs = config.header_timeout * 1000;
    this.intercept(server, 'connection', (socket, h1) => {
      const peer = socket.remoteAddress;
      // A unix-socket peer has no address and is trusted, as for forwarded headers (forwarded.ts).
      if (peer !== undefined && !trust(peer, 0)) {
        h1(socket);
        return;
      }
      // Until a parser owns the socket, its errors and its silence are handled here.
      const onError = (): void => void socket.destroy();
      const timer = setTimeout(onError, peekMs);
      socket.on('error', onError);
      socket.once('close', () => clearTimeout(timer));
      // Decided once the bytes differ from the preface or hold all of it: a first segment of "P"
      // may be the start of "POST" as well as of "PRI * HTTP/2.0".
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const h2 = startsWithPreface(head);
        if (h2 && head.length < PREFACE.length) return;
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('end', onError);
        socket.pause();
        socket.unshift(head);
        socket.removeListener('error', onError);
        // An HTTP/2 session reads what is buffered; the HTTP/1 parser is fed it by resuming.
        if (h2) sessions.emit('connection', socket);
        else {
          h1(socket);
          socket.resume();
        }
      };
      socket.on('data', onData);
      // The client stopped inside the preface: neither protocol has a request to answer.
      socket.once('end', onError);
    });
  }

  /** GOAWAY on every session: no new streams, the open ones finish, then each connection closes. */
  drain(): void {
    this.draining = true;
    for (const session of this.sessions) session.close();
  }

  /** Puts `route` in the place of Node's HTTP/1 connection listener, which it may still call. */
  private intercept(
    server: net.Server,
    event: 'connection' | 'secureConnection',
    route: (socket: net.Socket, h1: (socket: net.Socket) => void) => void,
  ): void {
    const [h1] = server.listeners(event) as ConnectionListener[];
    if (!h1) throw new Error(`no HTTP/1 ${event} listener to take over`);
    server.removeListener(event, h1);
    const toH1 = (socket: net.Socket): void => h1.call(server, socket);
    server.prependListener(event, (socket: net.Socket) => route(socket, toH1));
  }

  private onSession(session: http2.ServerHttp2Session): void {
    const { config } = this.o;
    this.sessions.add(session);
    if (this.draining) {
      session.close();
      return;
    }
    // Idle and header timeouts, as HTTP/1's: header_timeout for the first request, keepalive once
    // no stream is open (0: no limit, as for HTTP/1). A stream that is open holds the connection.
    const idleMs = config.keepalive * 1000;
    const close = (): void => session.close();
    let timer: NodeJS.Timeout | undefined = setTimeout(close, config.header_timeout * 1000);
    let open = 0;
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      if (open++ === 0) clearTimeout(timer);
      stream.once('close', () => {
        if (--open === 0 && idleMs > 0 && !session.closed) timer = setTimeout(close, idleMs);
      });
    });
    session.once('close', () => {
      clearTimeout(timer);
      this.sessions.delete(session);
    });
  }

  private onRequest(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    const h = req.headers;
    // The app contract's Host: HTTP/2 carries it as :authority (RFC 9113 §8.3.1).
    if (h.host === undefined && h[':authority'] !== undefined) h.host = h[':authority'];
    if (!req.stream.endAfterHeaders) req.stream.once('finish', endStreamAfterAnswer);
    const limit = this.o.config.limit_request_body;
    if (limit > 0 && h['content-length'] === undefined && !req.stream.endAfterHeaders) watchBody(req, res, limit);
    this.o.pipeline(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  }
}
