/**
 * Throughput benchmark (a script that prints figures, never a test). On the sample app's GET /:
 *
 *   per worker:  gateway -w 1  vs  the app's standalone server, both pinned to the same core
 *   pool of 2:   gateway -w 2  vs  plain node:cluster  vs  PM2 cluster mode
 *
 * wrk runs pinned to core 0. Two kinds of noise are larger here than the differences measured:
 *  - the VM drifts by tens of percent over minutes, so the targets of a group run side by side:
 *    all started and warmed up (JIT settled, which takes some seconds of load), then loaded in
 *    turn in short windows, round after round, an idle target costing nothing; each round's ratio
 *    compares windows seconds apart, and the result is the median of those ratios;
 *  - two processes of the very same server differ by several percent for their whole life (JIT
 *    and memory-layout luck: an A/A run of two standalone servers gave 1.07), so each target runs
 *    as several instances, and a round's figure for a target is the mean over its instances;
 *  - a process keeps working for a moment after its window (closing 50 connections, GC, timers)
 *    on the core the next target is pinned to, so with a fixed order a target would always inherit
 *    the same neighbour's tail: the order is shuffled every round (seeded, --seed repeats a run)
 *    and the core idles --gap seconds between windows.
 * A second group of standalone servers, the A/A control, runs beside the per-worker pair: its ratio
 * to the first (ideally 1.000) shows how far this run's ratios can be trusted, and the gateway is
 * also compared with both groups together.
 * CPU time of the serving processes per 1,000 requests is reported beside throughput.
 *
 *   npm run bench:throughput [-- --instances 4 --duration 3 --warmup 10 --rounds 6 --connections 50]
 *                            [--gap 1] [--lead-in 0] [--seed N] [--only standalone,'gateway -w 1']
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
// Launching and CPU accounting shared with the comparison runner and the tests.
import { freePort, launch, type Serving, servingOf, tree } from '@gw/harness';
import { median, need, needBuilt, ROOT, waitListening } from './common.ts';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '6' },
    instances: { type: 'string', default: '4' },
    connections: { type: 'string', default: '50' },
    gap: { type: 'string', default: '1' },
    'lead-in': { type: 'string', default: '0' },
    seed: { type: 'string' },
    only: { type: 'string' },
  },
});
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const ROUNDS = Number(opts.rounds);
const INSTANCES = Number(opts.instances);
const CONNECTIONS = Number(opts.connections);
const GAP_MS = Number(opts.gap) * 1000;
const LEAD_IN = Number(opts['lead-in']);
const SEED = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(opts.seed);
const LOAD_CORE = '0';
const SERVER_CORE = availableParallelism() > 1 ? '1' : '0';

need('wrk', 'apt-get install wrk');
need('taskset', 'apt-get install util-linux');
needBuilt();

interface Target {
  name: string;
  group: 'per worker' | 'pool of 2';
  start(port: number): Promise<Serving>;
}

async function waitUp(port: number, proc?: ChildProcess): Promise<void> {
  await waitListening(port, proc, 20_000);
  // Every worker must be up, not just the first: give a pool a moment to finish booting.
  await sleep(1500);
}

function processTarget(
  name: string,
  group: Target['group'],
  argv: (port: number) => string[],
  env: (port: number) => NodeJS.ProcessEnv = () => ({}),
): Target {
  return {
    name,
    group,
    async start(port) {
      const p = launch(argv(port), {
        env: { LOG_LEVEL: 'warn', NODE_ENV: 'production', ...env(port) },
        stderr: 'inherit',
      });
      await waitUp(port, p.proc);
      return servingOf(name, `http://127.0.0.1:${port}`, p.tree, p.stop);
    },
  };
}

const node = process.execPath;
const pm2Bin = join(ROOT, 'node_modules/.bin/pm2');

const standalone = (name: string) =>
  processTarget(
    name,
    'per worker',
    () => ['taskset', '-c', SERVER_CORE, node, 'app/dist/standalone.js'],
    (p) => ({ PORT: String(p), HOST: '127.0.0.1' }),
  );
/** The gateway hosting the sample app: one worker pinned to the standalone server's core, or a pool. */
const gateway = (name: string, workers: 1 | 2, extra: string[] = []) =>
  processTarget(name, workers === 1 ? 'per worker' : 'pool of 2', (p) => [
    ...(workers === 1 ? ['taskset', '-c', SERVER_CORE] : []),
    node,
    'server/dist/cli.js',
    '-w',
    String(workers),
    '-b',
    `127.0.0.1:${p}`,
    ...extra,
    '--log-level',
    'warning',
    'app/dist/app.js',
  ]);
