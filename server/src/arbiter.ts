/**
 * The master process (Gunicorn's arbiter). It binds the sockets, forks the workers and hands them
 * the listening handles, keeps their number, replaces the dead and the hung, recycles and reloads
 * without dropping a request, and stops them on a signal (master-signals.ts: handlers only enqueue).
 * Beside it: worker-process.ts, master-metrics.ts, health.ts, master-endpoints.ts (its own servers,
 * the control socket of control-socket.ts, which controls it as a ControlledMaster), the pid file.
 */
import type { Logger } from 'pino';
import { closeListener, type Listener } from './binds.js';
import { reloadedConfig } from './config.js';
import { EXIT, exitCodeOf, type GatewayError } from './errors.js';
import { type HealthView, healthView } from './health.js';
import { bindMaster, MasterEndpoints } from './master-endpoints.js';
import { MasterMetrics, type RestartReason } from './master-metrics.js';
import { type MasterSignal, SignalQueue } from './master-signals.js';
import { OutputCapture } from './output-capture.js';
import { removePidfile } from './pidfile.js';
import { RECYCLE_REASONS, type RecycleReason, type WorkerMessage } from './protocol.js';
import { type ReloadWatcher, watchForReload, watchRoot } from './reload-watcher.js';
import type { Config } from './settings.js';
import { CrashBackoff, freeSlot, haltingBootError, type WorkerEvents, WorkerProcess } from './worker-process.js';

