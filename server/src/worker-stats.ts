/**
 * Per-worker request figures, kept as plain counters on the hot path (a prom-client observe per
 * request would cost a measurable share of a small request). Workers send the raw counts; the
 * master adds them up, those of workers that have exited included, and turns the sums into
 * Prometheus metrics when it is scraped. So the counters never go down when a worker is
 * recycled, reloaded or replaced (Prometheus would take the drop for a counter reset).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { REFUSE_REASONS, type RefuseReason, SHED_REASONS, type ShedReason } from './connection-guard.js';
import { PROXY_REFUSALS, type ProxyRefusal } from './proxy-protocol.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}
interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValue[];
}

/** Requests answered by status, and their durations: cumulative since a worker started. */
export interface RequestCounts {
  status: Record<string, number>;
  /** Per bucket of BUCKETS, not cumulative; requests slower than the last bucket only in `status`. */
  buckets: number[];
  sum: number;
  /** Connections closed before HTTP for their PROXY protocol header (--proxy-protocol), by reason. */
  proxyRefusals: Partial<Record<ProxyRefusal, number>>;
  /** Requests answered over HTTP/2; the others were HTTP/1.x. */
  h2: number;
  /** Upgrade requests by outcome (upgrades.ts: switched, refused_worker_cap, idle_timeout, ...). */
  upgrades?: Record<string, number>;
  /** Close frames the app sent on its WebSockets, by close code (1002: the client broke the protocol). */
  wsCloses?: Record<string, number>;
  /** Connections the worker closed at its ceiling to make room (connection-guard.ts), by reason. */
  shed?: Partial<Record<ShedReason, number>>;
  /** Connections closed at accept: the worker full with none to shed, or the client's cap reached. */
  refusedConnections?: Partial<Record<RefuseReason, number>>;
  /** Requests that waited for their address's turn (client-share.ts): served, or timed_out (a 503). */
  clientWaits?: Partial<Record<ClientWait, number>>;
}

export const CLIENT_WAITS = ['served', 'timed_out'] as const;
export type ClientWait = (typeof CLIENT_WAITS)[number];

export function emptyCounts(): RequestCounts {
  return {
    status: {},
    buckets: new Array<number>(BUCKETS.length).fill(0),
    sum: 0,
    proxyRefusals: {},
    h2: 0,
    upgrades: {},
    wsCloses: {},
    shed: {},
    refusedConnections: {},
    clientWaits: {},
  };
}

