// The comparison runner's command line: its flags with their defaults, the help
// text, and the checks that turn a bad value into exit code 2 with the reason.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ALL_TOPOLOGIES, type TopologyName } from '@gw/harness';
import { DEFAULT_SCENARIOS, SCENARIO_NAMES, type ScenarioName } from './scenarios.ts';

export type Mode = 'native' | 'compose' | 'auto';

export interface Options {
  mode: Mode;
  /** As given (--topologies); the default depends on the mode. */
  topologies: string | undefined;
  scenarios: string;
  tlsRate: number;
  wsConnections: number;
  /** Seconds per measured step. */
  duration: number;
  warmup: number;
  ramp: number;
  maxRate: number;
  kneeP95: number;
  k6MaxRate: number;
  connections: number;
  fractions: number[];
  workers: number;
  serverCpus: string;
  loadCpus: string;
  out: string | undefined;
  noLatest: boolean;
  latestName: string | undefined;
  noLock: boolean;
  nginxAccessLog: boolean;
}

const HELP = `npm run compare -- [--mode native|compose|auto (native)] [--topologies ${ALL_TOPOLOGIES.join(',')}]
  [--scenarios ${SCENARIO_NAMES.join(',')}]  (or --scenarios balance alone: worker balance, compare/balance.ts)
  [--tls-rate R (300) for the tls keepalive/churn steps] [--ws-connections N (50)]
  [--duration S (10) per measured step] [--warmup S (5)] [--ramp S (30)] [--max-rate R (12000)] [--knee-p95 MS (50)]
  [--fractions 0.5,0.8] [--workers N (2)] [--server-cpus 1] [--load-cpus 0] [--out DIR] [--no-latest] [--no-lock]
  [--nginx-access-log]

--mode native: every topology as local processes pinned with taskset (the default).
--mode compose: gateway, proxy and full as their compose profiles (images built once first), every
  container pinned with cpuset, CPU from the containers' cgroups; gunicorn rows only when named in
  --topologies, then run natively in the same run and labeled so.
--mode auto: compose when \`docker info\` answers and the images are built or buildable, else native.`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

/** The flags of `argv` (help: printed, exit 0; an unknown mode or a non-number: exit 2). */
export function parseOptions(argv = process.argv.slice(2)): Options {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'native' },
      topologies: { type: 'string' },
      scenarios: { type: 'string', default: DEFAULT_SCENARIOS.join(',') },
      'tls-rate': { type: 'string', default: '300' },
      'ws-connections': { type: 'string', default: '50' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '5' },
      ramp: { type: 'string', default: '30' },
      'max-rate': { type: 'string', default: '12000' },
      'knee-p95': { type: 'string', default: '50' },
      'k6-max-rate': { type: 'string', default: '2500' },
      connections: { type: 'string', default: '50' },
      fractions: { type: 'string', default: '0.5,0.8' },
      workers: { type: 'string', default: '2' },
      'server-cpus': { type: 'string', default: availableParallelism() > 1 ? '1' : '0' },
      'load-cpus': { type: 'string', default: '0' },
      out: { type: 'string' },
      'no-latest': { type: 'boolean', default: false },
      'latest-name': { type: 'string' },
      'no-lock': { type: 'boolean', default: false },
      'nginx-access-log': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) {
    console.log(HELP);
    process.exit(0);
  }
  if (!['native', 'compose', 'auto'].includes(v.mode)) fail(`--mode native|compose|auto, not ${v.mode}`);
  return {
    mode: v.mode as Mode,
    topologies: v.topologies,
    scenarios: v.scenarios,
    tlsRate: Number(v['tls-rate']),
    wsConnections: Number(v['ws-connections']),
    duration: Number(v.duration),
    warmup: Number(v.warmup),
    ramp: Number(v.ramp),
    maxRate: Number(v['max-rate']),
    kneeP95: Number(v['knee-p95']),
    k6MaxRate: Number(v['k6-max-rate']),
    connections: Number(v.connections),
    fractions: v.fractions.split(',').map(Number),
    workers: Number(v.workers),
    serverCpus: v['server-cpus'],
    loadCpus: v['load-cpus'],
    out: v.out,
    noLatest: v['no-latest'],
    latestName: v['latest-name'],
    noLock: v['no-lock'],
    nginxAccessLog: v['nginx-access-log'],
  };
}

/** The topologies and scenarios asked for (each one known), the numbers checked; exits 2 otherwise. */
export function selection(
  o: Options,
  defaultTopologies: readonly TopologyName[],
): { topologies: TopologyName[]; scenarios: ScenarioName[] } {
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const topologies = list(o.topologies ?? defaultTopologies.join(',')) as TopologyName[];
  const scenarios = list(o.scenarios) as ScenarioName[];
  for (const t of topologies)
    if (!(ALL_TOPOLOGIES as readonly string[]).includes(t))
      fail(`unknown topology ${t} (${ALL_TOPOLOGIES.join(', ')})`);
  for (const s of scenarios)
    if (!SCENARIO_NAMES.includes(s)) fail(`unknown scenario ${s} (${SCENARIO_NAMES.join(', ')})`);
  const numbers = [o.duration, o.warmup, o.ramp, o.maxRate, o.kneeP95, o.workers, ...o.fractions];
  if (!numbers.every((n) => Number.isFinite(n) && n >= 0)) fail('numeric options must be numbers');
  return { topologies, scenarios };
}
