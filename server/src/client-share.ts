/**
 * One client address's share of a worker's app (max_in_flight_per_client): at most `limit` of its
 * requests are in the app at once; the rest wait their turn, first come first served, and a
 * request that waited `waitMs` is answered 503 without the app. Other addresses never wait behind
 * them. Why: 10,000 requests for a 4 MB file sent at once from one address (slow readers that
 * never read) cost the sample app's workers about 3 ms of CPU each, 25–30 s of the servers' core in
 * which normal clients got next to nothing; with the app taking 128 of them per worker at a time,
 * normal clients kept their whole throughput (docs/reliability.md, reliability/FINDINGS.md).
 *
 * "In the app" lasts until the response's 'close': a response a client never reads keeps its
 * place, so a reader that never reads holds at most `limit` of the worker's app, not more. A
 * waiting request's connection is marked WAITING, and the connection guard may shed it under
 * pressure like any connection that holds a slot without being served. The pipeline exempts peers
 * in forwarded_allow_ips: a proxy carries many clients. (With proxy_protocol the peer is the client
 * its header names.) Nothing is kept for an address with nothing in the app.
 */
import type { ServerResponse } from 'node:http';
import { reject } from './refusals.js';
import type { ClientWait } from './worker-stats.js';

/** On a waiting request's response: it has not reached the app yet. */
export const WAITING = Symbol('gateway.waiting');

type Waiting = ServerResponse & { [WAITING]?: boolean };

export interface ClientShareOptions {
  /** Requests of one address in the app at once; 0: no bound. */
  limit: number;
  /** How long a request may wait for its turn before its 503. */
  waitMs: number;
  /** A request that had to wait: its turn came (served), or its 503 did (timed_out). */
  onWait: (outcome: ClientWait) => void;
}

interface Turn {
  res: Waiting;
  start: () => void;
  timer: NodeJS.Timeout;
}

export class ClientShare {
  /** Requests in the app, by address; an address with none is not a key. */
  private readonly inApp = new Map<string, number>();
  private readonly queues = new Map<string, Turn[]>();

  constructor(private readonly o: ClientShareOptions) {}

  /**
   * Whether a request of `peer` may go to the app now (counted in its share until its response's
   * 'close'); undefined `peer` (trusted, or no address): always. When not, call wait().
   */
  enter(peer: string | undefined, res: ServerResponse): boolean {
    if (this.o.limit <= 0 || peer === undefined) return true;
    if ((this.inApp.get(peer) ?? 0) >= this.o.limit) return false;
    this.count(peer, res);
    return true;
  }

  /** Queues a request enter() turned away: `start` runs when its turn comes, or it gets its 503. */
  wait(peer: string, res: ServerResponse, start: () => void): void {
    const turn: Turn = { res, start, timer: setTimeout(() => this.giveUp(peer, turn), this.o.waitMs) };
    turn.timer.unref();
    (res as Waiting)[WAITING] = true;
    const queue = this.queues.get(peer);
    if (queue) queue.push(turn);
    else this.queues.set(peer, [turn]);
    // The client went away (or was shed) while it waited: its place goes, nothing reaches the app.
    res.once('close', () => {
      if (!(res as Waiting)[WAITING]) return;
      this.leaveQueue(peer, turn);
    });
  }

  private count(peer: string, res: ServerResponse): void {
    this.inApp.set(peer, (this.inApp.get(peer) ?? 0) + 1);
    res.once('close', () => this.leave(peer));
  }

  /** A request of `peer` left the app: the next one waiting takes its place. */
  private leave(peer: string): void {
    const left = (this.inApp.get(peer) ?? 1) - 1;
    if (left > 0) this.inApp.set(peer, left);
    else this.inApp.delete(peer);
    const queue = this.queues.get(peer);
    const next = queue?.shift();
    if (!next) return;
    if (queue!.length === 0) this.queues.delete(peer);
    clearTimeout(next.timer);
    next.res[WAITING] = false;
    this.o.onWait('served');
    this.count(peer, next.res);
    next.start();
  }

  private giveUp(peer: string, turn: Turn): void {
    if (!turn.res[WAITING]) return;
    this.leaveQueue(peer, turn);
    this.o.onWait('timed_out');
    reject(turn.res, 503, 'too many requests from this address in progress');
  }

  private leaveQueue(peer: string, turn: Turn): void {
    turn.res[WAITING] = false;
    clearTimeout(turn.timer);
    const queue = this.queues.get(peer);
    const i = queue?.indexOf(turn) ?? -1;
    if (i >= 0) queue!.splice(i, 1);
    if (queue?.length === 0) this.queues.delete(peer);
  }
}