const TICK_MS = 250;

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
  readonly workers = new Map<number, WorkerProcess>();
  target: number;
  generation = 1;
  private nextWorkerId = 1;
  phase: 'booting' | 'running' | 'stopping' = 'booting';
  /** A reload in progress, with what it replaced: a failed one puts them back. */
  private reload_: { from: number; startedAt: number; config: Config; target: number } | undefined;
  private pendingReload = false;
  private gracefulStop = false;
  private readonly crashes: CrashBackoff;
  private readonly signals: SignalQueue;
  private ticker: NodeJS.Timeout | undefined;
  private exit!: (code: number) => void;
  readonly done: Promise<number>;
  private booted!: () => void;
  /** Resolves once every worker of the first generation is ready (never, if it halts first). */
  readonly ready: Promise<void>;
  private readonly metrics: MasterMetrics;
  /** /metrics on --metrics-bind, /livez and /readyz there and on --health-bind. */
  private readonly endpoints: MasterEndpoints;
  /** --capture-output and --reload, set up at start (a HUP does not turn them on or off). */
  private capture: OutputCapture | undefined;
  private watcher: ReloadWatcher | undefined;
  /** From a TERM to the end of the shutdown delay, or from a drain on: not ready, still serving. */
  private shutdownDelay: NodeJS.Timeout | undefined;

  constructor(opts: ArbiterOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.app = opts.app;
    this.log = opts.log;
    this.target = opts.config.workers;
    this.done = new Promise((resolve) => {
      this.exit = resolve;
    });
    this.ready = new Promise((resolve) => {
      this.booted = resolve;
    });
    this.metrics = new MasterMetrics(this.workers, () => this.target);
    this.endpoints = new MasterEndpoints(opts.log, this.metrics, () => this.health(), this);
    this.crashes = new CrashBackoff(opts.log);
    this.signals = new SignalQueue(opts.log, (sig) => this.handlers[sig]());
  }

  /** Binds every address, then boots the workers. Nothing is left half-started on failure. */
  async start(): Promise<void> {
    const { config, log } = this;
    this.listeners = await bindMaster(config, this.endpoints, log);
    log.info(`Using ${this.target} worker${this.target === 1 ? '' : 's'} for ${this.app}`);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    if (config.capture_output) this.capture = new OutputCapture(config);
    if (config.reload) this.watcher = watchForReload(watchRoot(this.app), log, () => this.signal('HUP'));
    this.manageWorkers();
  }

  /** Enqueue a signal (what the process signal handlers call, and what tests call). */
  signal(sig: MasterSignal): void {
    this.signals.push(sig);
  }

  get addresses(): string[] {
    return this.listeners.map((l) => l.address);
  }

  /**
   * What each signal does (Gunicorn's handle_hup, handle_term, ...). TERM with a shutdown delay:
   * /readyz says 503 at once, so balancers and endpoint controllers take this gateway out, while it
   * keeps accepting and serving what still comes (they have not caught up yet); then the graceful
   * stop. Skipped when no worker is ready (/readyz said 503 already). A second TERM cuts it short.
   */
  private readonly handlers: Record<MasterSignal, () => void> = {
    // A HUP while the first generation boots is kept until it is up (Gunicorn's loop acts on it too).
    HUP: () => void (this.phase === 'booting' ? this.ready.then(() => this.reload()) : this.reload()),
    TERM: () => {
      const delayS = this.config.shutdown_delay;
      if (this.shutdownDelay) return this.stop(true, 'a second TERM');
      if (this.phase === 'stopping' || delayS === 0 || this.health().ready === 0)
        return this.stop(!this.gracefulStop && this.phase !== 'stopping');
      this.log.info(`Shutdown delay: not ready from now on, serving ${delayS}s more before closing the listeners`);
      this.shutdownDelay = setTimeout(() => this.stop(true), delayS * 1000);
    },
    INT: () => this.stop(false),
    QUIT: () => this.stop(false),
    TTIN: () => this.scale(this.target + 1),
    TTOU: () => this.scale(Math.max(1, this.target - 1)),
    USR1: () => {
      this.opts.reopenLogs?.();
      this.capture?.reopen();
      for (const w of this.workers.values()) w.child.kill('SIGUSR1');
    },
  };

  scale(n: number): void {
    this.target = n;
    this.log.info(`Workers: ${n}`);
    this.manageWorkers();
  }

  /** Hung workers (no heartbeat for `timeout` seconds), workers never ready, stops that overrun; then the pool. */
  private tick(): void {
    const now = Date.now();
    for (const w of this.workers.values()) if (w.watchdog(now, this.config)) this.metrics.restarted('timeout');
    this.manageWorkers();
  }

  // ---- workers -------------------------------------------------------------------------------

  private readonly events: WorkerEvents = {
    message: (w, msg) => this.onWorkerMessage(w, msg),
    exit: (w, code, signal) => this.onWorkerExit(w, code, signal),
  };

  private spawnWorker(): void {
    const { config, app, listeners, generation, capture } = this;
    const slot = freeSlot(this.workers.values());
    const w = new WorkerProcess(
      { config, app, listeners, generation, workerId: this.nextWorkerId++, slot, capture },
      this.log,
      this.events,
    );
    this.workers.set(w.id, w);
  }

  private stopWorker(w: WorkerProcess, signal: NodeJS.Signals, reason?: RestartReason): void {
    if (w.state === 'stopping' && signal === 'SIGTERM') return;
    if (reason) this.metrics.restarted(reason);
    w.stop(signal);
  }

  private onWorkerMessage(w: WorkerProcess, msg: WorkerMessage): void {
    switch (msg.t) {
      case 'hb':
        w.lastBeat = Date.now();
        this.metrics.onHeartbeat(w, msg);
        break;
      case 'ready':
        if (w.state !== 'booting') break;
        w.state = 'ready';
        // A boot may have blocked its loop past `timeout`: being ready is a sign of life of its own.
        w.readyAt = w.lastBeat = Date.now();
        this.log.debug(`Worker (pid:${w.pid}) ready`);
        this.manageWorkers();
        break;
      case 'closed': // it accepts no more: a reload may be complete now
        this.manageWorkers();
        break;
      case 'recycle':
        this.onRecycle(w, msg.reason);
        break;
      case 'metrics':
        this.metrics.onReply(w, msg);
        break;
    }
  }

  private onRecycle(w: WorkerProcess, reason: RecycleReason): void {
    if (w.retire || w.state !== 'ready' || this.phase === 'stopping') return;
    if (reason !== 'error') {
      // At most one recycle at a time, and none during a reload: capacity never dips.
      const busy =
        this.reload_ !== undefined || [...this.workers.values()].some((o) => o.retire && o.state !== 'stopping');
      if (busy) return;
    }
    w.retire = true;
    this.metrics.recycled(reason);
    this.log.info(`Worker (pid:${w.pid}) ${RECYCLE_REASONS[reason]}: replacing it`);
    this.manageWorkers();
  }

  private onWorkerExit(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.delete(w.id);
    this.metrics.workerExited(w);
    const how = signal ? `was sent ${signal}` : `exited with code ${code}`;
    if (this.phase === 'stopping') {
      this.log.info(`Worker exiting (pid: ${w.pid})`);
      if (this.workers.size === 0) void this.finish(this.haltedBy?.exitCode ?? EXIT.OK);
      return;
    }
    const wasReady = w.state !== 'booting';
    if (w.state === 'stopping' && w.abortedAt === undefined) {
      this.log.info(`Worker exiting (pid: ${w.pid})`);
    } else if (!wasReady) {
      const appLoad = code === exitCodeOf('GW_ERR_APP_LOAD');
      const fatal = this.phase === 'booting' ? haltingBootError(code, this.app, `pid:${w.pid} ${how}`) : undefined;
      if (fatal) {
        this.halt(fatal);
        return;
      }
      if (this.reload_ && w.generation === this.generation) {
        this.abortReload(appLoad ? 'the new workers could not load the app' : `a new worker failed to boot (${how})`);
        return;
      }
      this.log.error(`Worker (pid:${w.pid}) failed to boot: ${how}${appLoad ? ' (app load error)' : ''}`);
      this.crashes.died(w, this.manageLater);
    } else if (w.abortedAt !== undefined) {
      this.log.error(`Worker (pid:${w.pid}) ${how} after timeout`);
    } else if (w.retire) {
      // Left on its own before its replacement was ready (an uncaught error drains at once):
      // already counted when it asked to be replaced.
      this.log.info(`Worker exiting (pid: ${w.pid}) before its replacement was ready: ${how}`);
      this.crashes.died(w, this.manageLater);
    } else {
      this.metrics.restarted('crash');
      if (signal === 'SIGKILL') this.log.error(`Worker (pid:${w.pid}) was sent SIGKILL! Perhaps out of memory?`);
      else this.log.error(`Worker (pid:${w.pid}) ${how}`);
      this.crashes.died(w, this.manageLater);
    }
    this.manageWorkers();
  }

  private readonly manageLater = () => this.manageWorkers();

  /** Keeps `target` workers of the current generation, then retires the rest once they are ready. */
  private manageWorkers(): void {
    if (this.phase === 'stopping') return;
    const all = [...this.workers.values()];
    const active = all.filter((w) => w.generation === this.generation && !w.retire && w.state !== 'stopping');
    if (active.length < this.target && this.crashes.maySpawn()) {
      // After a failure, one at a time: a crash loop should not fork N processes per round.
      const n = this.crashes.failing ? 1 : this.target - active.length;
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
      this.booted();
    }
    for (const w of all) {
      if (w.state === 'stopping') continue;
      if (w.generation !== this.generation) this.stopWorker(w, 'SIGTERM', 'reload');
      else if (w.retire) {
        this.log.info(`Replacement ready: stopping worker (pid:${w.pid})`);
        this.stopWorker(w, 'SIGTERM');
      }
    }
    // Complete once no old worker accepts: from then on every new connection reaches the new code.
    if (this.reload_ && !all.some((w) => w.generation !== this.generation && w.accepting)) {
      this.log.info(
        `Reload complete: generation ${this.generation} serving (${Date.now() - this.reload_.startedAt} ms)`,
      );
      this.metrics.reloaded('ok');
      this.reload_ = undefined;
      if (this.pendingReload) {
        this.pendingReload = false;
        void this.reload();
      }
    }
  }

  // ---- reload --------------------------------------------------------------------------------

  private async reload(): Promise<void> {
    if (this.phase !== 'running' || this.shutdownDelay) return;
    if (this.reload_) {
      this.pendingReload = true;
      return;
    }
    const previous = { config: this.config, target: this.target };
    const next = await reloadedConfig(this.config, this.opts.reloadConfig, this.log);
    if (next !== this.config) {
      this.config = next;
      this.target = next.workers;
    }
    this.reload_ = { from: this.generation, startedAt: Date.now(), ...previous };
    this.generation++;
    this.crashes.reset();
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
    this.metrics.reloaded('failed');
    this.log.error(
      `Reload failed: ${why}; generation ${this.generation} keeps serving with its configuration ` +
        `(${target} worker${target === 1 ? '' : 's'})`,
    );
    for (const w of this.workers.values()) if (w.generation === failed) this.stopWorker(w, 'SIGKILL');
    this.manageWorkers();
  }

  // ---- stop ----------------------------------------------------------------------------------

  /** The error the master stopped on (a failed boot or app load), if it did. */
  haltedBy: GatewayError | undefined;

  /** Graceful: in-flight requests finish (up to graceful_timeout). Quick: workers exit now. */
  stop(graceful: boolean, cutShortBy?: string): void {
    if (this.phase === 'stopping' && !graceful && this.gracefulStop === false) return;
    if (this.shutdownDelay) {
      clearTimeout(this.shutdownDelay);
      this.shutdownDelay = undefined;
      if (cutShortBy) this.log.info(`Shutdown delay cut short by ${cutShortBy}`);
    }
    const wasStopping = this.phase === 'stopping';
    this.phase = 'stopping';
    this.gracefulStop = graceful;
    this.log.info(graceful ? 'Shutting down gracefully' : wasStopping ? 'Forcing shutdown' : 'Shutting down');
    clearInterval(this.ticker);
    this.watcher?.close();
    // The master holds a copy of every listening socket: while it is open the kernel keeps
    // completing handshakes into the backlog that no draining worker will accept, and those
    // clients would hang until the master exits. Closed now, a new connection is refused at once
    // (a balancer retries elsewhere), as Gunicorn closes its listeners before stopping workers.
    this.closeListeners();
    for (const w of this.workers.values()) w.stop(graceful ? 'SIGTERM' : 'SIGQUIT');
    const grace = graceful ? this.config.graceful_timeout * 1000 + 1000 : 1000;
    setTimeout(() => this.workers.forEach((w) => void w.child.kill('SIGKILL')), grace).unref();
    if (this.workers.size === 0) void this.finish(this.haltedBy?.exitCode ?? EXIT.OK);
  }

  /** Stops on an error that leaves nothing to serve; the gateway exits with the error's status. */
  private halt(err: GatewayError): void {
    this.log.error({ code: err.code }, `Shutting down: ${err.message}`);
    this.haltedBy = err;
    this.stop(false);
  }

  /** What /livez and /readyz answer from (health.ts). */
  private health(): HealthView {
    const stopping = this.phase === 'stopping' || this.shutdownDelay !== undefined;
    return healthView(this.workers.values(), { target: this.target, stopping, timeoutS: this.config.timeout });
  }

  /** The control socket's drain: the shutdown delay's state, with no end; a TERM then stops at once. */
  drain(): void {
    this.shutdownDelay ??= setInterval(() => {}, 2 ** 30);
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
    await this.endpoints.stop();
    if (this.config.pidfile) removePidfile(this.config.pidfile);
    this.capture?.flush();
    this.log.info('Shutting down: Master');
    this.exit(code);
  }
}
