/**
 * Per-request cost in CPU instructions (a script that prints figures, never a test): the
 * deterministic counterpart of bench:throughput, whose req/s move by several percent between runs
 * on a shared VM. Each serving process runs under valgrind's callgrind; after a warm-up its
 * counters are zeroed, a fixed number of keep-alive GET / requests is sent, and the counters are
 * dumped: instructions ÷ requests, the same from run to run within about half a percent.
 *
 * Two things are set apart from that count, because natively they cost next to nothing per request:
 *  - clock-driven work (heartbeat, event-loop-lag sampling, timeout checks): timers fire by the
 *    clock and valgrind makes a request some 50 times slower, so the same wall time is measured
 *    again without traffic and subtracted;
 *  - V8's optimizing compiler: natively it settles a few seconds into the load, under valgrind it
 *    is still compiling after 60,000 requests; its instructions are reported, not counted.
 * Node runs with --single-threaded by default (--node-flags to change), so that compiler and
 * garbage-collector threads do not make the count depend on timing.
 *
 *   standalone   the app's own server (Fastify's listen), one process
 *   gateway -w 1 the gateway's worker hosting the same app, and its master in the same window
 *
 *   npm run bench:cost [-- --requests 10000 --warmup 20000 --connections 50 --rounds 1]
 *
 * Not counted: the kernel (syscalls, TCP on loopback), a third or more of the real cost. Needs
 * valgrind (apt-get install valgrind); a round takes a few minutes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, tree } from '@gw/harness';
import { median, need, needBuilt, ROOT, waitListening } from './common.ts';

const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '1' },
    path: { type: 'string', default: '/' },
    // Node/V8 flags for every target (the gateway's workers inherit them), e.g. --single-threaded.
    'node-flags': { type: 'string', default: '--single-threaded' },
    // Keep the callgrind dumps here (for callgrind_annotate) instead of deleting them.
    keep: { type: 'string' },
    only: { type: 'string' },
  },
});
const REQUESTS = Number(opts.requests);
const WARMUP = Number(opts.warmup);
const CONNECTIONS = Number(opts.connections);
const ROUNDS = Number(opts.rounds);

need('valgrind', 'apt-get install valgrind');
need('callgrind_control', 'apt-get install valgrind');
needBuilt();

/**
 * Sends `total` keep-alive requests over `connections` sockets, each waiting for its response
 * before the next (like wrk), and resolves when all are answered. Only 200s count.
 */
function drive(port: number, total: number, connections: number): Promise<void> {
  const request = `GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  let sent = 0;
  let answered = 0;
  return new Promise((resolve, reject) => {
    const sockets: net.Socket[] = [];
    const fail = (err: Error) => {
      for (const s of sockets) s.destroy();
      reject(err);
    };
    for (let c = 0; c < Math.min(connections, total); c++) {
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      let buf = '';
      s.setEncoding('latin1');
      s.on('error', fail);
      s.on('connect', () => {
        sent++;
        s.write(request);
      });
      s.on('data', (chunk: string) => {
        buf += chunk;
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end === -1) return;
          const head = buf.slice(0, end);
          const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
          if (Number.isNaN(len)) {
            fail(new Error(`response without content-length: ${head}`));
            return;
          }
          if (buf.length < end + 4 + len) return;
          if (!head.startsWith('HTTP/1.1 200')) {
            fail(new Error(`unexpected response: ${head.split('\r\n')[0]}`));
            return;
          }
          buf = buf.slice(end + 4 + len);
          answered++;
          if (answered === total) {
            for (const x of sockets) x.destroy();
            resolve();
            return;
          }
          if (sent < total) {
            sent++;
            s.write(request);
          }
        }
      });
    }
  });
}

/**
 * The n-th requested callgrind dump (cg.<pid>.<n>; cg.<pid> itself is written only at exit, and
 * these processes are killed, not stopped). callgrind_control returns once the dump is requested
 * and the file may still be being written, so this waits for its totals line.
 */
async function dumpFile(dir: string, pid: number, n: number): Promise<string> {
  const file = join(dir, `cg.${pid}.${n}`);
  for (let i = 0; i < 600; i++) {
    if (existsSync(file) && /^(?:totals|summary): \d+/m.test(readFileSync(file, 'utf8'))) return file;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no callgrind dump ${n} with totals for pid ${pid} in ${dir}`);
}

/** All instructions in a dump, and those spent (inclusively) in V8's optimizing compiler. */
function instructions(file: string): { total: number; jit: number } {
  const total = Number(/^(?:totals|summary): (\d+)/m.exec(readFileSync(file, 'utf8'))![1]);
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const line = annotated.split('\n').find((l) => l.includes('v8::internal::Compiler::CompileOptimized('));
  const jit = line ? Number(/^\s*([\d,]+)/.exec(line)![1]!.replaceAll(',', '')) : 0;
  return { total, jit };
}

interface Target {
  name: string;
  argv: (port: number) => string[];
  env?: (port: number) => NodeJS.ProcessEnv;
  /** The processes whose cost is reported, from the tree under the spawned pid: [label, pid]. */
  roles: (pids: number[]) => Array<[string, number]>;
}

