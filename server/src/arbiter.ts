/**
 * The master process (Gunicorn's arbiter). It binds the sockets, forks the workers and hands them
 * the listening handles, keeps their number, replaces the dead and the hung, recycles and reloads
 * without dropping a request, and stops them on a signal. Signal handlers only enqueue; the queue
 * is drained in one place, so tests can push signals without sending them.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { closeListener, type Listener, listen, parseBind } from './binds.js';
import { EXIT, exitCodeOf, GatewayError } from './errors.js';
import type { BootMessage, WorkerMessage } from './protocol.js';
import type { Config } from './settings.js';
import { tlsEnabled, tlsOptions } from './tls.js';
import { addCounts, emptyCounts, type RequestCounts, requestMetrics } from './worker-stats.js';

export type MasterSignal = 'HUP' | 'TERM' | 'INT' | 'QUIT' | 'TTIN' | 'TTOU' | 'USR1';
export const MASTER_SIGNALS: readonly MasterSignal[] = ['HUP', 'TERM', 'INT', 'QUIT', 'TTIN', 'TTOU', 'USR1'];

type RestartReason = 'crash' | 'timeout' | 'recycle' | 'reload' | 'scale';

interface WorkerRecord {
  id: number;
  child: ChildProcess;
  pid: number;
  generation: number;
  state: 'booting' | 'ready' | 'stopping';
  /** Waiting for its replacement to be ready (max requests, memory, error), then stopped. */
  retire: boolean;
  lastBeat: number;
  startedAt: number;
  stoppingSince?: number;
  abortedAt?: number;
  /** Its latest request counts (heartbeat or scrape), kept in `retired` once it exits. */
  counts?: RequestCounts;
}

/** One scrape's replies as they come in: Node's figures per worker, and the in-flight sum. */
interface MetricsWaiter {
  pending: number;
  defaults: unknown[][];
  inFlight: number;
  done: () => void;
}

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
/** A worker that dies younger than this counts towards the crash-loop backoff. */
const HEALTHY_AFTER_MS = 5000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 10_000;
/** Between SIGABRT and SIGKILL for a hung worker: long enough to write a core or a report. */
const ABORT_GRACE_MS = 2000;
const TICK_MS = 250;
/** After its exit, how long a worker's messages may still arrive. */
const LEAVING_MS = 5000;

export interface ArbiterOptions {
  config: Config;
  app: string;
  log: Logger;
  /** Re-reads the configuration on HUP (config file and environment may have changed). */
  reloadConfig?: () => Promise<Config>;
  /** Reopens the master's own log files on USR1. */
  reopenLogs?: () => void;
}

export class Arbiter {
  private config: Config;
  private readonly app: string;
  private readonly log: Logger;
  private readonly opts: ArbiterOptions;
  private listeners: Listener[] = [];
  private readonly workers = new Map<number, WorkerRecord>();
  private target: number;
  private generation = 1;
  private nextWorkerId = 1;
  private phase: 'booting' | 'running' | 'stopping' = 'booting';
  /** A reload in progress, with what it replaced: a failed one puts them back. */
  private reload_: { from: number; startedAt: number; config: Config; target: number } | undefined;
  private pendingReload = false;
  private gracefulStop = false;
  private failures = 0;
  private nextSpawnAt = 0;
  private readonly queue: MasterSignal[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private metricsServer: http.Server | undefined;
  private metricsSeq = 0;
  private readonly metricsWaiters = new Map<number, MetricsWaiter>();
  /** Request counts of the workers that have exited: the counters stay monotonic across restarts. */
  private readonly retired = emptyCounts();
  /** Workers just gone, whose last message (the final counts) may still be in the channel. */
  private readonly leaving = new Set<WorkerRecord>();
  private exit!: (code: number) => void;
  readonly done: Promise<number>;

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

  constructor(opts: ArbiterOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.app = opts.app;
    this.log = opts.log;
    this.target = opts.config.workers;
    this.done = new Promise((resolve) => {
      this.exit = resolve;
    });
    const self = this;
    new Gauge({
      name: 'gateway_workers',
      help: 'Worker processes, by state.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const w of self.workers.values()) this.inc({ state: w.state });
      },
    });
  }

