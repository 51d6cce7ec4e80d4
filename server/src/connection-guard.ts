/**
 * The worker's connection ceiling (worker_connections), enforced here on 'connection' instead of by
 * Node's server.maxConnections, which refuses the newest connection once the worker is full: under
 * 5,000 slow clients that newest one is nearly always a normal client's, and the worker served none
 * (docs/reliability.md). At the ceiling this guard closes instead the oldest connection that is
 * costing the worker a slot without being served (shed_connections), and refuses the newcomer only
 * when there is none. Shedding oldest-first is a header timeout that shortens exactly as much as the
 * pressure requires: a slot is held, at most, until ceiling newer connections have arrived.
 *
 * A connection may be shed when its HTTP/1 parser is Node's and, oldest first, either:
 * - `head`: it has not completed a request head and was never answered (slowloris, a silent connect);
 * - `body`: its request's body is incomplete and no byte came for STALLED_MS (slow body);
 * - `response`: its response waits in the worker's buffer and no byte left for STALLED_MS (slow read);
 * - `idle`: kept alive after a response, and no byte either way for STALLED_MS.
 * Never one whose request waits on the app, nor an upgraded (WebSocket) or HTTP/2 connection, a TLS
 * handshake or a PROXY header in progress: those have bounds of their own. A shed connection loses
 * only its own request, which was stalled on its own client.
 *
 * max_connections_per_client caps the connections one peer address holds on this worker; peers in
 * forwarded_allow_ips or proxy_allow_ips (a proxy in front carries many clients) are exempt. Nothing
 * here runs per request: the bookkeeping is per connection, and the scan only at the ceiling.
 */
import type { ServerResponse } from 'node:http';
import type net from 'node:net';
import type { TrustFn } from './forwarded.js';

/**
 * How long without a byte moving makes a stalled body, response or idle connection sheddable; seen
 * by a sweep every STALLED_MS / 2, so it is shed between 2 and 3 s after its last byte.
 */
export const STALLED_MS = 2000;

export const SHED_REASONS = ['head', 'body', 'response', 'idle'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];
export const REFUSE_REASONS = ['worker_full', 'per_client'] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];

/** What Node's HTTP/1 server leaves on the socket it serves. */
type HttpSocket = net.Socket & {
  parser?: unknown;
  _httpMessage?: (ServerResponse & { req?: { complete: boolean } }) | null;
};

interface Entry {
  socket: net.Socket;
  /** The socket Node's HTTP/1 server reads: the raw one, or the TLS one once its handshake is done. */
  http: HttpSocket | undefined;
  peer: string | undefined;
  /** Bytes read and bytes sent (not buffered) when last looked at, and when they last changed. */
  read: number;
  sent: number;
  progressAt: number;
}

export interface ConnectionGuardOptions {
  ceiling: number;
  shed: boolean;
  perClient: number;
  /** forwarded_allow_ips or proxy_allow_ips: exempt from the per-client cap. */
  trusted: TrustFn;
  onShed: (reason: ShedReason) => void;
  onRefuse: (reason: RefuseReason) => void;
}

export class ConnectionGuard {
  /** Open connections in accept order (a Map iterates in insertion order): the oldest first. */
  private readonly open = new Map<net.Socket, Entry>();
  private readonly perPeer = new Map<string, number>();

  constructor(private readonly o: ConnectionGuardOptions) {
    // Once the worker is half full, every connection's byte counts are looked at twice per
    // STALLED_MS, so that at the ceiling "no byte for STALLED_MS" is known, not guessed from a
    // first look. Below half, nothing runs.
    setInterval(() => this.sweep(), STALLED_MS / 2).unref();
  }

  private sweep(): void {
    if (!this.o.shed || this.open.size * 2 < this.o.ceiling) return;
    const now = performance.now();
    for (const entry of this.open.values()) moved(entry, now);
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Makes `server` go through the guard before any other handling (PROXY header, HTTP/2, http's
   * parser): call it once every other 'connection' listener is in place. `tls`: the server's
   * 'secureConnection' names the socket that carries HTTP.
   */
  attach(server: net.Server, tls: boolean): void {
    server.prependListener('connection', (socket: net.Socket) => this.admit(socket, tls));
    if (tls)
      server.prependListener('secureConnection', (secure: net.Socket & { _parent?: net.Socket }) => {
        const entry = secure._parent ? this.open.get(secure._parent) : undefined;
        if (entry) entry.http = secure;
      });
  }

  private admit(socket: net.Socket, tls: boolean): void {
    const { o } = this;
    const peer = socket.remoteAddress;
    const capped = o.perClient > 0 && peer !== undefined && !o.trusted(peer, 0);
    if (capped && (this.perPeer.get(peer) ?? 0) >= o.perClient) {
      o.onRefuse('per_client');
      socket.destroy();
      return;
    }
    const entry: Entry = {
      socket,
      http: tls ? undefined : socket,
      peer: capped ? peer : undefined,
      read: 0,
      sent: 0,
      progressAt: performance.now(),
    };
    this.open.set(socket, entry);
    if (entry.peer !== undefined) this.perPeer.set(entry.peer, (this.perPeer.get(entry.peer) ?? 0) + 1);
    socket.once('close', () => this.forget(entry));
    if (this.open.size <= o.ceiling) return;
    const victim = o.shed ? this.victim() : undefined;
    if (victim) {
      o.onShed(victim.reason);
      this.forget(victim.entry);
      victim.entry.socket.destroy();
    } else {
      o.onRefuse('worker_full');
      this.forget(entry);
      socket.destroy();
    }
  }

  private forget(entry: Entry): void {
    if (!this.open.delete(entry.socket) || entry.peer === undefined) return;
    const left = (this.perPeer.get(entry.peer) ?? 1) - 1;
    if (left > 0) this.perPeer.set(entry.peer, left);
    else this.perPeer.delete(entry.peer);
  }

  /** The oldest connection that may be shed, and why; the newest (the newcomer) is not looked at. */
  private victim(): { entry: Entry; reason: ShedReason } | undefined {
    const now = performance.now();
    let left = this.open.size - 1;
    for (const entry of this.open.values()) {
      if (left-- === 0) break;
      const reason = sheddable(entry, now);
      if (reason) return { entry, reason };
    }
    return undefined;
  }
}

function sheddable(entry: Entry, now: number): ShedReason | undefined {
  const s = entry.http;
  // Not (or no longer) Node's HTTP/1: TLS handshake, PROXY header, HTTP/2, upgraded.
  if (!s?.parser) return undefined;
  const res = s._httpMessage;
  if (!res && s.bytesWritten === 0) return 'head';
  if (moved(entry, now) || now - entry.progressAt < STALLED_MS) return undefined;
  if (!res) return 'idle';
  if (res.req && !res.req.complete) return 'body';
  if (s.writableLength > 0) return 'response';
  // The request is complete and its response not buffered: it waits on the app.
  return undefined;
}

/** Has a byte moved since the entry was last looked at? Unchanged counts: no progress since progressAt. */
function moved(entry: Entry, now: number): boolean {
  const s = entry.http;
  if (!s) return false;
  const read = s.bytesRead;
  const sent = s.bytesWritten - s.writableLength;
  if (read === entry.read && sent === entry.sent) return false;
  entry.read = read;
  entry.sent = sent;
  entry.progressAt = now;
  return true;
}
