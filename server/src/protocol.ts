/**
 * Messages between the master and its workers over the IPC channel. Plain objects with a `t`
 * tag; the listening handles travel alongside `listener` messages.
 */
import type { Config } from './settings.js';
import type { RequestCounts } from './worker-stats.js';

export interface BootMessage {
  t: 'boot';
  config: Config;
  app: string;
  listeners: number;
  generation: number;
  workerId: number;
}
export interface ListenerMessage {
  t: 'listener';
  index: number;
  /** --reuse-port: no handle comes with it; the worker binds a SO_REUSEPORT socket of its own here. */
  own?: { host: string; port: number };
}
export interface MetricsRequest {
  t: 'metrics';
  id: number;
}
export type MasterMessage = BootMessage | ListenerMessage | MetricsRequest;

/**
 * The worker's event loop is alive; `rss` feeds the memory ceiling. With metrics on, `counts` are
 * its request counts so far, which the master keeps once the worker is gone (the last beat of a
 * graceful stop carries the final ones).
 */
export interface Heartbeat {
  t: 'hb';
  rss: number;
  counts?: RequestCounts;
}
export interface Ready {
  t: 'ready';
}
/** A draining worker has closed its listeners: no new connection reaches it from now on. */
export interface Closed {
  t: 'closed';
}
/** Why a worker asks to be replaced, and how the master's log says it. */
export const RECYCLE_REASONS = {
  max_requests: 'reached max requests',
  memory: 'passed the memory ceiling',
  error: 'had an uncaught error',
} as const;
export type RecycleReason = keyof typeof RECYCLE_REASONS;

/** The worker wants to be replaced. */
export interface RecycleRequest {
  t: 'recycle';
  reason: RecycleReason;
}
export interface MetricsReply {
  t: 'metrics';
  id: number;
  counts: RequestCounts;
  inFlight: number;
  defaults: unknown[];
}
export type WorkerMessage = Heartbeat | Ready | Closed | RecycleRequest | MetricsReply;