  /** Binds every address, then boots the workers. Nothing is left half-started on failure. */
  async start(): Promise<void> {
    const { config, log } = this;
    if (tlsEnabled(config)) tlsOptions(config); // a bad certificate stops us before anything binds
    try {
      for (const bind of config.bind) this.listeners.push(await listen(bind, config.backlog, config.unix_socket_mode));
      if (config.pidfile) writePidfile(config.pidfile);
      if (config.metrics_bind) await this.startMetrics(config.metrics_bind);
    } catch (err) {
      this.closeListeners();
      await this.stopMetrics();
      if (config.pidfile) removePidfile(config.pidfile);
      throw err;
    }
    log.info(`Starting gateway (master pid: ${process.pid})`);
    const scheme = tlsEnabled(config) ? 'https' : 'http';
    for (const l of this.listeners)
      log.info(`Listening at: ${l.bind.kind === 'unix' ? l.address : `${scheme}://${l.address}`} (${process.pid})`);
    log.info(`Using ${this.target} worker${this.target === 1 ? '' : 's'} for ${this.app}`);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.manageWorkers();
  }

  /** Enqueue a signal (what the process signal handlers call, and what tests call). */
  signal(sig: MasterSignal): void {
    this.queue.push(sig);
    setImmediate(() => this.drainQueue());
  }

  get workerPids(): number[] {
    return [...this.workers.values()].map((w) => w.pid);
  }

  get addresses(): string[] {
    return this.listeners.map((l) => l.address);
  }

  private drainQueue(): void {
    for (let sig = this.queue.shift(); sig; sig = this.queue.shift()) {
      this.log.info(`Handling signal: ${sig.toLowerCase()}`);
      try {
        this.handleSignal(sig);
      } catch (err) {
        // The master outlives its own mistakes: a failed handler is logged, never fatal.
        this.log.error({ err }, `Handling ${sig} failed`);
      }
    }
  }

  private handleSignal(sig: MasterSignal): void {
    switch (sig) {
      case 'HUP':
        void this.reload();
        break;
      case 'TERM':
        this.stop(!this.gracefulStop && this.phase !== 'stopping');
        break;
      case 'INT':
      case 'QUIT':
        this.stop(false);
        break;
      case 'TTIN':
        this.scale(this.target + 1);
        break;
      case 'TTOU':
        this.scale(Math.max(1, this.target - 1));
        break;
      case 'USR1':
        this.opts.reopenLogs?.();
        for (const w of this.workers.values()) w.child.kill('SIGUSR1');
        break;
    }
  }

  private scale(n: number): void {
    this.target = n;
    this.log.info(`Workers: ${n}`);
    this.manageWorkers();
  }

  private tick(): void {
    this.murderWorkers();
    this.manageWorkers();
  }

  // ---- workers -------------------------------------------------------------------------------

  private spawnWorker(): void {
    const id = this.nextWorkerId++;
    const child = fork(WORKER_SCRIPT, [], { stdio: 'inherit', env: process.env });
    const now = Date.now();
    const w: WorkerRecord = {
      id,
      child,
      pid: child.pid ?? -1,
      generation: this.generation,
      state: 'booting',
      retire: false,
      lastBeat: now,
      startedAt: now,
    };
    this.workers.set(id, w);
    this.log.info(`Booting worker with pid: ${w.pid}`);
    child.on('message', (msg: WorkerMessage) => this.onWorkerMessage(w, msg));
    child.once('exit', (code, signal) => this.onWorkerExit(w, code, signal));
    child.on('error', (err) => this.log.error({ err }, `Worker (pid:${w.pid}) IPC error`));
    const boot: BootMessage = {
      t: 'boot',
      config: this.config,
      app: this.app,
      listeners: this.listeners.length,
      generation: w.generation,
      workerId: id,
    };
    child.send(boot);
    for (const [index, l] of this.listeners.entries()) child.send({ t: 'listener', index }, l.handle as never);
  }

  private stopWorker(w: WorkerRecord, signal: NodeJS.Signals, reason?: RestartReason): void {
    if (w.state === 'stopping' && signal === 'SIGTERM') return;
    if (reason) this.restarts.inc({ reason });
    w.state = 'stopping';
    w.stoppingSince ??= Date.now();
    w.child.kill(signal);
  }

  private onWorkerMessage(w: WorkerRecord, msg: WorkerMessage): void {
    switch (msg.t) {
      case 'hb':
        w.lastBeat = Date.now();
        if (msg.counts) w.counts = msg.counts;
        break;
      case 'ready':
        if (w.state !== 'booting') break;
        w.state = 'ready';
        this.log.debug(`Worker (pid:${w.pid}) ready`);
        this.manageWorkers();
        break;
      case 'recycle':
        this.onRecycle(w, msg.reason);
        break;
      case 'metrics': {
        w.counts = msg.counts;
        const waiter = this.metricsWaiters.get(msg.id);
        if (waiter) {
          waiter.defaults.push(msg.defaults);
          waiter.inFlight += msg.inFlight;
          if (--waiter.pending === 0) waiter.done();
        }
        break;
      }
    }
  }

  private onRecycle(w: WorkerRecord, reason: 'max_requests' | 'memory' | 'error'): void {
    if (w.retire || w.state !== 'ready' || this.phase === 'stopping') return;
    if (reason !== 'error') {
      // At most one recycle at a time, and none during a reload: capacity never dips.
      const busy =
        this.reload_ !== undefined || [...this.workers.values()].some((o) => o.retire && o.state !== 'stopping');
      if (busy) return;
    }
    w.retire = true;
    this.restarts.inc({ reason: reason === 'error' ? 'crash' : 'recycle' });
    this.log.info(
      `Worker (pid:${w.pid}) ${reason === 'max_requests' ? 'reached max requests' : reason === 'memory' ? 'passed the memory ceiling' : 'had an uncaught error'}: replacing it`,
    );
    this.manageWorkers();
  }

  private onWorkerExit(w: WorkerRecord, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.delete(w.id);
    // 'exit' can come before the worker's last messages are read: its counts are folded into the
    // retired total only once those have surely arrived.
    this.leaving.add(w);
    setTimeout(() => {
      this.leaving.delete(w);
      if (w.counts) addCounts(this.retired, w.counts);
    }, LEAVING_MS).unref();
    const how = signal ? `was sent ${signal}` : `exited with code ${code}`;
    if (this.phase === 'stopping') {
      this.log.info(`Worker exiting (pid: ${w.pid})`);
      if (this.workers.size === 0) void this.finish(this.haltCode ?? EXIT.OK);
      return;
    }
    const wasReady = w.state !== 'booting';
    if (w.state === 'stopping' && w.abortedAt === undefined) {
      this.log.info(`Worker exiting (pid: ${w.pid})`);
    } else if (!wasReady) {
      const appLoad = code === exitCodeOf('GW_ERR_APP_LOAD');
      if (this.phase === 'booting') {
        this.halt(
          appLoad
            ? new GatewayError('GW_ERR_APP_LOAD', `App failed to load: ${this.app}`)
            : new GatewayError('GW_ERR_WORKER_BOOT', `Worker failed to boot (pid:${w.pid} ${how})`),
        );
        return;
      }
      if (this.reload_ && w.generation === this.generation) {
        this.abortReload(appLoad ? 'the new workers could not load the app' : `a new worker failed to boot (${how})`);
        return;
      }
      this.log.error(`Worker (pid:${w.pid}) failed to boot: ${how}${appLoad ? ' (app load error)' : ''}`);
      this.backoff(w);
    } else if (w.abortedAt !== undefined) {
      this.log.error(`Worker (pid:${w.pid}) ${how} after timeout`);
    } else if (w.retire) {
      // Left on its own before its replacement was ready (an uncaught error drains at once):
      // already counted when it asked to be replaced.
      this.log.info(`Worker exiting (pid: ${w.pid}) before its replacement was ready: ${how}`);
      this.backoff(w);
    } else {
      this.restarts.inc({ reason: 'crash' });
      if (signal === 'SIGKILL') this.log.error(`Worker (pid:${w.pid}) was sent SIGKILL! Perhaps out of memory?`);
      else this.log.error(`Worker (pid:${w.pid}) ${how}`);
      this.backoff(w);
    }
    this.manageWorkers();
  }

  /** Crash loops back off exponentially (capped) instead of forking as fast as the CPU allows. */
  private backoff(w: WorkerRecord): void {
    if (Date.now() - w.startedAt >= HEALTHY_AFTER_MS) {
      this.failures = 0;
      return;
    }
    this.failures++;
    const delay = Math.min(BACKOFF_BASE_MS * 2 ** (this.failures - 1), BACKOFF_CAP_MS);
    this.nextSpawnAt = Date.now() + delay;
    if (this.failures > 1)
      this.log.warn(`Workers keep dying young (${this.failures} in a row): next spawn in ${delay} ms`);
    setTimeout(() => this.manageWorkers(), delay + 1).unref();
  }

  /** Keeps `target` workers of the current generation, then retires the rest once they are ready. */
  private manageWorkers(): void {
    if (this.phase === 'stopping') return;
    const all = [...this.workers.values()];
    const active = all.filter((w) => w.generation === this.generation && !w.retire && w.state !== 'stopping');
    if (active.length < this.target && Date.now() >= this.nextSpawnAt) {
      // After a failure, one at a time: a crash loop should not fork N processes per round.
      const n = this.failures > 0 ? 1 : this.target - active.length;
      for (let i = 0; i < n; i++) this.spawnWorker();
    } else if (active.length > this.target) {
      const extra = active.sort((a, b) => a.id - b.id).slice(0, active.length - this.target);
      for (const w of extra) this.stopWorker(w, 'SIGTERM', 'scale');
    }
    const ready = active.filter((w) => w.state === 'ready').length;
    if (ready < this.target) return;
    if (this.phase === 'booting') {
      this.phase = 'running';
      this.log.info(`${ready} worker${ready === 1 ? '' : 's'} ready`);
    }
    for (const w of all) {
      if (w.state === 'stopping') continue;
      if (w.generation !== this.generation) this.stopWorker(w, 'SIGTERM', 'reload');
      else if (w.retire) {
        this.log.info(`Replacement ready: stopping worker (pid:${w.pid})`);
        this.stopWorker(w, 'SIGTERM');
      }
    }
    if (this.reload_) {
      this.log.info(
        `Reload complete: generation ${this.generation} serving (${Date.now() - this.reload_.startedAt} ms)`,
      );
      this.reloads.inc({ result: 'ok' });
      this.reload_ = undefined;
      if (this.pendingReload) {
        this.pendingReload = false;
        void this.reload();
      }
    }
  }

  /** Hung workers: no heartbeat for `timeout` seconds. SIGABRT first, SIGKILL if that is not enough. */
  private murderWorkers(): void {
    const now = Date.now();
    for (const w of this.workers.values()) {
      if (w.abortedAt !== undefined) {
        if (now - w.abortedAt > ABORT_GRACE_MS) w.child.kill('SIGKILL');
        continue;
      }
      if (w.state === 'booting' && now - w.startedAt > this.config.timeout * 1000) {
        // An app that never finishes loading (a factory waiting forever) is a boot failure: the
        // exit is then handled as one (halt at start-up, abort a reload, back off at runtime).
        this.log.fatal(`WORKER TIMEOUT (pid:${w.pid}): not ready after ${this.config.timeout}s`);
        w.abortedAt = now;
        w.child.kill('SIGKILL');
        continue;
      }
      if (now - w.lastBeat > this.config.timeout * 1000) {
        this.log.fatal(`WORKER TIMEOUT (pid:${w.pid})`);
        w.abortedAt = now;
        if (w.state !== 'stopping') this.restarts.inc({ reason: 'timeout' });
        w.state = 'stopping';
        w.child.kill('SIGABRT');
        continue;
      }
      if (w.stoppingSince !== undefined && now - w.stoppingSince > this.config.graceful_timeout * 1000 + 1000) {
        this.log.warn(`Worker (pid:${w.pid}) still running ${this.config.graceful_timeout}s after the stop: SIGKILL`);
        w.child.kill('SIGKILL');
      }
    }
  }

  // ---- reload --------------------------------------------------------------------------------

  private async reload(): Promise<void> {
    if (this.phase !== 'running') return;
    if (this.reload_) {
      this.pendingReload = true;
      return;
    }
    const previous = { config: this.config, target: this.target };
    if (this.opts.reloadConfig) {
      try {
        const next = await this.opts.reloadConfig();
        // The master bound these at start and keeps them: a changed address (public or metrics)
        // is reported and left as it is, so the new workers agree with what is being served.
        const changed = (key: 'bind' | 'metrics_bind'): boolean => {
          if (JSON.stringify(next[key]) === JSON.stringify(this.config[key])) return false;
          this.log.warn(`${key} changed in the configuration: addresses change only on restart`);
          return true;
        };
        if (changed('bind')) next.bind = this.config.bind;
        if (changed('metrics_bind')) next.metrics_bind = this.config.metrics_bind;
        this.config = next;
        this.target = next.workers;
      } catch (err) {
        this.log.error(`Reload: the new configuration is invalid, keeping the current one: ${(err as Error).message}`);
      }
    }
    this.reload_ = { from: this.generation, startedAt: Date.now(), ...previous };
    this.generation++;
    this.failures = 0;
    this.nextSpawnAt = 0;
    this.log.info(`Reloading: booting ${this.target} new workers (generation ${this.generation})`);
    this.manageWorkers();
  }

  /** The new code does not load: the old workers never stopped, so they simply keep serving. */
  private abortReload(why: string): void {
    const failed = this.generation;
    const { from, config, target } = this.reload_!;
    // The old workers run the old configuration: keeping the new one would, say, fork extra workers
    // of the old generation (with a larger count) from the code on disk that just failed to load.
    this.generation = from;
    this.config = config;
    this.target = target;
    this.reload_ = undefined;
    this.pendingReload = false;
    this.reloads.inc({ result: 'failed' });
    this.log.error(
      `Reload failed: ${why}; generation ${this.generation} keeps serving with its configuration (${target} worker${target === 1 ? '' : 's'})`,
    );
    for (const w of this.workers.values()) if (w.generation === failed) this.stopWorker(w, 'SIGKILL');
    this.manageWorkers();
  }

  // ---- stop ----------------------------------------------------------------------------------

  private haltCode: number | undefined;

  /** Graceful: in-flight requests finish (up to graceful_timeout). Quick: workers exit now. */
  stop(graceful: boolean): void {
    if (this.phase === 'stopping' && !graceful && this.gracefulStop === false) return;
    const wasStopping = this.phase === 'stopping';
    this.phase = 'stopping';
    this.gracefulStop = graceful;
    this.log.info(graceful ? 'Shutting down gracefully' : wasStopping ? 'Forcing shutdown' : 'Shutting down');
    clearInterval(this.ticker);
    // The master holds a copy of every listening socket: while it is open the kernel keeps
    // completing handshakes into the backlog that no draining worker will accept, and those
    // clients would hang until the master exits. Closed now, a new connection is refused at once
    // (a balancer retries elsewhere), as Gunicorn closes its listeners before stopping workers.
    this.closeListeners();
    for (const w of this.workers.values()) {
      w.state = 'stopping';
      w.child.kill(graceful ? 'SIGTERM' : 'SIGQUIT');
    }
    const grace = graceful ? this.config.graceful_timeout * 1000 + 1000 : 1000;
    setTimeout(() => {
      for (const w of this.workers.values()) w.child.kill('SIGKILL');
    }, grace).unref();
    if (this.workers.size === 0) void this.finish(this.haltCode ?? EXIT.OK);
  }

  /** Stops on an error that leaves nothing to serve; the gateway exits with the error's status. */
  private halt(err: GatewayError): void {
    this.log.error({ code: err.code }, `Shutting down: ${err.message}`);
    this.haltCode = err.exitCode;
    this.stop(false);
  }

  private closeListeners(): void {
    this.listeners.forEach(closeListener);
    this.listeners = [];
  }

  private finishing = false;
  private async finish(code: number): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.closeListeners();
    await this.stopMetrics();
    if (this.config.pidfile) removePidfile(this.config.pidfile);
    this.log.info('Shutting down: Master');
    this.exit(code);
  }

