// The balance figures (issue 21): how evenly the gateway's workers share the load with one
// listening socket shared by every worker (--reuse-port off) and with a SO_REUSEPORT socket per
// worker (--reuse-port on), and what a stopping worker costs each of them.
//
//   npm run compare -- --scenarios balance            (writes loadtest/results/runs/<stamp>-balance/)
//   node --import tsx loadtest/compare/balance.ts --publish loadtest/results/runs/<stamp>-balance
//
// Part 1, spread: for 2 and 4 workers at 50 and 500 kept-alive connections (wrk, GET /), each mode
// in turn, alternating which goes first from round to round, on the Node of the Docker image
// (.ci/image-node.sh), the gateway pinned to --server-cpus, wrk to --load-cpus. Each worker's
// requests come from the control socket (`workers`, before and after), its connections from
// `ss -tnp` in the middle of the run; the ratio is the busiest worker's over its fair share.
//
// Part 2, stops: wrk with `Connection: close` (a new connection per request, so accept queues are
// never empty) while the master reloads (HUP) a few times; every reload stops each old worker, and
// wrk's socket errors count the connections that were reset. Run in a network namespace of its own
// (unshare -n) for each value of net.ipv4.tcp_migrate_req, so the host's sysctl is never touched.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, onPath } from '@gw/harness';
import { type BalanceRun, type Cell, renderBalance, type StopCase, summarize } from './balance-report.ts';
import { newRunDir, publishedDir, RESULTS_DIR } from './results.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const CLI = join(ROOT, 'server/dist/cli.js');
const APP = join(ROOT, 'app/dist/app.js');
export const MODES = ['off', 'on'] as const;
export type Mode = (typeof MODES)[number];

export interface BalanceOptions {
  workers: number[];
  connections: number[];
  duration: number;
  rounds: number;
  serverCpus: string;
  loadCpus: string;
  node: string;
  stopConnections: number;
  reloads: number;
}

const pinned = (cpus: string, cmd: string[]) => (onPath('taskset') ? ['taskset', '-c', cpus, ...cmd] : cmd);

function imageNode(): string {
  const r = spawnSync('bash', [join(ROOT, '.ci/image-node.sh')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`.ci/image-node.sh failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** One JSON request on the master's control socket, its one-line answer. */
async function ctl(path: string, command: string): Promise<{ workers: Array<{ pid: number; requests: number }> }> {
  return new Promise((res, rej) => {
    const s = net.connect(path);
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) {
        s.destroy();
        res(JSON.parse(buf.slice(0, nl)));
      }
    });
    s.on('error', rej);
    s.write(`${JSON.stringify({ command })}\n`);
  });
}

interface Gw {
  port: number;
  control: string;
  stop(): Promise<void>;
  pid: number;
}

async function startGateway(o: BalanceOptions, workers: number, mode: Mode): Promise<Gw> {
  const port = await freePort();
  const control = join(tmpdir(), `balance-${process.pid}-${port}.sock`);
  const args = [o.node, CLI, '-w', String(workers), '-b', `127.0.0.1:${port}`, '--reuse-port', mode];
  args.push('--control-socket', control, '--log-level', 'warning', APP);
  const cmd = pinned(o.serverCpus, args);
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`gateway (${mode}) did not start`);
    try {
      const w = await ctl(control, 'workers');
      if (w.workers.length === workers && (w as unknown as { master: { ready: number } }).master.ready === workers)
        break;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  return {
    port,
    control,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Wrk {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

const ms = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? Number.NaN);

export function parseWrk(out: string): Wrk {
  const lat = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? ms(m[1]!, m[2]!) : Number.NaN;
  };
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50Ms: lat('50'),
    p99Ms: lat('99'),
    errors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

function wrk(o: BalanceOptions, port: number, connections: number, seconds: number, extra: string[] = []) {
  const threads = String(Math.min(2, connections));
  const cmd = pinned(o.loadCpus, ['wrk', '-t', threads, '-c', String(connections), '-d', `${seconds}s`]);
  cmd.push('--latency', '--timeout', '5s', ...extra, `http://127.0.0.1:${port}/`);
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  return new Promise<Wrk & { raw: string }>((r) => child.once('exit', () => r({ ...parseWrk(out), raw: out })));
}

/** Established connections on `port` by the pid that holds them (ss -p). */
function connectionsByPid(port: number): Record<number, number> {
  const r = spawnSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  const by: Record<number, number> = {};
  for (const m of (r.stdout ?? '').matchAll(/pid=(\d+)/g)) by[Number(m[1])] = (by[Number(m[1])] ?? 0) + 1;
  return by;
}

async function spreadCell(o: BalanceOptions, workers: number, connections: number, mode: Mode, round: number) {
  const gw = await startGateway(o, workers, mode);
  try {
    await wrk(o, gw.port, connections, 2); // warm-up: JIT, the app's first requests
    const before = await ctl(gw.control, 'workers');
    const run = wrk(o, gw.port, connections, o.duration);
    await sleep((o.duration * 1000) / 2);
    const conns = connectionsByPid(gw.port);
    const w = await run;
    const after = await ctl(gw.control, 'workers');
    const base = new Map(before.workers.map((x) => [x.pid, x.requests]));
    const perWorker = after.workers.map((x) => ({
      pid: x.pid,
      requests: x.requests - (base.get(x.pid) ?? 0),
      connections: conns[x.pid] ?? 0,
    }));
    const cell: Cell = { workers, connections, mode, round, rps: w.rps, p50Ms: w.p50Ms, p99Ms: w.p99Ms, perWorker };
    cell.errors = w.errors;
    return cell;
  } finally {
    await gw.stop();
  }
}

/** Part 2, in this process's network namespace (balance.ts --stops-here, under unshare -n). */
async function stopCases(o: BalanceOptions, migrate: number): Promise<StopCase[]> {
  const cases: StopCase[] = [];
  for (const mode of MODES) {
    const gw = await startGateway(o, 2, mode);
    try {
      const seconds = o.reloads * 4 + 2;
      const run = wrk(o, gw.port, o.stopConnections, seconds, ['-H', 'Connection: close']);
      for (let i = 0; i < o.reloads; i++) {
        await sleep(2000);
        process.kill(gw.pid, 'SIGHUP');
        await sleep(2000);
      }
      const w = await run;
      cases.push({ mode, migrate, reloads: o.reloads, requests: w.requests, errors: w.errors, non2xx: w.non2xx });
    } finally {
      await gw.stop();
    }
  }
  return cases;
}

/** Part 2 for tcp_migrate_req 0 and 1, each in a new network namespace (needs unshare and root), or why not. */
function stopsInNamespaces(args: string[]): StopCase[] | string {
  if (!onPath('unshare')) return 'no unshare(1)';
  const cases: StopCase[] = [];
  for (const migrate of [0, 1]) {
    const self = [process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), '--stops-here', ...args];
    const script = `ip link set lo up && sysctl -q -w net.ipv4.tcp_migrate_req=${migrate} && exec "$@"`;
    const r = spawnSync('unshare', ['-n', 'sh', '-c', script, 'sh', ...self], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) return `unshare -n failed (status ${r.status}): not root, or no network namespaces here`;
    cases.push(...(JSON.parse(r.stdout.trim().split('\n').pop()!) as StopCase[]));
  }
  return cases;
}

export function balanceOptions(argv: string[]): BalanceOptions & { stopsHere: boolean; publish?: string } {
  const { values: v } = parseArgs({
    args: argv,
    strict: false,
    options: {
      workers: { type: 'string', default: '2,4' },
      connections: { type: 'string', default: '50,500' },
      duration: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '2' },
      'server-cpus': { type: 'string', default: '1' },
      'load-cpus': { type: 'string', default: '0' },
      node: { type: 'string' },
      'stop-connections': { type: 'string', default: '50' },
      reloads: { type: 'string', default: '3' },
      'stops-here': { type: 'boolean', default: false },
      publish: { type: 'string' },
    },
  });
  const list = (s: unknown) => String(s).split(',').map(Number);
  return {
    workers: list(v.workers),
    connections: list(v.connections),
    duration: Number(v.duration),
    rounds: Number(v.rounds),
    serverCpus: String(v['server-cpus']),
    loadCpus: String(v['load-cpus']),
    node: typeof v.node === 'string' ? v.node : imageNode(),
    stopConnections: Number(v['stop-connections']),
    reloads: Number(v.reloads),
    stopsHere: v['stops-here'] === true,
    ...(typeof v.publish === 'string' ? { publish: v.publish } : {}),
  };
}