const node = [process.execPath, ...opts['node-flags'].split(' ').filter(Boolean)];
const TARGETS: Target[] = [
  {
    name: 'standalone',
    argv: () => [...node, 'app/dist/standalone.js'],
    env: (p) => ({ PORT: String(p), HOST: '127.0.0.1' }),
    roles: (pids) => [['process', pids[0]!]],
  },
  {
    name: 'gateway -w 1',
    // --timeout: boot and heartbeats are some 50 times slower under valgrind.
    argv: (p) => [
      ...node,
      'server/dist/cli.js',
      '-w',
      '1',
      '-b',
      `127.0.0.1:${p}`,
      '--log-level',
      'warning',
      '--timeout',
      '600',
      'app/dist/app.js',
    ],
    roles: (pids) => [
      ['worker', pids[1]!],
      ['master', pids[0]!],
    ],
  },
];

/**
 * Instructions in the measured window: all of them, those of V8's optimizing compiler (JIT), and
 * those of the same wall time without traffic (clock-driven).
 */
interface Cost {
  loaded: number;
  jit: number;
  idle: number;
}

async function measure(t: Target, round: number): Promise<Map<string, Cost>> {
  const dir = opts.keep
    ? join(opts.keep, `${t.name.replace(/\W+/g, '-')}-${round}`)
    : mkdtempSync(join(tmpdir(), 'cost-'));
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  // vgdb (behind callgrind_control) finds the process by names built from USER and HOST: it must
  // see the same environment as the process, whose HOST may be the app's bind address.
  const env = { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production', ...(t.env?.(port) ?? {}) };
  const control = (args: string[]) => execFileSync('callgrind_control', args, { env, stdio: 'ignore' });
  const proc = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--trace-children=yes',
      `--callgrind-out-file=${dir}/cg.%p`,
      // Node's JIT writes code it then runs: valgrind must notice code rewritten in place.
      '--smc-check=all-non-file',
      '--quiet',
      ...t.argv(port),
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    await waitListening(port, proc, 600_000);
    await drive(port, WARMUP, CONNECTIONS);
    // valgrind runs the program under its own pid: the tree is master first, then its worker.
    const roles = t.roles(tree(proc.pid!));
    const window = async (what: () => Promise<void>, n: number) => {
      for (const [, pid] of roles) control(['-z', String(pid)]);
      await what();
      const files: string[] = [];
      for (const [, pid] of roles) {
        control(['-d', String(pid)]);
        files.push(await dumpFile(dir, pid, n));
      }
      return files.map(instructions);
    };
    const t0 = performance.now();
    const loaded = await window(() => drive(port, REQUESTS, CONNECTIONS), 1);
    const seconds = (performance.now() - t0) / 1000;
    // Timers (heartbeat, event-loop-lag sampling, timeout checks) fire by the clock, and under
    // valgrind one request takes some 50 times longer than it does natively: charged to the
    // requests they would inflate the cost. The same wall time without traffic measures them.
    const idle = await window(() => new Promise((r) => setTimeout(r, seconds * 1000)), 2);
    return new Map(
      roles.map(([role], i) => [role, { loaded: loaded[i]!.total, jit: loaded[i]!.jit, idle: idle[i]!.total }]),
    );
  } finally {
    proc.kill('SIGKILL');
    for (const pid of tree(proc.pid!)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`# Instructions per request on GET ${opts.path} — ${new Date().toISOString()}`);
  console.log(
    `Node ${process.version}${opts['node-flags'] ? ` ${opts['node-flags']}` : ''}, callgrind; ${WARMUP} warm-up requests, ` +
      `then ${REQUESTS} measured over ${CONNECTIONS} keep-alive connections; ${ROUNDS} rounds\n`,
  );
  const perRequest = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of TARGETS.filter((x) => !opts.only || x.name.includes(opts.only))) {
      const r = await measure(t, round);
      for (const [role, { loaded, jit, idle }] of r) {
        const key = `${t.name} (${role})`;
        const steady = (loaded - jit - idle) / REQUESTS;
        perRequest.set(key, [...(perRequest.get(key) ?? []), steady]);
        const per = (x: number) => (x / REQUESTS).toFixed(0);
        console.error(
          `round ${round}: ${key.padEnd(26)} ${steady.toFixed(0).padStart(9)} instructions/request` +
            `  (${per(loaded)} with traffic, of which ${per(jit)} JIT compiling and ${per(idle)} clock-driven)`,
        );
      }
    }
  }
  console.log('| process | instructions per request (median) | rounds |');
  console.log('|---|---:|---|');
  for (const [key, xs] of perRequest)
    console.log(`| ${key} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`);
  if (perRequest.size < 3) return;
  const standalone = median(perRequest.get('standalone (process)')!);
  const worker = median(perRequest.get('gateway -w 1 (worker)')!);
  const master = median(perRequest.get('gateway -w 1 (master)')!);
  console.log('');
  console.log(`- gateway worker / standalone: **${(worker / standalone).toFixed(3)}**`);
  console.log(`- (gateway worker + master) / standalone: **${((worker + master) / standalone).toFixed(3)}**`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