  // ---- metrics -------------------------------------------------------------------------------

  private async startMetrics(address: string): Promise<void> {
    const bind = parseBind(address);
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.collectMetrics().then(
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
    this.metricsServer = server;
    const a = server.address();
    this.log.info(
      `Metrics at: ${typeof a === 'object' && a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : address}/metrics`,
    );
  }

  private async stopMetrics(): Promise<void> {
    const s = this.metricsServer;
    this.metricsServer = undefined;
    if (s)
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
  }

  /**
   * Asks every live worker for its figures (bounded: a hung worker must not hang the scrape). The
   * request counters are summed here from each worker's latest counts, a silent worker's from its
   * last heartbeat, plus those of workers gone; Node's own figures are prom-client's aggregation.
   */
  private async collectMetrics(): Promise<string> {
    const live = [...this.workers.values()].filter((w) => w.child.connected && w.state !== 'booting');
    const id = ++this.metricsSeq;
    const waiter: MetricsWaiter = { pending: live.length, defaults: [], inFlight: 0, done: () => {} };
    if (live.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        waiter.done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.metricsWaiters.set(id, waiter);
        for (const w of live) w.child.send({ t: 'metrics', id });
      });
      this.metricsWaiters.delete(id);
    }
    const total = emptyCounts();
    addCounts(total, this.retired);
    for (const w of [...this.workers.values(), ...this.leaving]) if (w.counts) addCounts(total, w.counts);
    const parts = [requestMetrics(total, waiter.inFlight), ...waiter.defaults];
    const merged = Registry.merge([AggregatorRegistry.aggregate(parts as never), this.registry]);
    return merged.metrics();
  }
}

function writePidfile(path: string): void {
  if (existsSync(path)) {
    const old = Number(readFileSync(path, 'utf8').trim());
    let alive = false;
    if (Number.isInteger(old) && old > 0 && old !== process.pid) {
      try {
        process.kill(old, 0);
        alive = true;
      } catch {
        /* stale */
      }
    }
    if (alive) throw new GatewayError('GW_ERR_PIDFILE', `already running on pid ${old} (pid file ${path})`);
  }
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (err) {
    throw new GatewayError('GW_ERR_PIDFILE', `cannot write pid file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function removePidfile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    /* gone already */
  }
}
