// The h2 scenario: HTTP/2 against HTTP/1.1 over TLS, with h2load (the load generator for
// h2; k6 and wrk speak HTTP/1.1 here). On each TLS topology, round after round, one window
// of each protocol in a shuffled order, each a fixed number of requests a connection: the
// same connections, the same URL (GET /), h2 with STREAMS requests at once a connection,
// HTTP/1.1 one at a time. A round's two windows are seconds apart, so their ratio survives
// the drift of a shared machine; the row of a protocol is the median over the rounds, its
// latency percentiles come from every request of them (h2load's --log-file), its CPU is
// the topology's (nginx included) in each window. Not in the default run (the default
// topologies are plain HTTP): `npm run compare -- --topologies gateway-tls,full-tls --scenarios h2`.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  endpoint,
  type H2loadProtocol,
  type H2loadWindow,
  h2loadUnavailable,
  median,
  percentile,
  runH2load,
  type Serving,
  shuffled,
} from '@gw/harness';
import type { Drivers, Sampler } from './drivers.ts';
import type { RoundFigures, Row } from './rows.ts';
import type { Knobs, Scenario } from './scenarios.ts';

/** How the h2 windows are made; the scenario's defaults below, smaller in the tests. */
export interface H2Plan {
  /** Recorded rounds: one window of each protocol a round. */
  rounds: number;
  /** Unrecorded windows of each protocol first (TLS sessions, JIT, nginx's upstream pool). */
  warmupWindows: number;
  clients: number;
  /** Requests a connection in a window: under nginx's keepalive_requests (1000 a connection, h2 too), after which
   *  nginx sends GOAWAY and h2load ends that client instead of opening a new one. */
  perConnection: number;
  variants: H2Variant[];
  path: string;
}

/** One kind of window: its step name in the rows, the protocol, and the streams a connection on h2. */
export interface H2Variant {
  step: string;
  protocol: H2loadProtocol;
  streams: number;
}

/**
 * h2 with STREAMS streams a connection (what browsers do: many requests on one connection), h2 with one (as many in
 * flight as HTTP/1.1: the protocol's own cost, apart from the concurrency it allows), and HTTP/1.1.
 */
export const H2_VARIANTS: H2Variant[] = [
  { step: 'h2', protocol: 'h2', streams: 10 },
  { step: 'h2-1', protocol: 'h2', streams: 1 },
  { step: 'http/1.1', protocol: 'http/1.1', streams: 1 },
];

export const H2_CLIENTS = 20;
export const H2_PER_CONNECTION = 900;

/** Rounds for a run: --duration / 2 (each round is two windows of a few seconds), at least 2. */
export const h2Rounds = (k: Pick<Knobs, 'duration'>): number => Math.max(2, Math.round(k.duration / 2));

export function h2Plan(k: Pick<Knobs, 'duration'>): H2Plan {
  return {
    rounds: h2Rounds(k),
    warmupWindows: 2,
    clients: H2_CLIENTS,
    perConnection: H2_PER_CONNECTION,
    variants: H2_VARIANTS,
    path: '/',
  };
}

/** Requests in flight at once in a variant's window: `streams` a connection on h2, one on HTTP/1.1. */
export const inFlight = (plan: Pick<H2Plan, 'clients'>, v: H2Variant): number =>
  v.protocol === 'h2' ? plan.clients * v.streams : plan.clients;

/** The report's settings line for h2: how its windows were made, or why it was not measured. */
export function h2Setting(k: Pick<Knobs, 'duration'>): string {
  const missing = h2loadUnavailable();
  if (missing) return `not measured: ${missing}`;
  const p = h2Plan(k);
  const each = p.variants.map((v) => `${v.step} (${inFlight(p, v)} requests in flight)`).join(', ');
  return (
    `h2load, one thread, on the load core, ${p.clients} connections: ${p.warmupWindows} unrecorded windows of each ` +
    `of ${each}, then ${p.rounds} rounds (--duration / 2) of one window of each in a shuffled order, ` +
    `${p.clients} × ${p.perConnection} requests of GET ${p.path} a window; h2 = ALPN h2 with several streams a ` +
    'connection, h2-1 = ALPN h2 with one (the concurrency of HTTP/1.1), http/1.1 = ALPN http/1.1; on the TLS ' +
    'topologies only'
  );
}

