// The comparison runner: brings up each topology in turn (natively: local
// processes and the distribution's nginx; or with --mode compose: the project's
// images and compose profiles on a Docker engine), runs the same k6 scenarios
// against each, and writes loadtest/results/<timestamp>/ (raw k6 summaries,
// run.json, report.md, SVG charts) and a copy in loadtest/results/latest/
// (native) or loadtest/results/latest-compose/ (a complete compose run).
//
//   npm run compare
//   npm run compare -- --topologies gateway,full --scenarios fixed-rate,static --duration 30
//   npm run compare -- --mode compose        (or --mode auto: compose where it can run)
//   npm run compare -- --topologies gateway-tls,full-tls,gateway,full --scenarios tls,ws --duration 8
//     (TLS at the gateway vs at nginx, and WebSocket echo; a tls/ws-only run goes to results/latest-tls/)
//
// Fairness: every serving process of a topology (nginx included) is pinned to
// --server-cpus (default core 1), k6 and this runner to --load-cpus (core 0), so
// each topology has the same one-core budget and its CPU seconds include nginx's.
// Each topology is warmed up, then its knee is measured (capacity ramp), and the
// latency steps run at fractions of that knee, i.e. below it. The whole run holds
// /tmp/gw-measure.lock (flock) so it never overlaps other measurements.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus as osCpus, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { composeCli, endpoint, ROOT } from '@gw/harness';
import {
  buildImages,
  COMPOSE_PROJECT,
  COMPOSE_TOPOLOGIES,
  type ComposeTopology,
  type ComposeTopologyName,
  composeUnavailable,
  downAll,
  STACK_IMAGE,
  STACK_TAG,
  startComposeTopology,
} from './containers.ts';
import {
  type K6Summary,
  parseWrk,
  type Row,
  type RunInfo,
  renderReport,
  rowsOf,
  type TopologyInfo,
  wsRowOf,
} from './report.ts';
import {
  ALL_TOPOLOGIES,
  DESCRIPTIONS,
  startTopology,
  TOPOLOGIES,
  type Topology,
  type TopologyName,
  unavailable,
  versions,
} from './topologies.ts';