function addTo(into: Record<string, number>, from: Record<string, number> | undefined): void {
  for (const [k, n] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + n;
}

export function addCounts(into: RequestCounts, from: RequestCounts): void {
  for (const [status, n] of Object.entries(from.status)) into.status[status] = (into.status[status] ?? 0) + n;
  from.buckets.forEach((n, i) => {
    into.buckets[i] = (into.buckets[i] ?? 0) + n;
  });
  into.sum += from.sum;
  for (const reason of PROXY_REFUSALS)
    if (from.proxyRefusals[reason])
      into.proxyRefusals[reason] = (into.proxyRefusals[reason] ?? 0) + from.proxyRefusals[reason];
  into.h2 += from.h2 ?? 0;
  into.upgrades ??= {};
  into.wsCloses ??= {};
  addTo(into.upgrades, from.upgrades);
  addTo(into.wsCloses, from.wsCloses);
  into.shed ??= {};
  into.refusedConnections ??= {};
  addTo(into.shed, from.shed);
  addTo(into.refusedConnections, from.refusedConnections);
  into.clientWaits ??= {};
  addTo(into.clientWaits, from.clientWaits);
}

/** The request metrics in prom-client's JSON form, from counts summed over workers. */
export function requestMetrics(counts: RequestCounts, inFlight: number): MetricJson[] {
  const requests: MetricJson = {
    name: 'gateway_http_requests_total',
    help: 'Requests answered, by status code.',
    type: 'counter',
    aggregator: 'sum',
    values: Object.entries(counts.status).map(([status, value]) => ({ value, labels: { status } })),
  };
  let cumulative = 0;
  const bucketValues: MetricValue[] = BUCKETS.map((le, i) => {
    cumulative += counts.buckets[i] ?? 0;
    return { value: cumulative, labels: { le }, metricName: 'gateway_http_request_duration_seconds_bucket' };
  });
  const count = Object.values(counts.status).reduce((a, b) => a + b, 0);
  bucketValues.push({
    value: count,
    labels: { le: '+Inf' },
    metricName: 'gateway_http_request_duration_seconds_bucket',
  });
  const duration: MetricJson = {
    name: 'gateway_http_request_duration_seconds',
    help: 'Time from request head to the end of the response.',
    type: 'histogram',
    aggregator: 'sum',
    values: [
      ...bucketValues,
      { value: counts.sum, labels: {}, metricName: 'gateway_http_request_duration_seconds_sum' },
      { value: count, labels: {}, metricName: 'gateway_http_request_duration_seconds_count' },
    ],
  };
  // Its own counter rather than a label on the one above: dashboards and alerts that sum by status
  // stay as they are, and the split by protocol is one more series pair, not one per status.
  const byProtocol: MetricJson = {
    name: 'gateway_http_requests_by_protocol_total',
    help: 'Requests answered, by HTTP version (http/1.1 counts HTTP/1.0 too).',
    type: 'counter',
    aggregator: 'sum',
    values: [
      { value: count - counts.h2, labels: { protocol: 'http/1.1' } },
      { value: counts.h2, labels: { protocol: 'h2' } },
    ],
  };
  const inFlightMetric: MetricJson = {
    name: 'gateway_http_requests_in_flight',
    help: 'Requests being handled now.',
    type: 'gauge',
    aggregator: 'sum',
    values: [{ value: inFlight, labels: {} }],
  };
  // Every reason from the start, at 0, so rate() sees the first refusal.
  const proxyRefusals: MetricJson = {
    name: 'gateway_proxy_protocol_refusals_total',
    help: 'Connections closed before HTTP for their PROXY protocol header (--proxy-protocol), by reason.',
    type: 'counter',
    aggregator: 'sum',
    values: PROXY_REFUSALS.map((reason) => ({ value: counts.proxyRefusals[reason] ?? 0, labels: { reason } })),
  };
  const upgrades: MetricJson = {
    name: 'gateway_upgrades_total',
    help: 'HTTP Upgrade requests (WebSockets) by outcome: switched (101), answered (not 101), refused_*, idle_timeout.',
    type: 'counter',
    aggregator: 'sum',
    values: Object.entries(counts.upgrades ?? {}).map(([outcome, value]) => ({ value, labels: { outcome } })),
  };
  const wsCloses: MetricJson = {
    name: 'gateway_websocket_server_closes_total',
    help: 'Close frames the app sent on WebSockets, by code (1002, 1007, 1009: a malformed or oversized frame).',
    type: 'counter',
    aggregator: 'sum',
    values: Object.entries(counts.wsCloses ?? {}).map(([code, value]) => ({ value, labels: { code } })),
  };
  // Every reason from the start, at 0, as for the PROXY refusals.
  const shed: MetricJson = {
    name: 'gateway_connections_shed_total',
    help: 'Connections closed at worker_connections to make room for a new one, by reason: head, body, response, idle.',
    type: 'counter',
    aggregator: 'sum',
    values: SHED_REASONS.map((reason) => ({ value: counts.shed?.[reason] ?? 0, labels: { reason } })),
  };
  const refused: MetricJson = {
    name: 'gateway_connections_refused_total',
    help: 'Connections closed at accept: worker_full (none to shed), per_client (max_connections_per_client).',
    type: 'counter',
    aggregator: 'sum',
    values: REFUSE_REASONS.map((reason) => ({ value: counts.refusedConnections?.[reason] ?? 0, labels: { reason } })),
  };
  const clientWaits: MetricJson = {
    name: 'gateway_client_waits_total',
    help: 'Requests that waited for their address to have fewer than max_in_flight_per_client in the app: served, timed_out (503).',
    type: 'counter',
    aggregator: 'sum',
    values: CLIENT_WAITS.map((outcome) => ({ value: counts.clientWaits?.[outcome] ?? 0, labels: { outcome } })),
  };
  return [
    requests,
    duration,
    byProtocol,
    inFlightMetric,
    proxyRefusals,
    upgrades,
    wsCloses,
    shed,
    refused,
    clientWaits,
  ];
}

export class WorkerStats {
  inFlight = 0;
  /** Requests handed to the app (the max-requests count). */
  total = 0;
  private readonly byStatus = new Map<number, number>();
  private readonly bucketCounts = new Array<number>(BUCKETS.length).fill(0);
  private durationSum = 0;
  private readonly proxyRefusals: Partial<Record<ProxyRefusal, number>> = {};
  private h2 = 0;
  private readonly upgrades: Record<string, number> = {};
  private readonly wsCloses: Record<string, number> = {};
  private readonly shed: Record<string, number> = {};
  private readonly refusedConnections: Record<string, number> = {};
  private readonly clientWaits: Record<string, number> = {};
  private readonly defaults = new Registry();

  private collecting = false;

  /**
   * Event-loop lag, GC time, CPU, memory, handles: prom-client's set. Only when something can scrape
   * it (--metrics-bind): its GC observer is not free. With it on, the worker's old generation grows
   * under load (about 3 MB per 20 s at 40k req/s), which brings a mark-compact about every 10 s
   * and, once the load stops, V8's memory reducer shrinking the heap that the next burst must grow
   * again (measured with --trace-gc; README, Measured).
   */
  collectDefaults(): void {
    if (this.collecting) return;
    this.collecting = true;
    collectDefaultMetrics({ register: this.defaults });
  }

  record(status: number, seconds: number, h2 = false): void {
    if (h2) this.h2++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    this.durationSum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]!) {
        this.bucketCounts[i]!++;
        break;
      }
    }
  }

  refusedProxy(reason: ProxyRefusal): void {
    this.proxyRefusals[reason] = (this.proxyRefusals[reason] ?? 0) + 1;
  }

  /** An upgrade request's outcome (upgrades.ts). */
  upgrade(outcome: string): void {
    this.upgrades[outcome] = (this.upgrades[outcome] ?? 0) + 1;
  }

  /** A close frame the app sent on a WebSocket. */
  wsClose(code: number): void {
    this.wsCloses[code] = (this.wsCloses[code] ?? 0) + 1;
  }

  /** A connection closed by the guard (connection-guard.ts). */
  shedConnection(reason: ShedReason): void {
    this.shed[reason] = (this.shed[reason] ?? 0) + 1;
  }

  refusedConnection(reason: RefuseReason): void {
    this.refusedConnections[reason] = (this.refusedConnections[reason] ?? 0) + 1;
  }

  /** A request that waited for its address's turn (client-share.ts). */
  clientWait(outcome: ClientWait): void {
    this.clientWaits[outcome] = (this.clientWaits[outcome] ?? 0) + 1;
  }

  counts(): RequestCounts {
    return {
      status: Object.fromEntries(this.byStatus),
      buckets: [...this.bucketCounts],
      sum: this.durationSum,
      proxyRefusals: { ...this.proxyRefusals },
      h2: this.h2,
      upgrades: { ...this.upgrades },
      wsCloses: { ...this.wsCloses },
      shed: { ...this.shed },
      refusedConnections: { ...this.refusedConnections },
      clientWaits: { ...this.clientWaits },
    };
  }

  /** prom-client's default set for this process (empty unless collectDefaults was called). */
  defaultMetrics(): Promise<unknown[]> {
    return this.defaults.getMetricsAsJSON();
  }
}
