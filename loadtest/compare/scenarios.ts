// The comparison's scenarios, one entry each: which topologies it runs on, the
// seconds it plans (the ETA, and the bound on each k6 run), its load steps (a k6
// script with its environment, or wrk's capacity run), how its figures come out of
// a k6 summary, and whether its result is the topology's knee. run.ts walks this
// table for every topology: the warm-up, then capacity (whenever fixed-rate needs
// its knee), then the other scenarios in the order asked for.
import { H2_SCENARIO, type H2Plan } from './h2.ts';
import type { Options } from './options.ts';

export const SCENARIO_NAMES = ['capacity', 'fixed-rate', 'static', 'slow', 'cpu', 'churn', 'tls', 'ws', 'h2'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
/**
 * The default run; tls (wrk + churn.js, meant for the -tls topologies and their plain twins), ws and h2 (h2load, on the
 * -tls topologies only: the default topologies are plain HTTP) only when named.
 */
export const DEFAULT_SCENARIOS: ScenarioName[] = ['capacity', 'fixed-rate', 'static', 'slow', 'cpu', 'churn'];

/** Seconds between the steps of a multi-step k6 script. */
export const GAP = 2;
const WS_MESSAGES = 100;
const WS_INTERVAL_MS = 20;
/** A latency threshold that never fails: the run reports percentiles, it does not judge them. */
const NO_LIMIT = 60_000;

/** What the scenarios read of the command line (options.ts), and whether wrk is there. */
export type Knobs = Pick<
  Options,
  | 'duration'
  | 'warmup'
  | 'ramp'
  | 'maxRate'
  | 'kneeP95'
  | 'k6MaxRate'
  | 'connections'
  | 'fractions'
  | 'tlsRate'
  | 'wsConnections'
> & { hasWrk: boolean };

/** One load step: a k6 script run (its summary in `dir`, under the run folder), or wrk's closed-model capacity run. */
export type Step =
  | { kind: 'k6'; script: string; env: Record<string, string | number>; label: string; dir?: string }
  | { kind: 'wrk'; label: string }
  | { kind: 'h2load'; label: string; plan: H2Plan };

export interface StepContext {
  baseUrl: string;
  /** The topology is the Flask reference (slower: a lighter warm-up). */
  python: boolean;
  /** The knee (req/s) capacity measured on this topology; null before that, or when none was found. */
  knee: number | null;
}

export interface Scenario {
  name: ScenarioName | 'warmup';
  /** Which topologies: every one, or the Node ones only (the Flask reference serves GET / only). */
  topologies: 'all' | 'node';
  /** Seconds planned (k6's plan, or wrk's duration, plus start-up). */
  planned(k: Knobs): number;
  /** Its steps, in order, or why it has none here (said in the log). */
  steps(k: Knobs, ctx: StepContext): Step[] | string;
  /** The rows of a k6 summary: one per step window ('steps'), or one of WebSocket echoes ('ws'). */
  figures: 'steps' | 'ws';
  /** Its figure is the topology's knee (the rate the latency steps are fractions of). */
  knee?: true;
}

const D = (k: Knobs) => `${k.duration}s`;

/** Warm-up: JIT, connection pools, page cache; not recorded. */
export const WARMUP: Scenario = {
  name: 'warmup',
  topologies: 'all',
  planned: (k) => k.warmup + 2,
  steps: (k, c) => [
    {
      kind: 'k6',
      script: 'fixed-rate',
      dir: 'warmup',
      env: { CAPACITY: c.python ? 300 : 1000, FRACTIONS: '1', DURATION: `${k.warmup}s`, GAP: '1s' },
      label: `warm-up, ${k.warmup}s`,
    },
  ],
  figures: 'steps',
};

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  capacity: {
    name: 'capacity',
    topologies: 'all',
    planned: (k) => (k.hasWrk ? k.duration + 1 : k.ramp + 3),
    // wrk where it is there: k6 tops out near 3,000 req/s on one core, below every Node topology.
    steps: (k) => [
      k.hasWrk
        ? {
            kind: 'wrk',
            label: `capacity, wrk -t1 -c${k.connections} on GET / for ${k.duration}s (closed model: as fast as it answers)`,
          }
        : {
            kind: 'k6',
            script: 'capacity',
            // The VU pool is part of the knee: once MAX_VUS requests are in flight, iterations drop.
            env: {
              ...{ START_RATE: 100, MAX_RATE: k.maxRate, RAMP: `${k.ramp}s`, P95_MS: k.kneeP95, P99_MS: NO_LIMIT },
              ...{ ABORT_DELAY: '3s', PRE_VUS: 200, MAX_VUS: 400 },
            },
            label:
              `capacity ramp 100 → ${k.maxRate} req/s over ${k.ramp}s ` +
              `(knee: p95 > ${k.kneeP95} ms or dropped iterations)`,
          },
    ],
    figures: 'steps',
    knee: true,
  },
  'fixed-rate': {
    name: 'fixed-rate',
    topologies: 'all',
    planned: (k) => k.fractions.length * (k.duration + GAP) + 1,
    steps: (k, c) => {
      if (c.knee === null) return 'no knee, no fixed-rate steps';
      // Below the knee, and within what k6 itself can offer from one core.
      const base = Math.round(Math.min(c.knee, k.k6MaxRate));
      const at = k.fractions.map((f) => `${Math.round(f * 100)}%`).join(', ');
      return [
        {
          kind: 'k6',
          script: 'fixed-rate',
          env: {
            ...{ CAPACITY: base, FRACTIONS: k.fractions.join(','), DURATION: D(k), GAP: `${GAP}s`, EXPECTED_MS: 5 },
            ...{ PRE_VUS: 300, MAX_VUS: 600, P95_MS: NO_LIMIT, P99_MS: NO_LIMIT },
          },
          label:
            `fixed-rate at ${at} of ${base} req/s (min of the knee, ${Math.round(c.knee)}, ` +
            `and k6's ${k.k6MaxRate}), ${D(k)} each`,
        },
      ];
    },
    figures: 'steps',
  },
  static: {
    name: 'static',
    topologies: 'node',
    planned: (k) => 4 * (k.duration + GAP) + 1,
    steps: (k) => [
      {
        kind: 'k6',
        script: 'static',
        env: { RATE: 500, LARGE_RATE: 20, DURATION: D(k), GAP: `${GAP}s` },
        label: `static: 1 KiB at 500 req/s, 1 MiB at 20 req/s, gzip and identity, ${D(k)} each`,
      },
    ],
    figures: 'steps',
  },
  slow: {
    name: 'slow',
    topologies: 'node',
    planned: (k) => k.duration + 4,
    steps: (k) => [
      {
        kind: 'k6',
        script: 'slow',
        env: { SLOW_MS: 500, CONCURRENCY: 200, DURATION: D(k) },
        label: `slow: /slow?ms=500 at 400 req/s (~200 in flight), ${D(k)}`,
      },
    ],
    figures: 'steps',
  },
  cpu: {
    name: 'cpu',
    topologies: 'node',
    planned: (k) => k.duration + 3,
    steps: (k) => [
      {
        kind: 'k6',
        script: 'cpu',
        env: { CPU_MS: 20, RATE: 30, DURATION: D(k), P95_MS: NO_LIMIT, P99_MS: NO_LIMIT },
        label: `cpu: /cpu?ms=20 at 30 req/s (60% of the core), ${D(k)}`,
      },
    ],
    figures: 'steps',
  },
  churn: {
    name: 'churn',
    topologies: 'all',
    planned: (k) => 2 * (k.duration + GAP) + 1,
    steps: (k) => [
      {
        kind: 'k6',
        script: 'churn',
        env: {
          RATE: 500,
          DURATION: D(k),
          GAP: `${GAP}s`,
          PRE_VUS: 100,
          MAX_VUS: 300,
          P95_MS: NO_LIMIT,
          P99_MS: NO_LIMIT,
        },
        label: `churn: GET / at 500 req/s, keep-alive then Connection: close, ${D(k)} each`,
      },
    ],
    figures: 'steps',
  },
  tls: {
    name: 'tls',
    topologies: 'all',
    planned: (k) => k.duration + 1 + 2 * (k.duration + GAP) + 1 + 3,
    // churn.js into its own folder: a churn run of the same topology keeps its file.
    steps: (k, c) => [
      ...(k.hasWrk
        ? [
            {
              kind: 'wrk' as const,
              label: `tls capacity, wrk -t1 -c${k.connections} on ${c.baseUrl}/ for ${D(k)} (kept-alive connections)`,
            },
          ]
        : []),
      {
        kind: 'k6',
        script: 'churn',
        dir: 'tls',
        env: {
          RATE: k.tlsRate,
          DURATION: D(k),
          GAP: `${GAP}s`,
          PRE_VUS: 100,
          MAX_VUS: 300,
          P95_MS: NO_LIMIT,
          P99_MS: NO_LIMIT,
        },
        label:
          `tls: churn.js on ${c.baseUrl}/ at ${k.tlsRate} req/s, kept-alive then Connection: close ` +
          `(a new ${c.baseUrl.startsWith('https') ? 'TLS ' : ''}connection per request), ${D(k)} each`,
      },
    ],
    figures: 'steps',
  },
  ws: {
    name: 'ws',
    topologies: 'node',
    planned: (k) => k.duration + 12,
    steps: (k, c) => [
      {
        kind: 'k6',
        script: 'ws',
        env: {
          ...{ CONNECTIONS: k.wsConnections, MESSAGES: WS_MESSAGES, INTERVAL_MS: WS_INTERVAL_MS, DURATION: D(k) },
          ...{ P95_MS: NO_LIMIT, P99_MS: NO_LIMIT },
        },
        label:
          `ws: ${k.wsConnections} WebSockets to ${c.baseUrl.replace(/^http/, 'ws')}/ws, ` +
          `${WS_MESSAGES} messages ${WS_INTERVAL_MS} ms apart each, ${D(k)}`,
      },
    ],
    figures: 'ws',
  },
  h2: H2_SCENARIO,
};

/**
 * What runs on a topology, in order: the warm-up (unless --warmup 0), capacity first when it or
 * fixed-rate (which needs its knee) is asked for, then the rest in the order given; on the Flask
 * reference only what it serves.
 */
export function runOrder(asked: readonly ScenarioName[], k: Knobs, python: boolean): Scenario[] {
  const needKnee = asked.includes('capacity') || asked.includes('fixed-rate');
  const order = [
    ...(k.warmup > 0 ? [WARMUP] : []),
    ...(needKnee ? [SCENARIOS.capacity] : []),
    ...asked.filter((s) => s !== 'capacity').map((s) => SCENARIOS[s]),
  ];
  return order.filter((s) => !python || s.topologies === 'all');
}
