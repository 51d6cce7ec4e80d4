// The comparison's memory figures (`npm run compare -- --scenarios memory`, or `npm run
// compare:memory`): the resident memory of the master and of each worker, for the gateway
// (-w 2), PM2's cluster mode with the app's own server (2 instances) and Gunicorn (2 sync
// workers, the Flask reference), at three moments:
//
//   idle      started, warmed up by nothing, 2 s after it answered
//   load      the largest sample of each process while wrk -c50 runs GET / for --duration seconds
//   per idle keep-alive connection
//             1,000 connections, each having sent one GET / and read its answer, held open and
//             idle: the growth of the memory of all the processes (1 s later, against a sample
//             taken right before they were opened, 5 s after the load), divided by the connections
//             still open; beside it, how much the same sum moved in the 1 s before, idle
//
// Memory is read from /proc (harness memory.ts): VmRSS per process, what `ps`, PM2 and the
// gateway's --max-worker-memory see; and Pss, which splits each shared page among the processes
// mapping it, so that a pool's Pss summed is what the pool holds (Gunicorn's sync workers are
// forked from a master that imported the app: their RSS counts the same pages twice).
// Every serving process is pinned to --server-cpus, wrk and this runner to --load-cpus; the run
// holds the measurement lock (run.ts takes it). Writes memory.json and report.md in a run folder
// of its own under loadtest/results/runs/; publishing is copying them to results/published/memory/.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, cpus as osCpus, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Memory,
  memoryOf,
  onPath,
  pinned,
  pm2Unavailable,
  ROOT,
  sampleMemory,
  startPm2,
  startTopology,
  unavailable,
} from '@gw/harness';
import { renderMemoryReport } from './memory-report.ts';
import type { Options } from './options.ts';
import { newRunDir, RESULTS_DIR } from './results.ts';
import { versions } from './topologies.ts';

export const MEMORY_TARGETS = ['gateway', 'pm2', 'gunicorn'] as const;
export type MemoryTarget = (typeof MEMORY_TARGETS)[number];
/** Idle keep-alive connections opened for the per-connection figure (each bounded: one request). */
export const IDLE_CONNECTIONS = 1000;
/** Opened this many at a time, so that no accept queue overflows (Node's default backlog is 511). */
const OPEN_BATCH = 100;

export const MEMORY_DESCRIPTIONS: Record<MemoryTarget, string> = {
  gateway: 'the gateway, -w 2: a master and two workers hosting the app',
  pm2: "PM2 cluster mode, -i 2, the app's own server: PM2's daemon and two instances",
  gunicorn: 'Gunicorn, -w 2 sync workers, the Flask reference app: a master and two workers',
};

export interface ProcessMemory {
  role: 'master' | 'worker';
  pid: number;
  idle: Memory;
  /** The largest sample under load. */
  loadPeak: { rssKiB: number; pssKiB: number | undefined };
  /** Right before the idle connections were opened, and with them open. */
  beforeConnections: Memory;
  withConnections: Memory;
}

export interface MemoryResult {
  name: MemoryTarget;
  description: string;
  skipped?: string;
  processes: ProcessMemory[];
  /** wrk's requests per second during the load window. */
  loadRps: number | null;
  connections: { opened: number; held: number };
  /** How much the memory of all the processes moved in the 1 s before the connections were opened, idle. */
  driftKiB: { rss: number; pss: number } | null;
  /** The summary the README quotes (MiB, KiB per connection); computed here so one rule makes them. */
  summary: MemorySummary | null;
}

export interface MemorySummary {
  masterIdleMiB: number;
  /** Mean over the workers. */
  workerIdleMiB: number;
  masterLoadMiB: number;
  /** Mean over the workers of each one's peak. */
  workerLoadMiB: number;
  /** Pss of master and workers, summed: what the pool holds. */
  totalPssIdleMiB: number | null;
  totalPssLoadMiB: number | null;
  /** RSS growth of all processes ÷ connections held; null when none was held (the server closed them). */
  perConnectionKiB: number | null;
  perConnectionPssKiB: number | null;
}

export interface MemoryRun {
  kind: 'memory';
  startedAt: string;
  durationS: number;
  machine: { cores: number; cpuModel: string; kernel: string };
  versions: Record<string, string>;
  settings: {
    workers: number;
    loadSeconds: number;
    wrkConnections: number;
    idleConnections: number;
    serverCpus: string;
    loadCpus: string;
  };
  targets: MemoryResult[];
}

const MiB = (kib: number) => kib / 1024;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sumOrNull = (xs: Array<number | undefined>) =>
  xs.every((x) => x !== undefined) ? xs.reduce<number>((a, b) => a + (b ?? 0), 0) : null;