const STANDALONE = 'standalone app (1 process)';
const CONTROL = 'standalone app (A/A control)';
const METRICS = 'gateway -w 1 --metrics-bind';
const TARGETS: Target[] = [
  standalone(STANDALONE),
  standalone(CONTROL),
  gateway('gateway -w 1', 1),
  // The same with Prometheus metrics on: prom-client's default set (event-loop lag, GC time...) is
  // collected only when something can scrape it.
  gateway(METRICS, 1, ['--metrics-bind', '127.0.0.1:0']),
  gateway('gateway -w 2', 2),
  processTarget(
    'node:cluster ×2',
    'pool of 2',
    () => [node, 'server/bench/cluster-app.mjs'],
    (p) => ({ PORT: String(p), WORKERS: '2' }),
  ),
  {
    name: 'PM2 cluster ×2',
    group: 'pool of 2',
    async start(port) {
      const home = mkdtempSync(join(tmpdir(), 'pm2-bench-'));
      const env = {
        ...process.env,
        PM2_HOME: home,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      };
      execFileSync(pm2Bin, ['start', 'app/dist/standalone.js', '-i', '2', '--name', 'bench', '--silent'], {
        cwd: ROOT,
        env,
        stdio: 'ignore',
      });
      await waitUp(port);
      const daemon = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'));
      return servingOf(
        'PM2 cluster ×2',
        `http://127.0.0.1:${port}`,
        () => tree(daemon),
        async () => {
          execFileSync(pm2Bin, ['kill', '--silent'], { env, stdio: 'ignore' });
        },
      );
    },
  },
];

/** A small seeded generator (mulberry32), so that a run's window order can be repeated. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const random = seeded(SEED);

function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  cpuPerK: number;
  errors: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

function wrk(
  port: number,
  seconds: number,
): { rps: number; p50: number; p99: number; errors: number; requests: number } {
  const out = execFileSync(
    'taskset',
    ['-c', LOAD_CORE, 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`],
    { encoding: 'utf8' },
  );
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: toMs(/^\s+50%\s+(\S+)$/m.exec(out)?.[1] ?? ''),
    p99: toMs(/^\s+99%\s+(\S+)$/m.exec(out)?.[1] ?? ''),
    errors:
      (errs
        ? errs
            .slice(1)
            .map(Number)
            .reduce((a, b) => a + b, 0)
        : 0) + (Number.isNaN(non2xx) ? 0 : non2xx),
  };
}

/**
 * The targets of a group, INSTANCES of each, started together and loaded in turn. Returns, per
 * target, one sample per round: the mean over its instances of that round's windows.
 */
async function runGroup(targets: Target[], samples: Map<string, Sample[]>): Promise<void> {
  const running: Array<{ t: Target; instance: number; port: number; run: Awaited<ReturnType<Target['start']>> }> = [];
  try {
    for (let instance = 1; instance <= INSTANCES; instance++) {
      for (const t of targets) {
        const port = await freePort();
        running.push({ t, instance, port, run: await t.start(port) });
      }
    }
    for (const { port } of running) wrk(port, WARMUP);
    for (let round = 1; round <= ROUNDS; round++) {
      const windows = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
      for (const { t, instance, port, run } of shuffled(running)) {
        await sleep(GAP_MS);
        // --lead-in: unmeasured load first, so that the window sees only the steady state. The
        // first second after another process has loaded the core runs a few percent slower (more
        // for a worker whose heap V8's memory reducer shrank while it idled).
        if (LEAD_IN > 0) wrk(port, LEAD_IN);
        const cpu0 = run.cpuSeconds();
        const r = wrk(port, DURATION);
        const cpu = run.cpuSeconds() - cpu0;
        const s: Sample = {
          rps: r.rps,
          p50: r.p50,
          p99: r.p99,
          errors: r.errors,
          cpuPerK: (cpu / r.requests) * 1000 * 1000,
        };
        windows.get(t.name)!.push(s);
        console.error(
          `round ${round}: ${`${t.name} #${instance}`.padEnd(31)} ${r.rps.toFixed(0).padStart(7)} req/s  ` +
            `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${s.cpuPerK.toFixed(1)} CPU-ms/1k  errors ${r.errors}`,
        );
      }
      for (const [name, ws] of windows) {
        const mean = (k: keyof Sample) => ws.reduce((a, w) => a + w[k], 0) / ws.length;
        samples.get(name)!.push({
          rps: mean('rps'),
          p50: mean('p50'),
          p99: mean('p99'),
          cpuPerK: mean('cpuPerK'),
          errors: ws.reduce((a, w) => a + w.errors, 0),
        });
      }
    }
  } finally {
    for (const { run } of running) await run.stop();
  }
}

