/**
 * HTTP Upgrade requests (WebSockets) on a worker: vetted like any request, bounded, seen, and
 * never allowed to poison a connection.
 *
 * - Bounds: at most max_upgraded_connections upgraded connections per worker (503 past it) and
 *   max_upgraded_per_client per client address (429), so idle WebSockets cannot take every
 *   worker_connections slot; one on which nothing moves for upgrade_idle_timeout is closed.
 * - Answers: the app writes its answer on the raw socket itself (a 101, or anything else). A
 *   non-101 answer goes out with `Connection: close` whatever the app wrote, because the app
 *   (Fastify's websocket plugin, for one) may answer `keep-alive` and then destroy the socket: a
 *   proxy that pooled that connection would send the next request, often another client's, into
 *   a closed socket.
 * - Seen: each gets an X-Request-Id (when there is an access log), a line in the access log when
 *   its connection closes, and its status in the request metrics, counted when its answer is
 *   written (a WebSocket's lifetime is not a response time); close frames the app sends are
 *   counted by code (ws-frames.ts).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { UpgradeHandler } from './app-loader.js';
import type { TrustFn } from './forwarded.js';
import { vetUpgrade } from './head-checks.js';
import type { AccessLog } from './logger.js';
import { rawRefusal } from './refusals.js';
import type { Config } from './settings.js';
import type { WorkerStats } from './worker-stats.js';
import { CloseCodeSniffer } from './ws-frames.js';

export interface UpgradeGuardOptions {
  config: Config;
  trust: TrustFn;
  stats: WorkerStats;
  errorLog: Logger;
  accessLog: AccessLog | undefined;
  /** The app's upgrade handler; without one every upgrade is answered 501. */
  upgrade: UpgradeHandler | undefined;
  /** Whether the worker is draining: an upgrade is then refused with 503. */
  draining: () => boolean;
}

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type End = (chunk?: unknown, encoding?: unknown, cb?: unknown) => Duplex;

const HEAD_END = Buffer.from('\r\n\r\n');

/** The status of a response head at the start of `buf`, or undefined when it is not one. */
function statusOf(buf: Buffer): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, 16).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/**
 * The head at the start of `buf` with `extra` header lines added and, for anything but a 101, every
 * Connection header replaced by `Connection: close`. The head is assumed to be in the first write,
 * as Node's ServerResponse and ws write it.
 */
function rewriteHead(buf: Buffer, close: boolean, extra: string[]): Buffer {
  let end = buf.indexOf(HEAD_END);
  if (end < 0) end = buf.length;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const kept = close ? lines.filter((l, i) => i === 0 || !/^connection\s*:/i.test(l)) : lines;
  if (close) extra.push('Connection: close');
  const head = [kept[0], ...extra, ...kept.slice(1)].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), buf.subarray(end)]);
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  return undefined;
}

/** One per worker, shared by its servers: the counts are the worker's. */
export class UpgradeGuard {
  private open = 0;
  private readonly perClient = new Map<string, number>();
  private readonly idPrefix = `${randomBytes(4).toString('hex')}-u`;
  private seq = 0;

  constructor(private readonly o: UpgradeGuardOptions) {}

  /** Upgraded connections this worker holds now. */
  get size(): number {
    return this.open;
  }

  /** Node's 'upgrade' event. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { config, trust, upgrade, stats } = this.o;
    const started = performance.now();
    socket.on('error', () => socket.destroy());
    const client = String(req.headers['x-forwarded-for'] ?? (socket as Socket).remoteAddress ?? '');
    const vetted = vetUpgrade(req, config, trust);
    const id = this.requestId(req, socket);
    const log = (status: number) => this.accessLine(req, socket as Socket, status, started, id, client);
    const refuse = (raw: string, outcome: string, extra: string[]) => {
      const status = statusOf(Buffer.from(raw, 'latin1')) ?? 0;
      stats.record(status, (performance.now() - started) / 1000);
      stats.upgrade(outcome);
      socket.once('close', () => log(status));
      const lines = id === undefined ? extra : [`X-Request-Id: ${id}`, ...extra];
      // rawRefusal's head already says `Connection: close`.
      socket.end(rewriteHead(Buffer.from(raw, 'latin1'), false, lines));
    };
    // Refused without a handler, so `upgrade` is defined past this.
    const refusal = this.refusal(vetted, client);
    if (refusal) {
      refuse(...refusal);
      return;
    }
    const mine = this.perClient.get(client) ?? 0;
    this.open++;
    this.perClient.set(client, mine + 1);
    let status = 0;
    const stopIdle = this.watchIdle(socket as Socket);
    socket.once('close', () => {
      this.open--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
      stopIdle();
      log(status);
    });
    this.watchAnswer(socket, id, (s) => {
      status = s;
      stats.record(s, (performance.now() - started) / 1000);
      stats.upgrade(s === 101 ? 'switched' : 'answered');
    });
    try {
      upgrade!(req, socket, head);
    } catch (err) {
      this.o.errorLog.error({ err }, 'Error handling upgrade');
      socket.destroy();
    }
  }

  /** Why this upgrade is not handed to the app (the answer, the outcome counted, extra header lines), if it is not. */
  private refusal(vetted: string | undefined, client: string): [string, string, string[]] | undefined {
    const { config, upgrade, draining } = this.o;
    if (vetted) return [vetted, 'refused_head', []];
    if (!upgrade) return [rawRefusal(501), 'refused_no_handler', []];
    if (draining()) return [rawRefusal(503), 'refused_draining', []];
    const max = config.max_upgraded_connections;
    if (max > 0 && this.open >= max) return [rawRefusal(503), 'refused_worker_cap', ['Retry-After: 5']];
    const perClient = config.max_upgraded_per_client;
    if (perClient > 0 && (this.perClient.get(client) ?? 0) >= perClient) {
      return [rawRefusal(429), 'refused_client_cap', ['Retry-After: 5']];
    }
    return undefined;
  }

