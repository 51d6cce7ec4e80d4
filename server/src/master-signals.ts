/**
 * The master's signals, Gunicorn's way: a process signal handler only enqueues; the queue is drained
 * in one place, after the handler has returned, and each signal is dispatched to the arbiter's
 * handler. Tests push onto the queue (Arbiter.signal) instead of sending real signals.
 */
import type { Logger } from 'pino';

export const MASTER_SIGNALS = ['HUP', 'TERM', 'INT', 'QUIT', 'TTIN', 'TTOU', 'USR1'] as const;
export type MasterSignal = (typeof MASTER_SIGNALS)[number];

export class SignalQueue {
  private readonly queue: MasterSignal[] = [];

  constructor(
    private readonly log: Logger,
    private readonly handle: (sig: MasterSignal) => void,
  ) {}

  push(sig: MasterSignal): void {
    this.queue.push(sig);
    setImmediate(() => this.drain());
  }

  private drain(): void {
    for (let sig = this.queue.shift(); sig; sig = this.queue.shift()) {
      this.log.info(`Handling signal: ${sig.toLowerCase()}`);
      try {
        this.handle(sig);
      } catch (err) {
        // The master outlives its own mistakes: a failed handler is logged, never fatal.
        this.log.error({ err }, `Handling ${sig} failed`);
      }
    }
  }
}
