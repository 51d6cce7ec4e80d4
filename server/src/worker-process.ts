/**
 * One worker as the master sees it (Uvicorn's `Process` beside its `Multiprocess`): the forked
 * child, its boot message and listening handles, its state and liveness, the signals sent to it;
 * and how fast workers are forked again when they keep dying young. How many workers there are,
 * and when one is replaced, is the arbiter's business.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Listener } from './binds.js';
import { exitCodeOf, GatewayError } from './errors.js';
import type { MetricsWorker, WorkerState } from './master-metrics.js';
import { OutputCapture } from './output-capture.js';
import type { BootMessage, WorkerMessage } from './protocol.js';
import type { Config } from './settings.js';
import { bootTimeoutS } from './settings-workers.js';
import type { RequestCounts } from './worker-stats.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Between SIGABRT and SIGKILL for a hung worker: long enough to write a core or a report. */
const ABORT_GRACE_MS = 2000;
/** A worker that dies younger than this counts towards the crash-loop backoff. */
const HEALTHY_AFTER_MS = 5000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 10_000;

export interface WorkerBoot {
  config: Config;
  app: string;
  listeners: readonly Listener[];
  generation: number;
  workerId: number;
  /** The lowest number no other live worker holds (the metrics' bounded label). */
  slot: number;
  /** --capture-output: the worker's stdout and stderr are read by the master; else inherited. */
  capture: OutputCapture | undefined;
}

export interface WorkerEvents {
  message(w: WorkerProcess, msg: WorkerMessage): void;
  exit(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
}

export class WorkerProcess implements MetricsWorker {
  readonly id: number;
  readonly generation: number;
  readonly slot: number;
  readonly child: ChildProcess;
  readonly pid: number;
  state: WorkerState = 'booting';
  /** Waiting for its replacement to be ready (max requests, memory, error), then stopped. */
  retire = false;
  /** Until it says it closed its listeners (the arbiter forgets it when it exits): a reload is complete only once no old one accepts. */
  accepting = true;
  lastBeat: number;
  readonly startedAt: number;
  /** When it said it was ready (never, for one that failed to boot). */
  readyAt?: number;
  stoppingSince?: number;
  abortedAt?: number;
  counts?: RequestCounts;
  inFlight?: number;
  rss?: number;

  /** Forks the worker and sends it its configuration and the master's listening handles. */
  constructor(
    boot: WorkerBoot,
    private readonly log: Logger,
    events: WorkerEvents,
  ) {
    this.id = boot.workerId;
    this.generation = boot.generation;
    this.slot = boot.slot;
    const stdio = boot.capture ? [...OutputCapture.stdio] : 'inherit';
    this.child = fork(WORKER_SCRIPT, [], { stdio, env: process.env });
    this.pid = this.child.pid ?? -1;
    boot.capture?.attach(this.child);
    this.startedAt = this.lastBeat = Date.now();
    log.info(`Booting worker with pid: ${this.pid}`);
    this.child.on('message', (msg: WorkerMessage) => {
      if (msg.t === 'closed') this.accepting = false;
      events.message(this, msg);
    });
    this.child.once('exit', (code, signal) => events.exit(this, code, signal));
    this.child.on('error', (err) => log.error({ err }, `Worker (pid:${this.pid}) IPC error`));
    const message: BootMessage = {
      t: 'boot',
      config: boot.config,
      app: boot.app,
      listeners: boot.listeners.length,
      generation: boot.generation,
      workerId: boot.workerId,
    };
    this.child.send(message);
    for (const [index, l] of boot.listeners.entries()) {
      if (l.own) this.child.send({ t: 'listener', index, own: l.own });
      else this.child.send({ t: 'listener', index }, l.handle as never);
    }
  }

  /** Sends `signal`; from the first one on the worker is stopping, and its graceful deadline runs. */
  stop(signal: NodeJS.Signals): void {
    this.state = 'stopping';
    this.stoppingSince ??= Date.now();
    this.child.kill(signal);
  }