/** The balance run: part 1, part 2, run folder with balance.json and balance.md. Returns the folder. */
export async function runBalance(argv: string[]): Promise<string> {
  const o = balanceOptions(argv);
  if (!onPath('wrk')) throw new Error('balance: wrk is not on PATH (apt-get install wrk)');
  const version = spawnSync(o.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const cells: Cell[] = [];
  const t0 = Date.now();
  for (let round = 1; round <= o.rounds; round++)
    for (const workers of o.workers)
      for (const connections of o.connections) {
        // Alternate which mode goes first, so a drift over the run favours neither.
        const order = round % 2 === 1 ? MODES : [...MODES].reverse();
        for (const mode of order) {
          const cell = await spreadCell(o, workers, connections, mode, round);
          cells.push(cell);
          const s = summarize([cell])[0]!;
          process.stderr.write(
            `balance: round ${round} ${workers}w ${connections}c reuse-port ${mode}: ${cell.rps} req/s, ` +
              `p99 ${cell.p99Ms} ms, busiest ${s.maxShare.toFixed(2)}x its fair share\n`,
          );
        }
      }
  const forward = argv.filter((a) => a !== '--stops-here');
  const stops = stopsInNamespaces([...forward, '--node', o.node]);
  if (typeof stops === 'string') process.stderr.write(`balance: stop cases skipped: ${stops}\n`);
  const run: BalanceRun = {
    date: new Date(t0).toISOString(),
    node: version,
    kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(),
    hostMigrateReq: spawnSync('sysctl', ['-n', 'net.ipv4.tcp_migrate_req'], { encoding: 'utf8' }).stdout.trim(),
    options: { ...o, node: version },
    cells,
    stops: typeof stops === 'string' ? { skipped: stops } : stops,
  };
  const dir = newRunDir(RESULTS_DIR, `${run.date.replace(/[:.]/g, '-')}-balance`);
  writeFileSync(join(dir, 'balance.json'), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(dir, 'balance.md'), renderBalance(run));
  process.stderr.write(`balance: done in ${Math.round((Date.now() - t0) / 1000)} s: ${dir}/balance.md\n`);
  return dir;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = balanceOptions(argv);
  if (o.publish) {
    const to = publishedDir(RESULTS_DIR, 'balance');
    mkdirSync(to, { recursive: true });
    for (const f of readdirSync(o.publish).filter((f) => /\.(md|json)$/.test(f)))
      cpSync(join(o.publish, f), join(to, f));
    console.log(`published ${o.publish} to ${to}`);
  } else if (o.stopsHere) {
    const migrate = Number(spawnSync('sysctl', ['-n', 'net.ipv4.tcp_migrate_req'], { encoding: 'utf8' }).stdout);
    console.log(JSON.stringify(await stopCases(o, migrate)));
  } else await runBalance(argv);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
