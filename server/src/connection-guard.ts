/**
 * The worker's connection ceiling (worker_connections), enforced here on 'connection' instead of by
 * Node's server.maxConnections, which refuses the newest connection once the worker is full: under
 * 5,000 slow clients that newest one is nearly always a normal client's, and the worker served none
 * (docs/reliability.md). From 80% of the ceiling on, each new connection makes this guard close
 * the oldest connections that cost the worker a slot without being served (shed_connections), back
 * to 80%; at the ceiling one is closed for the newcomer, which is refused only when there is none.
 * Shedding oldest-first is a header timeout that shortens exactly as much as the pressure requires.
 *
 * The trim waits until the newest connections have been read (two turns of the event loop):
 * connections accepted in one burst have their heads still in the kernel, and a normal client among
 * them would look exactly like a silent attacker. The headroom of 20% is what lets it wait.
 *
 * Sheddable, when its HTTP/1 parser is Node's, oldest first:
 * - `head`: no request head completed and never answered, and it sent part of one (slowloris) or
 *   nothing for a whole sweep window (a silent connect);
 * - `body`: its request body incomplete and arriving slower than MIN_RATE (slow body);
 * - `response`: its response waiting in the worker's buffer, read slower than MIN_RATE (slow read);
 * - `idle`: kept alive after a response, and nothing moving;
 * - `waiting`: its request waits for its address's turn at the app (client-share.ts), nothing moving.
 * "Slower than MIN_RATE" is over a whole SWEEP_MS window, as Apache's mod_reqtimeout MinRate.
 * Never one whose request waits on the app, nor an upgraded (WebSocket) or HTTP/2 connection, a TLS
 * handshake or a PROXY header in progress: those have bounds of their own. A shed connection loses
 * only its own request, which was stalled on its own client.
 *
 * max_connections_per_client caps the connections one peer address holds on this worker; peers in
 * forwarded_allow_ips (and proxy_allow_ips with proxy_protocol) are exempt: a proxy carries many
 * clients. Nothing here runs per request: the bookkeeping is per connection, the sweep once a second
 * from half the ceiling on, the trim only past 80%.
 */
import type { ServerResponse } from 'node:http';
import type net from 'node:net';
import { WAITING } from './client-share.js';
import type { TrustFn } from './forwarded.js';

/** How often byte counts are looked at, once the worker is half full. */
export const SWEEP_MS = 1000;
/** Bytes per second below which a body, a response or an idle connection is slow (Apache's MinRate). */
export const MIN_RATE = 500;

export const SHED_REASONS = ['head', 'body', 'response', 'idle', 'waiting'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];
export const REFUSE_REASONS = ['worker_full', 'per_client'] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];

/** What Node's HTTP/1 server leaves on the socket it serves. */
type HttpSocket = net.Socket & {
  parser?: unknown;
  _httpMessage?: (ServerResponse & { req?: { complete: boolean }; [WAITING]?: boolean }) | null;
};

interface Entry {
  socket: net.Socket;
  /** The socket Node's HTTP/1 server reads: the raw one, or the TLS one once its handshake is done. */
  http: HttpSocket | undefined;
  peer: string | undefined;
  /** Bytes read and bytes sent (not buffered) at the last sweep; undefined before its first. */
  read: number | undefined;
  sent: number;
  /** The last whole sweep window moved fewer than MIN_RATE bytes per second. */
  slow: boolean;
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

  private trimming = false;

  constructor(private readonly o: ConnectionGuardOptions) {
    setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  /** From this many open connections on, each new one makes the worker trim back to it: 80% of the ceiling. */
  private get mark(): number {
    return this.o.ceiling - Math.max(1, Math.floor(this.o.ceiling / 5));
  }

  /** Each connection's bytes over the last window: slow or not. Below half the ceiling, nothing runs. */
  private sweep(): void {
    if (!this.o.shed || this.open.size * 2 < this.o.ceiling) return;
    const floor = (MIN_RATE * SWEEP_MS) / 1000;
    for (const entry of this.open.values()) {
      const s = entry.http;
      if (!s) continue;
      const read = s.bytesRead;
      const sent = s.bytesWritten - s.writableLength;
      // Its first window may be a moment long: only whole windows are judged.
      entry.slow = entry.read !== undefined && read - entry.read + (sent - entry.sent) < floor;
      entry.read = read;
      entry.sent = sent;
    }
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
      read: undefined,
      sent: 0,
      slow: false,
    };
    this.open.set(socket, entry);
    if (entry.peer !== undefined) this.perPeer.set(entry.peer, (this.perPeer.get(entry.peer) ?? 0) + 1);
    socket.once('close', () => this.forget(entry));
    if (o.shed && this.open.size > this.mark) this.scheduleTrim();
    if (this.open.size <= o.ceiling) return;
    // Past the ceiling: decided now, among the connections that have been read.
    const victim = o.shed ? this.victims(1)[0] : undefined;
    if (victim) this.shed(victim);
    else {
      o.onRefuse('worker_full');
      this.forget(entry);
      socket.destroy();
    }
  }

  /** After the newest connections have been read: the next turn's poll reads them, its check phase trims. */
  private scheduleTrim(): void {
    if (this.trimming) return;
    this.trimming = true;
    setImmediate(() =>
      setImmediate(() => {
        this.trimming = false;
        for (const victim of this.victims(this.open.size - this.mark)) this.shed(victim);
      }),
    );
  }

  private shed(victim: { entry: Entry; reason: ShedReason }): void {
    this.o.onShed(victim.reason);
    this.forget(victim.entry);
    victim.entry.socket.destroy();
  }

  private forget(entry: Entry): void {
    if (!this.open.delete(entry.socket) || entry.peer === undefined) return;
    const left = (this.perPeer.get(entry.peer) ?? 1) - 1;
    if (left > 0) this.perPeer.set(entry.peer, left);
    else this.perPeer.delete(entry.peer);
  }

  /** Up to `count` connections that may be shed, oldest first, with why. */
  private victims(count: number): Array<{ entry: Entry; reason: ShedReason }> {
    const out: Array<{ entry: Entry; reason: ShedReason }> = [];
    if (count <= 0) return out;
    for (const entry of this.open.values()) {
      const reason = sheddable(entry);
      if (reason && out.push({ entry, reason }) === count) break;
    }
    return out;
  }
}

function sheddable(entry: Entry): ShedReason | undefined {
  const s = entry.http;
  // Not (or no longer) Node's HTTP/1: TLS handshake, PROXY header, HTTP/2, upgraded.
  if (!s?.parser) return undefined;
  const res = s._httpMessage;
  if (!res) {
    if (s.bytesWritten === 0) return s.bytesRead > 0 || entry.slow ? 'head' : undefined;
    return entry.slow ? 'idle' : undefined;
  }
  if (!entry.slow) return undefined;
  if (res[WAITING]) return 'waiting';
  if (res.req && !res.req.complete) return 'body';
  if (s.writableLength > 0) return 'response';
  // The request is complete and its response not buffered: it waits on the app.
  return undefined;
}
