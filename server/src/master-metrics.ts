/**
 * The master's side of the metrics: the /metrics server on its own address (never the public
 * port), the master's own figures (workers by state, restarts, reloads) and, at each scrape, the
 * workers' figures added up. Request counters are summed from each live worker's latest counts
 * plus those of the workers gone, so they never go down when a worker is replaced (Prometheus would
 * take the drop for a counter reset); Node's own figures are prom-client's aggregation.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { parseBind } from './binds.js';
import { GatewayError } from './errors.js';
import type { Heartbeat, MetricsReply, RecycleReason } from './protocol.js';
import { addCounts, emptyCounts, type RequestCounts, requestMetrics } from './worker-stats.js';

/** Why a worker was replaced: the `reason` label of gateway_worker_restarts_total. */
export type RestartReason = 'crash' | 'timeout' | 'recycle' | 'reload' | 'scale';

export type WorkerState = 'booting' | 'ready' | 'stopping';

/** What the metrics need of a worker the arbiter keeps. */
export interface MetricsWorker {
  readonly child: ChildProcess;
  readonly state: WorkerState;
  /** Its latest request counts (heartbeat or scrape), added to the retired total once it is gone. */
  counts?: RequestCounts;
}

/** One scrape's replies as they come in: Node's figures per worker, and the in-flight sum. */
interface MetricsWaiter {
  pending: number;
  defaults: unknown[][];
  inFlight: number;
  done: () => void;
}

/** After its exit, how long a worker's messages (its final counts) may still arrive. */
const LEAVING_MS = 5000;
/** A hung worker must not hang the scrape: its figures are left out after this. */
const SCRAPE_WAIT_MS = 1000;

export class MasterMetrics {
  private readonly registry = new Registry();
  private readonly restarts = new Counter({
    name: 'gateway_worker_restarts_total',
    help: 'Workers replaced, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly reloads = new Counter({
    name: 'gateway_reloads_total',
    help: 'HUP reloads, by result.',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private server: http.Server | undefined;
  private seq = 0;
  private readonly waiters = new Map<number, MetricsWaiter>();
  /** Request counts of the workers that have exited: the counters stay monotonic across restarts. */
  private readonly retired = emptyCounts();
  /** Workers just gone, whose last message (the final counts) may still be in the channel. */
  private readonly leaving = new Set<MetricsWorker>();

  /** `workers` lists the workers the arbiter keeps now (live and stopping). */
  constructor(
    private readonly log: Logger,
    private readonly workers: () => Iterable<MetricsWorker>,
  ) {
    const list = workers;
    new Gauge({
      name: 'gateway_workers',
      help: 'Worker processes, by state.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const w of list()) this.inc({ state: w.state });
      },
    });
  }

  restarted(reason: RestartReason): void {
    this.restarts.inc({ reason });
  }

  /** A worker asked to be replaced and was granted it: an uncaught error counts as a crash. */
  recycled(reason: RecycleReason): void {
    this.restarted(reason === 'error' ? 'crash' : 'recycle');
  }

  reloaded(result: 'ok' | 'failed'): void {
    this.reloads.inc({ result });
  }

  onHeartbeat(w: MetricsWorker, hb: Heartbeat): void {
    if (hb.counts) w.counts = hb.counts;
  }

  onReply(w: MetricsWorker, msg: MetricsReply): void {
    w.counts = msg.counts;
    const waiter = this.waiters.get(msg.id);
    if (!waiter) return;
    waiter.defaults.push(msg.defaults);
    waiter.inFlight += msg.inFlight;
    if (--waiter.pending === 0) waiter.done();
  }

  /**
   * 'exit' can come before the worker's last messages are read: its counts are folded into the
   * retired total only once those have surely arrived.
   */
  workerExited(w: MetricsWorker): void {
    this.leaving.add(w);
    setTimeout(() => {
      this.leaving.delete(w);
      if (w.counts) addCounts(this.retired, w.counts);
    }, LEAVING_MS).unref();
  }

  /** Serves /metrics on `address`, or throws GW_ERR_BIND. */
  async start(address: string): Promise<void> {
    const bind = parseBind(address);
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.collect().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => {
          this.log.error({ err }, 'Metrics collection failed');
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new GatewayError('GW_ERR_BIND', `cannot serve metrics on ${address}: ${err.code ?? err.message}`)),
      );
      if (bind.kind === 'unix') server.listen(bind.path, resolve);
      else server.listen(bind.port, bind.host, resolve);
    });
    this.server = server;
    const a = server.address();
    const where =
      typeof a === 'object' && a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : address;
    this.log.info(`Metrics at: ${where}/metrics`);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s)
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
  }

  /**
   * Asks every live worker for its figures (bounded: a hung worker must not hang the scrape). The
   * request counters are summed here from each worker's latest counts, a silent worker's from its
   * last heartbeat, plus those of workers gone.
   */
  private async collect(): Promise<string> {
    const live = [...this.workers()].filter((w) => w.child.connected && w.state !== 'booting');
    const id = ++this.seq;
    const waiter: MetricsWaiter = { pending: live.length, defaults: [], inFlight: 0, done: () => {} };
    if (live.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SCRAPE_WAIT_MS);
        waiter.done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiters.set(id, waiter);
        for (const w of live) w.child.send({ t: 'metrics', id });
      });
      this.waiters.delete(id);
    }
    const total = emptyCounts();
    addCounts(total, this.retired);
    for (const w of [...this.workers(), ...this.leaving]) if (w.counts) addCounts(total, w.counts);
    const parts = [requestMetrics(total, waiter.inFlight), ...waiter.defaults];
    const merged = Registry.merge([AggregatorRegistry.aggregate(parts as never), this.registry]);
    return merged.metrics();
  }
}