const LOCK = '/tmp/gw-measure.lock';
const K6 = process.env.K6_BIN ?? 'k6';
const SCENARIOS = ['capacity', 'fixed-rate', 'static', 'slow', 'cpu', 'churn', 'tls', 'ws'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** The default run; tls (wrk + churn.js, meant for the -tls topologies and their plain twins) and ws only when named. */
const DEFAULT_SCENARIOS: Scenario[] = ['capacity', 'fixed-rate', 'static', 'slow', 'cpu', 'churn'];
/** What the Flask reference serves: GET / only (no static files, /slow, /cpu). */
const PYTHON_SCENARIOS = new Set<Scenario>(['capacity', 'fixed-rate', 'churn', 'tls']);

const { values: opts } = parseArgs({
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

if (opts.help) {
  console.log(`npm run compare -- [--mode native|compose|auto (native)] [--topologies ${ALL_TOPOLOGIES.join(',')}] [--scenarios ${SCENARIOS.join(',')}]
  [--tls-rate R (300) for the tls keepalive/churn steps] [--ws-connections N (50)]
  [--duration S (10) per measured step] [--warmup S (5)] [--ramp S (30)] [--max-rate R (12000)] [--knee-p95 MS (50)]
  [--fractions 0.5,0.8] [--workers N (2)] [--server-cpus 1] [--load-cpus 0] [--out DIR] [--no-latest] [--no-lock] [--nginx-access-log]`);
  console.log(`
--mode native: every topology as local processes pinned with taskset (the default).
--mode compose: gateway, proxy and full as their compose profiles (images built once first), every
  container pinned with cpuset, CPU from the containers' cgroups; gunicorn rows only when named in
  --topologies, then run natively in the same run and labeled so.
--mode auto: compose when \`docker info\` answers and the images are built or buildable, else native.`);
  process.exit(0);
}
if (!['native', 'compose', 'auto'].includes(opts.mode!)) {
  console.error(`--mode native|compose|auto, not ${opts.mode}`);
  process.exit(2);
}

// Take the measurement lock by re-running this script under flock(1).
if (!opts['no-lock'] && process.env.COMPARE_LOCKED !== '1') {
  if (spawnSync('sh', ['-c', 'command -v flock'], { stdio: 'ignore' }).status === 0) {
    process.stderr.write(`compare: waiting for ${LOCK} (other measurements in progress?)\n`);
    const child = spawn('flock', [LOCK, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, COMPARE_LOCKED: '1' },
    });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    await new Promise(() => {});
  }
}

const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const RAMP = Number(opts.ramp);
const MAX_RATE = Number(opts['max-rate']);
const KNEE_P95 = Number(opts['knee-p95']);
const K6_MAX = Number(opts['k6-max-rate']);
const CONNECTIONS = Number(opts.connections);
const HAS_WRK = spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;
const FRACTIONS = opts.fractions!.split(',').map(Number);
const WORKERS = Number(opts.workers);
const TLS_RATE = Number(opts['tls-rate']);
const WS_CONNECTIONS = Number(opts['ws-connections']);
const WS_MESSAGES = 100;
const WS_INTERVAL_MS = 20;
const SERVER_CPUS = opts['server-cpus']!;
const LOAD_CPUS = opts['load-cpus']!;
const GAP = 2;
// ---- the mode ------------------------------------------------------------------------

let MODE = opts.mode as 'native' | 'compose' | 'auto';
let modeWhy = '';
if (MODE !== 'native') {
  const why = composeUnavailable();
  if (why && MODE === 'compose') {
    console.error(`compare: --mode compose cannot run here: ${why}`);
    process.exit(2);
  }
  modeWhy =
    MODE === 'auto'
      ? why
        ? `auto: native, because ${why}`
        : 'auto: compose, a Docker engine answers and the images are built or buildable'
      : 'asked for with --mode compose';
  MODE = why ? 'native' : 'compose';
}
const COMPOSE = MODE === 'compose';
const isComposeTopology = (t: string): t is ComposeTopologyName =>
  (COMPOSE_TOPOLOGIES as readonly string[]).includes(t);
/** In compose mode, the Python reference has no image: skipped unless named, then run natively and labeled. */
const PYTHON_IN_COMPOSE =
  'no image (Python reference): see results/latest/, or name it in --topologies to run it natively here';
const topologies = (opts.topologies ?? (COMPOSE ? [...COMPOSE_TOPOLOGIES] : TOPOLOGIES).join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as TopologyName[];
const scenarios = opts
  .scenarios!.split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Scenario[];
for (const t of topologies)
  if (!(ALL_TOPOLOGIES as readonly string[]).includes(t)) {
    console.error(`unknown topology ${t} (${ALL_TOPOLOGIES.join(', ')})`);
    process.exit(2);
  }
for (const s of scenarios)
  if (!SCENARIOS.includes(s)) {
    console.error(`unknown scenario ${s} (${SCENARIOS.join(', ')})`);
    process.exit(2);
  }
if (![DURATION, WARMUP, RAMP, MAX_RATE, KNEE_P95, WORKERS, ...FRACTIONS].every((n) => Number.isFinite(n) && n >= 0)) {
  console.error('numeric options must be numbers');
  process.exit(2);
}
if (spawnSync(K6, ['version'], { stdio: 'ignore' }).status !== 0) {
  console.error(`compare: no k6 (${K6}) on PATH`);
  process.exit(2);
}
// Counted before this process pins itself (availableParallelism follows the affinity mask).
const CORES = availableParallelism();
const hasTaskset = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
// This process samples CPU during the runs: keep it off the servers' core too.
if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', LOAD_CPUS, String(process.pid)], { stdio: 'ignore' });

const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
const OUT = opts.out ?? join(ROOT, 'loadtest/results', stamp);
mkdirSync(join(OUT, 'logs'), { recursive: true });
mkdirSync(join(OUT, 'warmup'), { recursive: true });

// ---- progress ----------------------------------------------------------------------

const t0 = Date.now();
const clock = (s: number) =>
  `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.round(s % 60)).padStart(2, '0')}`;
/** Planned seconds of each k6 run, for the ETA. */
function planned(s: Scenario | 'warmup'): number {
  switch (s) {
    case 'warmup':
      return WARMUP + 2;
    case 'capacity':
      return HAS_WRK ? DURATION + 1 : RAMP + 3;
    case 'fixed-rate':
      return FRACTIONS.length * (DURATION + GAP) + 1;
    case 'static':
      return 4 * (DURATION + GAP) + 1;
    case 'slow':
      return DURATION + 4;
    case 'cpu':
      return DURATION + 3;
    case 'churn':
      return 2 * (DURATION + GAP) + 1;
    case 'tls':
      return DURATION + 1 + 2 * (DURATION + GAP) + 1 + 3;
    case 'ws':
      return DURATION + 12;
  }
}
const isPython = (t: TopologyName) => t === 'gunicorn' || t === 'nginx-gunicorn';
/** Why a topology is not measured in this run, or undefined. */
const whyNot = (t: TopologyName): string | undefined => (COMPOSE && isComposeTopology(t) ? undefined : unavailable(t));
const runnable = topologies.filter((t) => !whyNot(t));
const plan = runnable.flatMap((t) =>
  [...(WARMUP > 0 ? ['warmup' as const] : []), ...scenarios.filter((s) => !isPython(t) || PYTHON_SCENARIOS.has(s))].map(
    (s) => ({ t, s }),
  ),
);
const plannedTotal = plan.reduce((a, p) => a + planned(p.s) + 3, 0);
let plannedDone = 0;
let stepNo = 0;
function progress(text: string): void {
  const elapsed = (Date.now() - t0) / 1000;
  // Scale the remaining plan by how long the plan has taken so far (startup, k6 init).
  const pace = plannedDone > 0 ? elapsed / plannedDone : 1;
  const eta = Math.max(0, (plannedTotal - plannedDone) * pace);
  process.stderr.write(
    `[${String(stepNo).padStart(2)}/${plan.length} ${clock(elapsed)} elapsed, ETA ${clock(eta)}] ${text}\n`,
  );
}
const note = (text: string) => process.stderr.write(`        ${text}\n`);

// ---- CPU sampling ------------------------------------------------------------------

/**
 * What the runner needs of a topology, native (topologies.ts) or in containers
 * (containers.ts): where clients connect and which Host they name, its
 * cumulative CPU seconds, and a stop.
 */
interface Serving {
  name: TopologyName;
  /** What k6 gets as BASE_URL (with `k6Config` mapping its host name to the address). */
  baseUrl: string;
  /** What wrk connects to, with `hostHeader` as Host. */
  connectUrl: string;
  hostHeader: string;
  k6Config?: string | undefined;
  /** 'native' or 'compose'. */
  how: 'native' | 'compose';
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function nativeServing(t: Topology): Serving {
  return {
    name: t.name,
    baseUrl: t.baseUrl,
    connectUrl: t.baseUrl,
    hostHeader: '127.0.0.1',
    how: 'native',
    cpuSeconds: () => t.cpuSeconds(),
    stop: () => t.stop(),
  };
}

/** A k6 config file mapping the topology's host names to their addresses (k6's `hosts` option). */
function k6HostsConfig(t: ComposeTopology, dir: string): string | undefined {
  const [name] = Object.keys(t.hosts ?? {});
  if (name === undefined) return undefined;
  const f = join(dir, `k6-hosts-${name}.json`);
  writeFileSync(f, `${JSON.stringify({ hosts: t.hosts })}\n`);
  return f;
}

function composeServing(t: ComposeTopology): Serving {
  const to = endpoint(t);
  return {
    name: t.name,
    baseUrl: t.baseUrl,
    connectUrl: t.baseUrl.replace(`//${to.hostHeader}:`, `//${to.host}:`),
    hostHeader: to.hostHeader,
    k6Config: k6HostsConfig(t, join(OUT, 'logs')),
    how: 'compose',
    cpuSeconds: () => t.cpuSeconds(),
    stop: () => t.stop(),
  };
}

/** Samples the topology's cumulative CPU every 100 ms; cpu(from, to) interpolates. */
function sampler(topo: Serving): { stop(): void; between(from: number, to: number): number | null } {
  const samples: Array<[number, number]> = [];
  const zero = topo.cpuSeconds();
  const tick = () => {
    samples.push([Date.now(), topo.cpuSeconds() - zero]);
  };
  tick();
  const timer = setInterval(tick, 100);
  const at = (t: number): number => {
    if (samples.length === 0) return 0;
    if (t <= samples[0]![0]) return samples[0]![1];
    for (let i = 1; i < samples.length; i++) {
      const [ta, va] = samples[i - 1]!;
      const [tb, vb] = samples[i]!;
      if (t <= tb) return va + ((vb - va) * (t - ta)) / Math.max(1, tb - ta);
    }
    return samples[samples.length - 1]![1];
  };
  return {
    stop: () => {
      tick();
      clearInterval(timer);
    },
    between: (from, to) =>
      samples.length < 2 || to > samples[samples.length - 1]![0] + 500 ? null : at(to) - at(from),
  };
}

// ---- k6 ----------------------------------------------------------------------------

async function k6(
  script: string,
  topo: Serving,
  env: Record<string, string | number>,
  dir: string,
  seconds: number,
): Promise<K6Summary | undefined> {
  const args = [
    'run',
    '--quiet',
    ...(topo.k6Config ? ['--config', topo.k6Config] : []),
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    join(ROOT, 'loadtest/scenarios', `${script}.js`),
  ];
  const argv = hasTaskset ? ['taskset', '-c', LOAD_CPUS, K6, ...args] : [K6, ...args];
  const log = join(OUT, 'logs', `${dir === OUT ? '' : `${dir.split('/').pop()}-`}${script}-${topo.name}.txt`);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: {
      ...process.env,
      K6_NO_USAGE_REPORT: 'true',
      BASE_URL: topo.baseUrl,
      TOPOLOGY: topo.name,
      RESULTS_DIR: dir,
      // HTTP/1.1 over TLS too: nginx's 8443 offers h2 by ALPN, the gateway does not; the TLS comparison is of where TLS ends, not of h2.
      ...(topo.baseUrl.startsWith('https:')
        ? { GODEBUG: [process.env.GODEBUG, 'http2client=0'].filter(Boolean).join(',') }
        : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    text += c.toString();
  });
  // Every load is bounded in time: k6 gets its plan plus a minute, then SIGINT, then SIGKILL.
  const limit = setTimeout(
    () => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    },
    (seconds + 60) * 1000,
  );
  const code: number = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
  clearTimeout(limit);
  writeFileSync(log, text);
  const file = join(dir, `${script}-${topo.name}.json`);
  if (!existsSync(file)) {
    note(`k6 ${script} wrote no summary (exit ${code}); see ${log}`);
    return undefined;
  }
  // 99 = a threshold failed: expected for capacity (the knee), and a fact worth reporting otherwise.
  if (code !== 0 && !(code === 99)) note(`k6 ${script} exited ${code}; see ${log}`);
  return JSON.parse(readFileSync(file, 'utf8')) as K6Summary;
}

// ---- wrk: the capacity ---------------------------------------------------------------

/**
 * Capacity with wrk (closed model: CONNECTIONS connections, each sending its
 * next request as soon as the last is answered). k6 costs far more CPU per
 * request than wrk: on one core it tops out around 3,000-3,500 req/s, below what
 * any Node topology serves on one core, so a k6 ramp would find k6's knee, not
 * the server's. wrk on the same core does not.
 */
async function wrkCapacity(
  topo: Serving,
  cpu: ReturnType<typeof sampler>,
  scenario = 'capacity',
): Promise<Row | undefined> {
  const args = [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${DURATION}s`,
    '--latency',
    '-H',
    `Host: ${topo.hostHeader}`,
    `${topo.connectUrl}/`,
  ];
  const argv = hasTaskset ? ['taskset', '-c', LOAD_CPUS, 'wrk', ...args] : ['wrk', ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const started = Date.now();
  const limit = setTimeout(() => child.kill('SIGKILL'), (DURATION + 30) * 1000);
  await new Promise((r) => child.on('exit', r));
  clearTimeout(limit);
  const ended = Date.now();
  writeFileSync(join(OUT, `${scenario}-${topo.name}.txt`), text);
  const parsed = parseWrk(text);
  if (!parsed) {
    note(`wrk gave no figures; see ${scenario}-${topo.name}.txt`);
    return undefined;
  }
  // wrk's own start-up and the final partial second are a few ms: the window is the process's life.
  const cpuS = cpu.between(started, ended);
  return {
    topology: topo.name,
    scenario,
    step: `wrk -c${CONNECTIONS}`,
    offered: null,
    requests: parsed.requests,
    rps: parsed.rps,
    p50: parsed.p50,
    p95: NaN,
    p99: parsed.p99,
    failed: parsed.errors,
    dropped: 0,
    cpuSeconds: cpuS,
    cpuPer1k: cpuS === null || parsed.requests === 0 ? null : (cpuS / parsed.requests) * 1000,
    thresholdsOk: parsed.errors === 0,
  };
}

// ---- the run -----------------------------------------------------------------------

const infos: TopologyInfo[] = [];
const rows: Row[] = [];
const cpuModel =
  /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? osCpus()[0]?.model ?? 'unknown CPU';
const k6Version = (spawnSync(K6, ['version'], { encoding: 'utf8' }).stdout ?? '').trim().replace(/^k6 (v\S+).*/s, '$1');

process.stderr.write(
  `compare: mode ${MODE}${modeWhy ? ` (${modeWhy})` : ''}; ${runnable.join(', ') || 'nothing'} × ${scenarios.join(', ')}; ${DURATION}s per step; servers on CPU ${SERVER_CPUS}, k6 on CPU ${LOAD_CPUS}; about ${clock(plannedTotal)} planned → ${OUT}\n`,
);
for (const t of topologies) {
  const why = whyNot(t);
  if (why) {
    process.stderr.write(`        skipping ${t}: ${why}\n`);
    infos.push({ name: t, description: DESCRIPTIONS[t], knee: null, kneeFound: false, skipped: why });
  }
}
if (COMPOSE && opts.topologies === undefined) {
  for (const t of ['gunicorn', 'nginx-gunicorn'] as const)
    infos.push({ name: t, description: DESCRIPTIONS[t], knee: null, kneeFound: false, skipped: PYTHON_IN_COMPOSE });
}

let interrupted = false;
let current: Serving | undefined;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('compare: interrupted; stopping after this step (Ctrl-C again to quit now)\n');
});
process.on('SIGTERM', () => {
  interrupted = true;
  process.exit(143);
});
// Whatever way this process ends (an error, a second Ctrl-C, SIGTERM), the
// project's containers and networks go with it.
let composeUp = false;
process.on('exit', () => {
  if (COMPOSE && composeUp) {
    process.stderr.write(`compare: taking down compose project ${COMPOSE_PROJECT}\n`);
    downAll();
  }
});

let buildS: number | null = null;
const composeCmd = COMPOSE ? composeCli()!.join(' ') : '';
if (COMPOSE) {
  // Leftovers of an earlier run that was killed: down first.
  composeUp = true;
  downAll();
  progress(
    `building the images once (${composeCmd} build, legacy builder: DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0; ${STACK_IMAGE}:${STACK_TAG}, ${STACK_IMAGE}-nginx:${STACK_TAG})`,
  );
  try {
    buildS = buildImages();
  } catch (error) {
    console.error(`compare: build failed: ${(error as Error).message}`);
    process.exit(1);
  }
  note(`built in ${buildS.toFixed(0)} s`);
}

for (const name of runnable) {
  if (interrupted) break;
  const info: TopologyInfo = { name, description: DESCRIPTIONS[name], knee: null, kneeFound: false };
  infos.push(info);
  let topo: Serving;
  try {
    if (COMPOSE && isComposeTopology(name)) {
      progress(
        `${name}: ${composeCmd} -p ${COMPOSE_PROJECT} --profile ${name} up -d (cpuset ${SERVER_CPUS}), waiting for healthy`,
      );
      const c = await startComposeTopology(name, {
        workers: WORKERS,
        cpus: SERVER_CPUS,
        nginxAccessLog: opts['nginx-access-log'],
      });
      note(
        `up: ${c.containers.map((x) => x.name).join(', ')}; clients → ${endpoint(c).host} (Host ${endpoint(c).hostHeader}); CPU from ${[...new Set(c.containers.map((x) => x.cpuSource.replace(/[0-9a-f]{64}/, '<id>')))].join(', ')}`,
      );
      topo = composeServing(c);
    } else {
      topo = nativeServing(
        await startTopology(name, {
          workers: WORKERS,
          cpus: hasTaskset ? SERVER_CPUS : undefined,
          nginxAccessLog: opts['nginx-access-log'],
        }),
      );
      if (COMPOSE) info.description += ' [native: no image]';
    }
  } catch (error) {
    info.skipped = `failed to start: ${(error as Error).message.split('\n')[0]}`;
    progress(`${name}: ${info.skipped}`);
    continue;
  }
  current = topo;
  // What the topology uses with nothing offered (health checks, timers), over 3 s.
  {
    const a = topo.cpuSeconds();
    await sleep(3000);
    info.idleCpuPerS = (topo.cpuSeconds() - a) / 3;
  }
  const cpu = sampler(topo);
  const run = async (
    s: Scenario | 'warmup',
    env: Record<string, string | number>,
    label: string,
    script?: string,
  ): Promise<K6Summary | undefined> => {
    if (s !== 'tls') stepNo++;
    progress(`${name}: ${label}`);
    // tls runs churn.js into its own folder (a churn run of the same topology keeps its file).
    const dir = s === 'warmup' ? join(OUT, 'warmup') : s === 'tls' ? join(OUT, 'tls') : OUT;
    mkdirSync(dir, { recursive: true });
    const summary = await k6(script ?? (s === 'warmup' ? 'fixed-rate' : s), topo, env, dir, planned(s));
    plannedDone += s === 'tls' ? 2 * (DURATION + GAP) + 1 : planned(s) + 3;
    if (!summary || s === 'warmup') return summary;
    const start = Date.parse(summary.meta.endedAt ?? '') - (summary.state?.testRunDurationMs ?? 0);
    const window = Number.isFinite(start)
      ? (from: number, dur: number) => cpu.between(start + from, start + from + dur)
      : undefined;
    const got =
      s === 'ws'
        ? [wsRowOf(summary, window)]
        : rowsOf(summary, window).map((r) => (s === 'tls' ? { ...r, scenario: 'tls' } : r));
    rows.push(...got);
    for (const r of got)
      note(
        `${r.step.padEnd(12)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.failed + r.dropped}  CPU ${r.cpuPer1k === null ? '–' : r.cpuPer1k.toFixed(3)} s/1k`,
      );
    return summary;
  };
  try {
    // Warm-up: JIT, connection pools, page cache; not recorded.
    if (WARMUP > 0)
      await run(
        'warmup',
        { CAPACITY: isPython(name) ? 300 : 1000, FRACTIONS: '1', DURATION: `${WARMUP}s`, GAP: '1s' },
        `warm-up, ${WARMUP}s`,
      );
    let knee: number | null = null;
    if ((scenarios.includes('capacity') || scenarios.includes('fixed-rate')) && HAS_WRK) {
      stepNo++;
      progress(
        `${name}: capacity, wrk -t1 -c${CONNECTIONS} on GET / for ${DURATION}s (closed model: as fast as it answers)`,
      );
      const row = await wrkCapacity(topo, cpu);
      plannedDone += planned('capacity') + 3;
      if (row) {
        rows.push(row);
        knee = row.rps;
        info.knee = Math.round(row.rps);
        info.kneeFound = true;
        note(
          `${row.step.padEnd(12)} ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  errors ${row.failed}  CPU ${row.cpuPer1k === null ? '–' : row.cpuPer1k.toFixed(3)} s/1k`,
        );
      }
    } else if (scenarios.includes('capacity') || scenarios.includes('fixed-rate')) {
      const cap = await run(
        'capacity',
        {
          START_RATE: 100,
          MAX_RATE,
          RAMP: `${RAMP}s`,
          P95_MS: KNEE_P95,
          P99_MS: 60_000,
          ABORT_DELAY: '3s',
          // The VU pool is part of the knee: once MAX_VUS requests are in flight, iterations drop.
          PRE_VUS: 200,
          MAX_VUS: 400,
        },
        `capacity ramp 100 → ${MAX_RATE} req/s over ${RAMP}s (knee: p95 > ${KNEE_P95} ms or dropped iterations)`,
      );
      if (cap) {
        info.kneeFound = cap.meta.kneeFound === true;
        knee = Number(cap.meta.offeredRateAtStop ?? NaN);
        if (!Number.isFinite(knee) || knee <= 0) knee = null;
        info.knee = knee;
        note(`knee ${knee ?? '?'} req/s${info.kneeFound ? '' : ' (not found: MAX_RATE reached)'}`);
      }
    }
    if (!scenarios.includes('capacity'))
      rows.splice(0, rows.length, ...rows.filter((r) => !(r.topology === name && r.scenario === 'capacity')));
    for (const s of scenarios) {
      if (interrupted) break;
      if (s === 'capacity' || (isPython(name) && !PYTHON_SCENARIOS.has(s))) continue;
      const D = `${DURATION}s`;
      if (s === 'fixed-rate') {
        if (knee === null) {
          note('no knee, no fixed-rate steps');
          continue;
        }
        // Below the knee, and within what k6 itself can offer from one core.
        const base = Math.round(Math.min(knee, K6_MAX));
        await run(
          s,
          {
            CAPACITY: base,
            FRACTIONS: FRACTIONS.join(','),
            DURATION: D,
            GAP: `${GAP}s`,
            EXPECTED_MS: 5,
            PRE_VUS: 300,
            MAX_VUS: 600,
            P95_MS: 60_000,
            P99_MS: 60_000,
          },
          `fixed-rate at ${FRACTIONS.map((f) => `${Math.round(f * 100)}%`).join(', ')} of ${base} req/s (min of the knee, ${Math.round(knee)}, and k6's ${K6_MAX}), ${D} each`,
        );
      } else if (s === 'static') {
        await run(
          s,
          { RATE: 500, LARGE_RATE: 20, DURATION: D, GAP: `${GAP}s` },
          `static: 1 KiB at 500 req/s, 1 MiB at 20 req/s, gzip and identity, ${D} each`,
        );
      } else if (s === 'slow') {
        await run(
          s,
          { SLOW_MS: 500, CONCURRENCY: 200, DURATION: D },
          `slow: /slow?ms=500 at 400 req/s (~200 in flight), ${D}`,
        );
      } else if (s === 'cpu') {
        await run(
          s,
          { CPU_MS: 20, RATE: 30, DURATION: D, P95_MS: 60_000, P99_MS: 60_000 },
          `cpu: /cpu?ms=20 at 30 req/s (60% of the core), ${D}`,
        );
      } else if (s === 'tls') {
        stepNo++;
        if (HAS_WRK) {
          progress(
            `${name}: tls capacity, wrk -t1 -c${CONNECTIONS} on ${topo.baseUrl}/ for ${D} (kept-alive connections)`,
          );
          const row = await wrkCapacity(topo, cpu, 'tls');
          if (row) {
            rows.push(row);
            note(
              `${row.step.padEnd(12)} ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  errors ${row.failed}  CPU ${row.cpuPer1k === null ? '–' : row.cpuPer1k.toFixed(3)} s/1k`,
            );
          }
          plannedDone += DURATION + 4;
        }
        await run(
          s,
          { RATE: TLS_RATE, DURATION: D, GAP: `${GAP}s`, PRE_VUS: 100, MAX_VUS: 300, P95_MS: 60_000, P99_MS: 60_000 },
          `tls: churn.js on ${topo.baseUrl}/ at ${TLS_RATE} req/s, kept-alive then Connection: close (a new ${topo.baseUrl.startsWith('https') ? 'TLS ' : ''}connection per request), ${D} each`,
          'churn',
        );
      } else if (s === 'ws') {
        await run(
          s,
          {
            CONNECTIONS: WS_CONNECTIONS,
            MESSAGES: WS_MESSAGES,
            INTERVAL_MS: WS_INTERVAL_MS,
            DURATION: D,
            P95_MS: 60_000,
            P99_MS: 60_000,
          },
          `ws: ${WS_CONNECTIONS} WebSockets to ${topo.baseUrl.replace(/^http/, 'ws')}/ws, ${WS_MESSAGES} messages ${WS_INTERVAL_MS} ms apart each, ${D}`,
        );
      } else if (s === 'churn') {
        await run(
          s,
          { RATE: 500, DURATION: D, GAP: `${GAP}s`, PRE_VUS: 100, MAX_VUS: 300, P95_MS: 60_000, P99_MS: 60_000 },
          `churn: GET / at 500 req/s, keep-alive then Connection: close, ${D} each`,
        );
      }
    }
  } finally {
    cpu.stop();
    await topo.stop();
    current = undefined;
  }
  await sleep(500);
}
void current;

// ---- the report --------------------------------------------------------------------

function commonSettings(): Record<string, string> {
  return {
    'warm-up': `${WARMUP}s of GET / per topology before anything is measured`,
    capacity: HAS_WRK
      ? `wrk -t1 -c${CONNECTIONS} on GET / for ${DURATION}s, on the load core: the most the topology serves on its one core (closed model). k6 is not used for this: it needs several times wrk's CPU per request and tops out near ${K6_MAX} req/s on one core, below every Node topology's capacity`
      : `k6 capacity ramp 100 → ${MAX_RATE} req/s over ${RAMP}s; the knee is the offered rate when p95 passed ${KNEE_P95} ms or k6's pool of 400 VUs ran out`,
    'latency steps': `k6 fixed-rate (open model) at ${FRACTIONS.join(', ')} × min(capacity, ${K6_MAX} req/s that k6 can offer from one core), ${DURATION}s each: below every topology's knee`,
    'load generator': `k6 ${k6Version}, open model (arrival rate), on its own core; at high rates k6 itself may be the limit, which caps every topology alike`,
    ...(scenarios.includes('tls')
      ? {
          tls: `the -tls topologies: gateway-tls = the gateway with --certfile/--keyfile; full-tls / proxy-tls = nginx's shipped 8443 server (includes/tls.conf: TLS 1.2/1.3, session cache, tickets off) in front, plain HTTP behind it. One self-signed P-256 certificate for all. wrk -t1 -c${CONNECTIONS} for ${DURATION}s (kept-alive), then churn.js at ${TLS_RATE} req/s: ${DURATION}s kept-alive, ${DURATION}s with Connection: close. k6 speaks HTTP/1.1 to every topology (GODEBUG=http2client=0)`,
        }
      : {}),
    ...(scenarios.includes('ws')
      ? {
          ws: `ws.js: ${WS_CONNECTIONS} VUs, each a WebSocket session of ${WS_MESSAGES} messages ${WS_INTERVAL_MS} ms apart (then a new session), for ${DURATION}s; rtt = send to echo; CPU per 1,000 echoes`,
        }
      : {}),
  };
}

const v = versions();
if (COMPOSE) {
  // What serves in the containers (the host's node and nginx do not).
  const inImage = (image: string, argv: string[]) => {
    const r = spawnSync(
      'docker',
      ['run', '--rm', '--network', 'none', '--entrypoint', argv[0]!, image, ...argv.slice(1)],
      { encoding: 'utf8', timeout: 60_000 },
    );
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : '?';
  };
  v.node = `${inImage(`${STACK_IMAGE}:${STACK_TAG}`, ['node', '--version'])} (image)`;
  v.nginx = `${inImage(`${STACK_IMAGE}-nginx:${STACK_TAG}`, ['nginx', '-v']).replace(/^nginx version: /, '')} (image)`;
  v.docker = (
    spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).stdout ?? ''
  ).trim();
  v.compose = (
    spawnSync(composeCmd.split(' ')[0]!, [...composeCmd.split(' ').slice(1), 'version', '--short'], {
      encoding: 'utf8',
    }).stdout ?? ''
  ).trim();
}
const anyNative = infos.some((t) => !t.skipped && !(COMPOSE && isComposeTopology(t.name)));
const nativeBudget = `every serving process of a topology pinned to CPU ${SERVER_CPUS} (taskset; children inherit): nginx master and worker, gateway master and workers, app processes, gunicorn master and workers. nginx's CPU is counted in its topology's CPU seconds. k6 and the runner on CPU ${LOAD_CPUS}.`;
const nativeCpu =
  "utime+stime from /proc/<pid>/stat of every serving process, sampled every 100 ms and integrated over each step's window; per 1,000 completed requests";
