/**
 * GET /livez and GET /readyz, answered by the master from what it knows of its workers, never
 * through a worker: a probe must not fail because every worker is busy (a liveness probe through
 * a blocked worker restarts healthy containers in a cascade). Served on the metrics address and
 * on --health-bind.
 *
 * - /livez: 200 while the master answers at all (its event loop runs) and not every worker past
 *   its boot has missed its heartbeat for `timeout`; 503 then (the watchdog should have replaced
 *   them: if it cannot, a restart of the container is the remedy).
 * - /readyz: 200 when at least one worker is ready and the master is neither in its shutdown delay
 *   nor stopping; 503 otherwise.
 */
import type http from 'node:http';

/** The master's state as the probes need it (the arbiter computes it for each probe). */
export interface HealthView {
  /** Workers ready to serve now, and how many the master keeps. */
  ready: number;
  target: number;
  /** Every worker past its boot (at least one) has sent no heartbeat for `timeout`. */
  hung: boolean;
  /** TERM has been received: the shutdown delay, then the drain. */
  stopping: boolean;
}

/** What the view needs of a worker. */
export interface HealthWorker {
  readonly state: 'booting' | 'ready' | 'stopping';
  readonly lastBeat: number;
}

/**
 * The view from the master's workers. A booting worker is left out of `hung`: importing an app may
 * block its loop, and only boot_timeout judges it.
 */
export function healthView(
  workers: Iterable<HealthWorker>,
  o: { target: number; stopping: boolean; timeoutS: number },
  now = Date.now(),
): HealthView {
  const all = [...workers];
  const booted = all.filter((w) => w.state !== 'booting');
  return {
    ready: all.filter((w) => w.state === 'ready').length,
    target: o.target,
    hung: booted.length > 0 && booted.every((w) => now - w.lastBeat > o.timeoutS * 1000),
    stopping: o.stopping,
  };
}

export const HEALTH_PATHS = ['/livez', '/readyz'] as const;

/** The status and body of a probe: small JSON, e.g. {"status":"ok","workers":{"ready":2,"target":2}}. */
export function healthAnswer(path: (typeof HEALTH_PATHS)[number], v: HealthView): { status: number; body: string } {
  const status =
    path === '/livez' ? (v.hung ? 'hung' : 'ok') : v.stopping ? 'stopping' : v.ready === 0 ? 'no worker ready' : 'ok';
  return {
    status: status === 'ok' ? 200 : 503,
    body: `${JSON.stringify({ status, workers: { ready: v.ready, target: v.target } })}\n`,
  };
}

/** Answers a probe and returns true, or returns false for any other request (left to the caller). */
export function answerHealth(req: http.IncomingMessage, res: http.ServerResponse, view: () => HealthView): boolean {
  const path = (req.url ?? '').split('?')[0];
  const probe = HEALTH_PATHS.find((p) => p === path);
  if (!probe) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return true;
  }
  const { status, body } = healthAnswer(probe, view());
  // Never cached: a probe's answer is about this moment.
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