  /** Like the request pipeline: a trusted proxy's id is kept, anything else gets one of ours. */
  private requestId(req: IncomingMessage, socket: Duplex): string | undefined {
    if (!this.o.accessLog) return undefined;
    const peer = (socket as Socket).remoteAddress;
    const trusted = peer === undefined || this.o.trust(peer, 0);
    if (!trusted || req.headers['x-request-id'] === undefined) {
      req.headers['x-request-id'] = this.idPrefix + (++this.seq).toString(36);
    }
    return String(req.headers['x-request-id']);
  }

  /**
   * Watches what the app writes: the first write is its answer's head (rewritten: the request id,
   * and `Connection: close` unless it is a 101); after a 101 the frames, for their close codes.
   */
  private watchAnswer(socket: Duplex, id: string | undefined, answered: (status: number) => void): void {
    const write = socket.write as Write;
    const end = socket.end as End;
    let sniffer: CloseCodeSniffer | undefined;
    let seenHead = false;
    const look = (chunk: unknown, encoding: unknown): unknown => {
      const buf = toBuffer(chunk, encoding);
      if (buf === undefined) return chunk;
      if (sniffer) {
        sniffer.feed(buf);
        return chunk;
      }
      if (seenHead) return chunk;
      seenHead = true;
      const status = statusOf(buf);
      if (status === undefined) return chunk;
      answered(status);
      // Frames follow the head; a head split over writes (none that Node or ws write) is not followed.
      const end = buf.indexOf(HEAD_END);
      if (status === 101 && end >= 0) {
        sniffer = new CloseCodeSniffer((code) => this.o.stats.wsClose(code));
        sniffer.feed(buf.subarray(end + HEAD_END.length));
      }
      // Not even its first line whole in this write: left as written.
      if (buf.indexOf('\r\n') < 0) return chunk;
      return rewriteHead(buf, status !== 101, id === undefined ? [] : [`X-Request-Id: ${id}`]);
    };
    socket.write = function (this: Duplex, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
      const out = look(chunk, encoding);
      // A rewritten head is a Buffer: its encoding argument no longer applies.
      if (out !== chunk) return write.call(this, out, typeof encoding === 'function' ? encoding : cb);
      return write.call(this, chunk, encoding, cb);
    } as Duplex['write'];
    socket.end = function (this: Duplex, chunk?: unknown, encoding?: unknown, cb?: unknown): Duplex {
      if (chunk === undefined || chunk === null || typeof chunk === 'function')
        return end.call(this, chunk, encoding, cb);
      const out = look(chunk, encoding);
      if (out !== chunk) return end.call(this, out, typeof encoding === 'function' ? encoding : cb);
      return end.call(this, chunk, encoding, cb);
    } as Duplex['end'];
  }

  /**
   * Closes the connection once nothing has moved either way for a whole period: bytes are compared
   * once a period, so a quiet one goes between one and two periods after its last byte. Counting
   * bytes, not timers on the socket: a WebSocket library resets the socket's own timeout.
   */
  private watchIdle(socket: Socket): () => void {
    const ms = this.o.config.upgrade_idle_timeout * 1000;
    if (ms <= 0) return () => {};
    let last = -1;
    const timer = setInterval(() => {
      const moved = socket.bytesRead + socket.bytesWritten;
      if (moved !== last) {
        last = moved;
        return;
      }
      this.o.stats.upgrade('idle_timeout');
      this.o.errorLog.debug({ peer: socket.remoteAddress }, 'Upgraded connection idle: closed');
      socket.destroy();
    }, ms);
    timer.unref();
    return () => clearInterval(timer);
  }

  private accessLine(
    req: IncomingMessage,
    socket: Socket,
    status: number,
    started: number,
    id: string | undefined,
    client: string,
  ): void {
    this.o.accessLog?.write({
      method: req.method,
      path: req.url,
      status,
      // Like nginx's $bytes_sent for a WebSocket: everything written on the connection.
      bytes_sent: socket.bytesWritten,
      // For a WebSocket, its whole life (nginx's $request_time is the same).
      duration_ms: Math.round((performance.now() - started) * 1e3) / 1e3,
      client_ip: client,
      worker_pid: process.pid,
      request_id: id,
      upgrade: req.headers.upgrade,
      completed: status !== 0,
    });
  }
}