const composeSettings: Record<string, string> = COMPOSE
  ? {
      mode: `compose (${modeWhy}): each of ${COMPOSE_TOPOLOGIES.join(', ')} is its compose profile of docker-compose.yml, \`${composeCmd} -p ${COMPOSE_PROJECT} --profile <name> up -d\` with free host ports, waited for until every container is healthy, measured, then \`down -v\` (also on failure and Ctrl-C). The images are built once at the start (${buildS === null ? '?' : `${buildS.toFixed(0)} s`}, legacy builder) from this working tree. Native mode (the default, \`npm run compare\`) runs the same topologies as local processes: it needs no Docker, and it measures the servers alone; compose measures them as deployed (container networking, cgroups, Docker's health checks). auto picks compose only where a Docker engine answers and the images are built or buildable. The images carry their own Node and nginx (see Machine and versions), which may differ from the host's that native mode runs: compare figures across modes with that in mind.`,
      'CPU budget': `every container of the topology (nginx, the gateway, each app replica) pinned to CPU ${SERVER_CPUS} by a compose override file generated in a temp dir (\`cpuset: "${SERVER_CPUS}"\` per service; docker-compose.yml untouched; checked with docker inspect). The compose file's own \`cpus\` limits stay (≥ 1 CPU each), so the cpuset is the budget. k6, wrk and the runner on CPU ${LOAD_CPUS} on the host.${anyNative ? ` Rows marked [native] ran as local processes: ${nativeBudget}` : ''}`,
      'CPU seconds': `from each container's cgroup (cgroup v2 cpu.stat usage_usec, or v1 cpuacct.usage; the path read from /proc/<container pid>/cgroup; \`docker top\` + /proc where neither exists), summed over every container of the topology, nginx included, sampled every 100 ms and integrated over each step's window; per 1,000 completed requests. A cgroup counts everything in the container, including Docker's health check (a \`node -e\` every 10 s in each Node container, a bash probe in nginx's) and nginx's upstream re-resolve loop (every 5 s): the "idle" line below is that background per second.${anyNative ? ` [native] rows: ${nativeCpu}.` : ''}`,
      'client path':
        "k6 and wrk connect to the entry container's address on the project's `front` bridge network (Host: the compose service name, which nginx's server_name accepts), not to the port published on 127.0.0.1. Published ports on loopback are carried by `docker-proxy`, a userland process on the host, outside the containers' cgroups and CPU set, that copies every byte once more; traffic from other machines is forwarded by the kernel (iptables DNAT) and never passes it. Going by the bridge address keeps that extra hop, and its CPU, out of both the latency and the CPU figures, as production sees it; the bridge and veth cost itself is real and included in latency (the part in softirq on the server core is in no cgroup).",
      workers: `${WORKERS}: WEB_CONCURRENCY (gateway workers, gateway and full), APP_REPLICAS (app containers of one process each behind nginx, proxy); nginx worker_processes 1 (one per core of the budget)`,
      'nginx config': `nginx/nginx.conf as shipped, mounted read-only over the image's copy by the override file with three rewrites, the same as native mode: plain HTTP on 8080 serves the site (\`include includes/site.conf;\` in place of the redirect to HTTPS, the swap nginx.conf documents: this compares plain HTTP), worker_processes 1${opts['nginx-access-log'] ? '' : ', access_log off (the gateway logs no requests by default either)'}; /api/ is rate-limited there (50 r/s per client), so no scenario here loads /api/`,
    }
  : {};