export const H2_SCENARIO: Scenario = {
  name: 'h2',
  topologies: 'node',
  // Windows of 18,000 requests take 2-5 s here; a round is two of them.
  planned: (k) => h2Rounds(k) * 2 * 4 + 8 * 3,
  steps: (k, c) => {
    const missing = h2loadUnavailable();
    if (missing) return `h2 not measured: ${missing}`;
    if (!c.baseUrl.startsWith('https:'))
      return 'h2 not measured on a plain-HTTP topology: it runs on the TLS ones (--topologies gateway-tls,full-tls)';
    const p = h2Plan(k);
    return [
      {
        kind: 'h2load',
        plan: p,
        label:
          `h2: h2load GET ${p.path}, ${p.clients} connections × ${p.perConnection} requests a window, ` +
          `${p.variants.map((v) => v.step).join(', ')}, ${p.rounds} rounds in a shuffled order`,
      },
    ];
  },
  figures: 'steps',
};

/** The window's problem, or undefined when it counts: a summary, the protocol asked for, no failures. */
function whyNotCounted(w: H2loadWindow, protocol: H2loadProtocol): string | undefined {
  const f = w.figures;
  if (!f) return `h2load gave no summary (exit ${w.code})`;
  if (f.protocol !== protocol) return `asked for ${protocol}, negotiated ${f.protocol ?? 'nothing'}`;
  if (f.done === 0) return 'no request done';
  return undefined;
}

/**
 * The h2 scenario on one topology: `plan.warmupWindows` unrecorded windows of each protocol, then
 * `plan.rounds` rounds of one window each in a shuffled order; one row per protocol (median req/s
 * and CPU per 1,000 requests over the rounds, p50/p95/p99 over every request, failures summed, and
 * each round's figures in `rounds`). h2load's output goes to logs/h2-<topology>.txt.
 */
export async function h2Windows(d: Drivers, topo: Serving, cpu: Sampler, plan: H2Plan): Promise<Row[]> {
  const to = endpoint(topo);
  const log = join(d.out, 'logs', `h2-${topo.name}.txt`);
  const window = async (v: H2Variant, what: string) => {
    const w = await runH2load({
      url: `${topo.baseUrl}${plan.path}`,
      protocol: v.protocol,
      clients: plan.clients,
      streams: v.streams,
      requests: plan.clients * plan.perConnection,
      cpus: d.loadCpus,
      ...(topo.hosts ? { connectTo: `${to.host}:${to.port}` } : {}),
    });
    appendFileSync(log, `---- ${what}, ${v.step}\n${w.text}\n`);
    return w;
  };
  for (let i = 0; i < plan.warmupWindows; i++) for (const v of plan.variants) await window(v, `warm-up ${i + 1}`);
  const got = new Map<
    H2Variant,
    { rounds: RoundFigures[]; latencies: number[]; failed: number; cpu: number; done: number }
  >(plan.variants.map((v) => [v, { rounds: [], latencies: [], failed: 0, cpu: 0, done: 0 }]));
  for (let round = 1; round <= plan.rounds; round++) {
    for (const v of shuffled(plan.variants, round)) {
      const w = await window(v, `round ${round}`);
      const why = whyNotCounted(w, v.protocol);
      if (why) {
        d.note(`round ${round}, ${v.step}: not counted (${why}); see logs/h2-${topo.name}.txt`);
        continue;
      }
      const f = w.figures!;
      const mine = got.get(v)!;
      const cpuS = cpu.between(w.startedAt, w.endedAt);
      if (cpuS !== null) mine.cpu += cpuS;
      mine.done += f.done;
      mine.rounds.push({ round, rps: f.rps, cpuPer1k: cpuS === null ? null : (cpuS / f.done) * 1000 });
      mine.failed += f.failed + f.errored + f.timeout + f.status['4xx'] + f.status['5xx'];
      for (const ms of w.latenciesMs) mine.latencies.push(ms);
    }
  }
  const rows: Row[] = [];
  for (const [v, g] of got) {
    if (g.rounds.length === 0) continue;
    const cpus = g.rounds.map((r) => r.cpuPer1k).filter((v): v is number => v !== null);
    rows.push({
      topology: topo.name,
      scenario: 'h2',
      step: v.step,
      offered: null,
      inFlight: inFlight(plan, v),
      requests: g.done,
      rps: median(g.rounds.map((r) => r.rps)),
      p50: percentile(g.latencies, 0.5),
      p95: percentile(g.latencies, 0.95),
      p99: percentile(g.latencies, 0.99),
      failed: g.failed,
      dropped: 0,
      cpuSeconds: cpus.length ? g.cpu : null,
      cpuPer1k: cpus.length ? median(cpus) : null,
      thresholdsOk: g.failed === 0,
      rounds: g.rounds,
    });
  }
  return rows;
}