export function summarize(processes: ProcessMemory[], held: number): MemorySummary | null {
  const master = processes.find((p) => p.role === 'master');
  const workers = processes.filter((p) => p.role === 'worker');
  if (!master || workers.length === 0) return null;
  const grow = (k: 'rssKiB' | 'pssKiB') =>
    sumOrNull(processes.map((p) => (p.withConnections[k] ?? Number.NaN) - (p.beforeConnections[k] ?? Number.NaN)));
  const rssGrowth = grow('rssKiB');
  const pssGrowth = grow('pssKiB');
  const pssIdle = sumOrNull(processes.map((p) => p.idle.pssKiB));
  const pssLoad = sumOrNull(processes.map((p) => p.loadPeak.pssKiB));
  return {
    masterIdleMiB: MiB(master.idle.rssKiB),
    workerIdleMiB: MiB(mean(workers.map((w) => w.idle.rssKiB))),
    masterLoadMiB: MiB(master.loadPeak.rssKiB),
    workerLoadMiB: MiB(mean(workers.map((w) => w.loadPeak.rssKiB))),
    totalPssIdleMiB: pssIdle === null ? null : MiB(pssIdle),
    totalPssLoadMiB: pssLoad === null ? null : MiB(pssLoad),
    perConnectionKiB: held > 0 && rssGrowth !== null && Number.isFinite(rssGrowth) ? rssGrowth / held : null,
    perConnectionPssKiB: held > 0 && pssGrowth !== null && Number.isFinite(pssGrowth) ? pssGrowth / held : null,
  };
}

/** A started target: its master and workers by pid, and how to stop it. */
interface Started {
  master: number;
  workers: () => number[];
  port: number;
  stop: () => Promise<unknown>;
}

async function startTarget(name: MemoryTarget, workers: number, cpus: string | undefined): Promise<Started> {
  if (name === 'pm2') {
    const p = await startPm2({ instances: workers, cpus });
    return { master: p.daemonPid, workers: () => p.workerPids(), port: p.port, stop: () => p.stop() };
  }
  const t = await startTopology(name, { workers, cpus });
  // The tree is listed root first: the gateway's or gunicorn's master, then its workers.
  const master = t.pids()[0]!;
  return { master, workers: () => t.pids().filter((p) => p !== master), port: t.port, stop: () => t.stop() };
}

export function memoryUnavailable(name: MemoryTarget): string | undefined {
  if (name === 'pm2') return pm2Unavailable();
  return unavailable(name);
}

/** wrk -t1 -cN on GET / for `seconds`, pinned to the load CPUs; its requests per second, or null. */
function wrk(port: number, connections: number, seconds: number, cpus: string | undefined): Promise<number | null> {
  const argv = pinned(['wrk', '-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`], cpus);
  return new Promise((resolve) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const kill = setTimeout(() => p.kill('SIGKILL'), (seconds + 15) * 1000);
    p.on('close', () => {
      clearTimeout(kill);
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      resolve(m ? Number(m[1]) : null);
    });
  });
}

/**
 * Opens `n` connections to the port, each sending one keep-alive GET / and reading its answer's
 * head, `OPEN_BATCH` at a time; resolves with the sockets (10 s at most per batch) and a count of
 * those the server has closed since (a server without keep-alive answers and closes).
 */
async function openIdle(port: number, n: number): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      const done = setTimeout(resolve, 10_000);
      let head = '';
      s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      s.on('data', (c: Buffer) => {
        head += c.toString('latin1');
        if (head.includes('\r\n\r\n')) {
          clearTimeout(done);
          resolve();
        }
      });
      s.on('error', () => {});
      s.once('close', () => {
        closed++;
        clearTimeout(done);
        resolve();
      });
    });
  for (let i = 0; i < n; i += OPEN_BATCH) await Promise.all(Array.from({ length: Math.min(OPEN_BATCH, n - i) }, one));
  return { sockets, closed: () => closed };
}

const snapshot = (pids: number[]) => new Map(pids.map((p) => [p, memoryOf(p)]));
const total = (m: Map<number, Memory | undefined>, k: keyof Memory) =>
  [...m.values()].reduce((a, x) => a + (x?.[k] ?? Number.NaN), 0);