const info: RunInfo = {
  mode: COMPOSE ? 'compose' : 'native',
  startedAt: new Date(t0).toISOString().replace(/\.\d+Z$/, 'Z'),
  durationS: (Date.now() - t0) / 1000,
  machine: { cores: CORES, cpuModel, kernel: release() },
  versions: {
    node: v.node!,
    nginx: v.nginx!,
    k6: k6Version,
    ...(COMPOSE ? { docker: v.docker!, compose: v.compose! } : {}),
    // The Python side only where it ran.
    ...(infos.some((t) => isPython(t.name as TopologyName) && !t.skipped)
      ? { gunicorn: v.gunicorn!, flask: v.flask!, python: v.python! }
      : {}),
  },
  settings: COMPOSE
    ? { ...composeSettings, ...commonSettings() }
    : {
        ...(modeWhy ? { mode: `native (${modeWhy})` } : {}),
        'CPU budget': hasTaskset
          ? `every serving process of a topology pinned to CPU ${SERVER_CPUS} (taskset; children inherit): nginx master and worker, gateway master and workers, app processes, gunicorn master and workers. nginx's CPU is counted in its topology's CPU seconds. k6 and the runner on CPU ${LOAD_CPUS}.`
          : 'taskset not available: processes not pinned',
        workers: `${WORKERS} (gateway workers, gunicorn sync workers, app processes behind nginx in proxy); nginx worker_processes 1 (one per core of the budget)`,
        'nginx config': `nginx/nginx.conf as shipped, rewritten only for listen/upstream/paths${opts['nginx-access-log'] ? '' : ', and access_log off (the gateway and gunicorn log no requests by default either)'}; /api/ is rate-limited there (50 r/s per client), so no scenario here loads /api/`,
        'CPU seconds': nativeCpu,
        ...commonSettings(),
      },
  topologies: infos,
  rows,
};
const report = renderReport(info);
writeFileSync(join(OUT, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
writeFileSync(join(OUT, 'report.md'), report.markdown);
for (const [file, svg] of Object.entries(report.charts)) writeFileSync(join(OUT, file), svg);
// native → latest/; compose → latest-compose/, and only from a complete run
// (every compose topology measured, not interrupted): a partial run never
// replaces a whole one.
const completeCompose =
  COMPOSE && !interrupted && COMPOSE_TOPOLOGIES.every((t) => infos.some((i) => i.name === t && !i.skipped));
// A run of only tls/ws goes to latest-tls/ (never over the full native run in latest/); --latest-name picks another.
const onlyTlsWs = scenarios.every((s) => s === 'tls' || s === 'ws');
const latestName =
  opts['latest-name'] ??
  (COMPOSE ? (completeCompose ? 'latest-compose' : undefined) : onlyTlsWs ? 'latest-tls' : 'latest');
const copyLatest = !opts['no-latest'] && opts.out === undefined && latestName !== undefined;
if (copyLatest) {
  const latest = join(ROOT, 'loadtest/results', latestName!);
  rmSync(latest, { recursive: true, force: true });
  mkdirSync(latest);
  for (const f of readdirSync(OUT)) if (/\.(md|svg|json)$/.test(f)) cpSync(join(OUT, f), join(latest, f));
}
progress(
  `done: ${join(OUT, 'report.md')}${copyLatest ? ` (and loadtest/results/${latestName}/)` : COMPOSE && !completeCompose ? ' (incomplete compose run: latest-compose/ left as it was)' : ''}`,
);