async function main(): Promise<void> {
  // --only standalone,'gateway -w 1': targets whose name contains any of the comma-separated words.
  const only = opts.only
    ?.split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  const targets = only ? TARGETS.filter((t) => only.some((w) => t.name.includes(w))) : TARGETS;
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  console.log(`# Throughput on GET / — ${new Date().toISOString()}`);
  console.log(
    `${availableParallelism()} cores (${cpuModel}), Node ${process.version}; wrk -t1 -c${CONNECTIONS} pinned to core ${LOAD_CORE}; ` +
      `per-worker targets pinned to core ${SERVER_CORE}; ${INSTANCES} instances of each target, each warmed up ${WARMUP}s, ` +
      `then ${ROUNDS} rounds of ${DURATION}s windows ` +
      `in shuffled order (seed ${SEED}), ${GAP_MS / 1000}s apart\n`,
  );
  for (const group of ['per worker', 'pool of 2'] as const) {
    const members = targets.filter((t) => t.group === group);
    if (members.length > 0) await runGroup(members, samples);
  }
  const med = (name: string, k: keyof Sample) => median(samples.get(name)!.map((s) => s[k]));
  console.log(
    `| target | group | req/s (median of rounds, mean of ${INSTANCES} instances) | p50 ms | p99 ms | CPU ms per 1k req | errors |`,
  );
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const t of targets) {
    console.log(
      `| ${t.name} | ${t.group} | ${med(t.name, 'rps').toFixed(0)} | ${med(t.name, 'p50').toFixed(2)} | ` +
        `${med(t.name, 'p99').toFixed(2)} | ${med(t.name, 'cpuPerK').toFixed(1)} | ` +
        `${samples.get(t.name)!.reduce((a, s) => a + s.errors, 0)} |`,
    );
  }
  // The median of the per-round ratios: each compares two windows seconds apart. Against several
  // references, a round's reference figure is their mean.
  const ratio = (a: string, b: string | string[], k: keyof Sample) => {
    const refs = typeof b === 'string' ? [b] : b;
    if (!samples.has(a) || !refs.every((r) => samples.has(r))) return undefined;
    const xs = samples
      .get(a)!
      .map((s, i) => s[k] / (refs.reduce((sum, r) => sum + samples.get(r)![i]![k], 0) / refs.length));
    const sorted = [...xs].sort((x, y) => x - y);
    return {
      median: median(xs),
      low: sorted[Math.floor(xs.length / 4)]!,
      high: sorted[Math.ceil((xs.length * 3) / 4) - 1]!,
      above: xs.filter((x) => x >= 1).length,
      n: xs.length,
    };
  };
  console.log('');
  console.log('Median of per-round ratios (interquartile range; rounds where the first is at least the second):');
  const lines = [
    ['A/A control / standalone, throughput (the same server twice: ideally 1.000)', ratio(CONTROL, STANDALONE, 'rps')],
    ['gateway -w 1 / standalone, throughput (target ≥ 0.97)', ratio('gateway -w 1', STANDALONE, 'rps')],
    ['gateway -w 1 / standalone, CPU per request', ratio('gateway -w 1', STANDALONE, 'cpuPerK')],
    ['gateway -w 1 / both standalone groups, throughput', ratio('gateway -w 1', [STANDALONE, CONTROL], 'rps')],
    ['gateway -w 1 / both standalone groups, CPU per request', ratio('gateway -w 1', [STANDALONE, CONTROL], 'cpuPerK')],
    ['gateway -w 1 with metrics on / both standalone groups, throughput', ratio(METRICS, [STANDALONE, CONTROL], 'rps')],
    ['gateway -w 2 / node:cluster, throughput', ratio('gateway -w 2', 'node:cluster ×2', 'rps')],
    ['gateway -w 2 / PM2 cluster, throughput (target ≥ 1.00)', ratio('gateway -w 2', 'PM2 cluster ×2', 'rps')],
    ['gateway -w 2 / PM2 cluster, CPU per request', ratio('gateway -w 2', 'PM2 cluster ×2', 'cpuPerK')],
  ] as const;
  for (const [label, r] of lines) {
    if (r)
      console.log(
        `- ${label}: **${r.median.toFixed(3)}** (${r.low.toFixed(3)}–${r.high.toFixed(3)}; ${r.above}/${r.n} rounds ≥ 1)`,
      );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