async function measureTarget(name: MemoryTarget, o: Options, cpus: string | undefined, say: (s: string) => void) {
  const result: MemoryResult = {
    name,
    description: MEMORY_DESCRIPTIONS[name],
    processes: [],
    loadRps: null,
    connections: { opened: 0, held: 0 },
    driftKiB: null,
    summary: null,
  };
  const t = await startTarget(name, o.workers, cpus);
  try {
    await sleep(2000);
    const pids = [t.master, ...t.workers()];
    const idle = snapshot(pids);
    say(`${name}: idle sampled (pids ${pids.join(', ')}); wrk -c${o.connections} for ${o.duration}s`);
    const sampler = sampleMemory(pids, 250);
    result.loadRps = await wrk(t.port, o.connections, o.duration, o.loadCpus);
    const peaks = sampler.stop();
    // The pool's memory still moves after a load (GC, V8's memory reducer): two samples 1 s apart
    // before the connections say by how much, the resolution of the per-connection figure.
    await sleep(4000);
    const settling = snapshot(pids);
    await sleep(1000);
    const before = snapshot(pids);
    result.driftKiB = {
      rss: total(before, 'rssKiB') - total(settling, 'rssKiB'),
      pss: total(before, 'pssKiB') - total(settling, 'pssKiB'),
    };
    const conns = await openIdle(t.port, IDLE_CONNECTIONS);
    await sleep(1000);
    const withConns = snapshot(pids);
    result.connections = { opened: conns.sockets.length, held: conns.sockets.length - conns.closed() };
    for (const s of conns.sockets) s.destroy();
    say(
      `${name}: ${result.loadRps?.toFixed(0) ?? '?'} req/s under load; ${result.connections.held} of ${IDLE_CONNECTIONS} kept open`,
    );
    for (const pid of pids) {
      const i = idle.get(pid);
      const peak = peaks.get(pid);
      const b = before.get(pid);
      const w = withConns.get(pid);
      if (!i || !peak || !b || !w) throw new Error(`${name}: pid ${pid} exited during the run`);
      result.processes.push({
        role: pid === t.master ? 'master' : 'worker',
        pid,
        idle: i,
        loadPeak: { rssKiB: peak.peakRssKiB, pssKiB: peak.peakPssKiB },
        beforeConnections: b,
        withConnections: w,
      });
    }
    result.summary = summarize(result.processes, result.connections.held);
  } finally {
    await t.stop();
  }
  return result;
}

/** The memory run: every target in turn, memory.json and report.md in a run folder of its own. */
export async function runMemory(o: Options): Promise<void> {
  const asked = (o.topologies ?? MEMORY_TARGETS.join(',')).split(',').map((s) => s.trim());
  for (const a of asked)
    if (!(MEMORY_TARGETS as readonly string[]).includes(a)) {
      console.error(`compare: the memory scenario runs on ${MEMORY_TARGETS.join(', ')}, not ${a}`);
      process.exit(2);
    }
  if (!onPath('wrk')) {
    console.error('compare: the memory scenario needs wrk (apt-get install -y wrk)');
    process.exit(2);
  }
  const cores = availableParallelism();
  const hasTaskset = onPath('taskset');
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', o.loadCpus, String(process.pid)], { stdio: 'ignore' });
  const cpus = hasTaskset ? o.serverCpus : undefined;
  const t0 = Date.now();
  const stamp = new Date(t0).toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  const out = o.out ?? newRunDir(RESULTS_DIR, `${stamp}-memory`);
  mkdirSync(out, { recursive: true });
  const say = (s: string) => process.stderr.write(`memory: ${s}\n`);
  const targets: MemoryResult[] = [];
  for (const name of asked as MemoryTarget[]) {
    const why = memoryUnavailable(name);
    if (why) {
      say(`skipping ${name}: ${why}`);
      targets.push({
        name,
        description: MEMORY_DESCRIPTIONS[name],
        skipped: why,
        processes: [],
        loadRps: null,
        connections: { opened: 0, held: 0 },
        driftKiB: null,
        summary: null,
      });
      continue;
    }
    targets.push(await measureTarget(name, o, cpus, say));
    await sleep(500);
  }
  const v = versions();
  let pm2Version = '';
  try {
    pm2Version = (JSON.parse(readFileSync(join(ROOT, 'node_modules/pm2/package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    /* not installed: its row says why it was skipped */
  }
  const run: MemoryRun = {
    kind: 'memory',
    startedAt: new Date(t0).toISOString().replace(/\.\d+Z$/, 'Z'),
    durationS: (Date.now() - t0) / 1000,
    machine: {
      cores,
      cpuModel: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? osCpus()[0]?.model ?? '?',
      kernel: release(),
    },
    versions: {
      node: v.node!,
      pm2: pm2Version,
      gunicorn: v.gunicorn!,
      flask: v.flask!,
      python: v.python!,
    },
    settings: {
      workers: o.workers,
      loadSeconds: o.duration,
      wrkConnections: o.connections,
      idleConnections: IDLE_CONNECTIONS,
      serverCpus: o.serverCpus,
      loadCpus: o.loadCpus,
    },
    targets,
  };
  writeFileSync(join(out, 'memory.json'), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(out, 'report.md'), renderMemoryReport(run));
  say(`done: ${join(out, 'report.md')}`);
}
