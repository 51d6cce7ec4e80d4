/**
 * The master's side of the metrics (served by master-endpoints.ts): the master's own figures
 * (workers by state and their target, each worker's memory by slot, restarts, reloads) and, at each
 * scrape, the workers' figures added up. Every label value the master knows of is exported from the
 * start, at 0, so rate() and increase() see the first restart, and a state with no worker reads 0,
 * not absent. Request counters are summed from each live worker's latest counts plus those of the
 * workers gone, so they never go down when a worker is replaced (Prometheus would take the drop for
 * a counter reset); Node's own figures are prom-client's aggregation.
 */
import type { ChildProcess } from 'node:child_process';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Heartbeat, MetricsReply, RecycleReason } from './protocol.js';
import { addCounts, emptyCounts, type RequestCounts, requestMetrics } from './worker-stats.js';

/** Why a worker was replaced: the `reason` label of gateway_worker_restarts_total (kill: `nodicorn ctl kill PID`). */
export const RESTART_REASONS = ['crash', 'timeout', 'recycle', 'reload', 'scale', 'kill'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

export const WORKER_STATES = ['booting', 'ready', 'stopping'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/** What the metrics need of a worker the arbiter keeps. */
export interface MetricsWorker {
  readonly child: ChildProcess;
  readonly state: WorkerState;
  /** A small number no other live worker has (the lowest free one at its fork): a bounded label, unlike a pid. */
  readonly slot: number;
  /** Resident memory in bytes, from its latest heartbeat. */
  rss?: number;
  /** Its latest request counts (heartbeat or scrape), added to the retired total once it is gone. */
  counts?: RequestCounts;
  /** Its requests in flight at the latest scrape (the control socket's `workers` asks for one). */
  inFlight?: number;
}

/** The metrics as `nodicorn ctl stats` shows them, by sample name (see snapshot()). */
export type MetricsSnapshot = Record<string, number | Record<string, number>>;

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
  private seq = 0;
  private readonly waiters = new Map<number, MetricsWaiter>();
  /** Request counts of the workers that have exited: the counters stay monotonic across restarts. */
  private readonly retired = emptyCounts();
  /** Workers just gone, whose last message (the final counts) may still be in the channel. */
  private readonly leaving = new Set<MetricsWorker>();

  /** `workers` lists the workers the arbiter keeps now (live and stopping), `target` how many it keeps ready. */
  constructor(
    private readonly workers: { values(): Iterable<MetricsWorker> },
    target: () => number,
  ) {
    const list = () => workers.values();
    const registers = [this.registry];
    new Gauge({
      name: 'gateway_workers',
      help: 'Worker processes, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        for (const state of WORKER_STATES) this.set({ state }, 0);
        for (const w of list()) this.inc({ state: w.state });
      },
    });
    new Gauge({
      name: 'gateway_workers_target',
      help: 'Workers the master keeps ready (--workers, TTIN/TTOU, a reload).',
      registers,
      collect() {
        this.set(target());
      },
    });
    new Gauge({
      name: 'gateway_worker_resident_memory_bytes',
      help: "Each worker's resident memory, by worker slot (0, 1, ...: reused by its replacement).",
      labelNames: ['slot'],
      registers,
      collect() {
        this.reset();
        for (const w of list()) if (w.rss !== undefined) this.set({ slot: String(w.slot) }, w.rss);
      },
    });
    for (const reason of RESTART_REASONS) this.restarts.inc({ reason }, 0);
    for (const result of ['ok', 'failed']) this.reloads.inc({ result }, 0);
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
    w.rss = hb.rss;
    if (hb.counts) w.counts = hb.counts;
  }

  onReply(w: MetricsWorker, msg: MetricsReply): void {
    w.counts = msg.counts;
    w.inFlight = msg.inFlight;
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

  /**
   * Asks every live worker for its figures (bounded: a hung worker must not hang the scrape). The
   * request counters are summed here from each worker's latest counts, a silent worker's from its
   * last heartbeat, plus those of workers gone.
   */
  private async gather(): Promise<Registry> {
    const live = [...this.workers.values()].filter((w) => w.child.connected && w.state !== 'booting');
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
    for (const w of [...this.workers.values(), ...this.leaving]) if (w.counts) addCounts(total, w.counts);
    const parts = [requestMetrics(total, waiter.inFlight), ...waiter.defaults];
    return Registry.merge([AggregatorRegistry.aggregate(parts as never), this.registry]);
  }

  /** The text /metrics answers. */
  async collect(): Promise<string> {
    return (await this.gather()).metrics();
  }

  /**
   * The same scrape as figures, for the control socket's `stats` (each worker's counts refreshed on
   * the way): a sample without labels is its number, one with labels an object by `name=value,...`.
   */
  async snapshot(): Promise<MetricsSnapshot> {
    const out: MetricsSnapshot = {};
    for (const metric of await (await this.gather()).getMetricsAsJSON()) {
      for (const v of metric.values as Array<{ value: number; labels: object; metricName?: string }>) {
        const name = v.metricName ?? metric.name;
        const labels = Object.entries(v.labels).map(([k, l]) => `${k}=${String(l)}`);
        if (labels.length === 0) out[name] = v.value;
        else {
          const byLabels = out[name];
          out[name] = { ...(typeof byLabels === 'object' ? byLabels : {}), [labels.join(',')]: v.value };
        }
      }
    }
    return out;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