  /**
   * The heartbeat watchdog, once a tick. A worker whose loop has not beaten for `timeout` is hung:
   * SIGABRT, then SIGKILL if that is not enough. A booting one is bounded by `boot_timeout` alone
   * (importing an app may block the loop for a while): not ready by then (an app that never
   * finishes loading), it is killed, and its exit is handled as a boot failure. One still running
   * well past its graceful stop is killed. Returns true when it finds the worker hung.
   */
  watchdog(now: number, config: Config): boolean {
    if (this.abortedAt !== undefined) {
      if (now - this.abortedAt > ABORT_GRACE_MS) this.child.kill('SIGKILL');
      return false;
    }
    if (this.state === 'booting') {
      const limitS = bootTimeoutS(config);
      if (now - this.startedAt <= limitS * 1000) return false;
      this.log.fatal(`WORKER TIMEOUT (pid:${this.pid}): not ready after ${limitS}s (boot timeout)`);
      this.abortedAt = now;
      this.child.kill('SIGKILL');
      return false;
    }
    if (now - this.lastBeat > config.timeout * 1000) {
      this.log.fatal(`WORKER TIMEOUT (pid:${this.pid})`);
      this.abortedAt = now;
      const hung = this.state !== 'stopping';
      this.state = 'stopping';
      this.child.kill('SIGABRT');
      return hung;
    }
    if (this.stoppingSince !== undefined && now - this.stoppingSince > config.graceful_timeout * 1000 + 1000) {
      this.log.warn(`Worker (pid:${this.pid}) still running ${config.graceful_timeout}s after the stop: SIGKILL`);
      this.child.kill('SIGKILL');
    }
    return false;
  }
}

/**
 * At start, the error a worker's failed boot halts the master with: it said the app cannot load
 * (exit 4) or that it cannot boot (exit 3), as in Gunicorn; retrying would not help. Undefined for
 * anything else (a boot timeout, a kill on a busy machine): that is retried with the backoff.
 */
export function haltingBootError(code: number | null, app: string, which: string): GatewayError | undefined {
  if (code === exitCodeOf('GW_ERR_APP_LOAD')) return new GatewayError('GW_ERR_APP_LOAD', `App failed to load: ${app}`);
  if (code === exitCodeOf('GW_ERR_WORKER_BOOT'))
    return new GatewayError('GW_ERR_WORKER_BOOT', `Worker failed to boot (${which})`);
  return undefined;
}

/** The lowest slot none of `workers` holds: a replacement takes the slot of the worker it replaces. */
export function freeSlot(workers: Iterable<{ slot: number }>): number {
  const taken = new Set([...workers].map((w) => w.slot));
  let slot = 0;
  while (taken.has(slot)) slot++;
  return slot;
}

/** Crash loops back off exponentially (capped) instead of forking as fast as the CPU allows. */
export class CrashBackoff {
  private failures = 0;
  private nextSpawnAt = 0;

  constructor(private readonly log: Logger) {}

  /** Workers have been dying young: the arbiter forks one at a time. */
  get failing(): boolean {
    return this.failures > 0;
  }

  maySpawn(): boolean {
    return Date.now() >= this.nextSpawnAt;
  }

  reset(): void {
    this.failures = 0;
    this.nextSpawnAt = 0;
  }

  /**
   * A worker died or left early: `respawn` is called after the wait (at once when it had been ready
   * and lived long enough; one that never got ready, a boot timeout say, always counts).
   */
  died(w: WorkerProcess, respawn: () => void): void {
    if (w.readyAt !== undefined && Date.now() - w.startedAt >= HEALTHY_AFTER_MS) {
      this.failures = 0;
      return;
    }
    this.failures++;
    const delay = Math.min(BACKOFF_BASE_MS * 2 ** (this.failures - 1), BACKOFF_CAP_MS);
    this.nextSpawnAt = Date.now() + delay;
    if (this.failures > 1)
      this.log.warn(`Workers keep dying young (${this.failures} in a row): next spawn in ${delay} ms`);
    setTimeout(respawn, delay + 1).unref();
  }
}
