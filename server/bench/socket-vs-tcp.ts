/**
 * nginx -> gateway over a unix socket vs over loopback TCP (a script that prints figures, never a
 * test). The question it answers is deploy/k8s's `full` overlay: nginx as a sidecar in the
 * gateway's pod, talking to it over a socket in a shared emptyDir, or nginx as its own Deployment,
 * talking to the gateway's Service over TCP (docs/kubernetes.md has the figure and the decision).
 *
 * One gateway (-w 1) listens on both a unix socket and a loopback port, so both paths reach the very
 * same process; two native nginx instances (worker_processes 1, the project's rendered config,
 * access log off) differ only in their upstream `server` line. nginx and the gateway share core 1,
 * as a sidecar shares its pod's CPU; wrk runs pinned to core 0. The two paths are loaded in turn,
 * round after round, the order swapped every round, and the result is the median of the per-round
 * ratios (socket / TCP), so the machine's drift over minutes cancels out.
 *
 * Loopback TCP is the best case for "its own Deployment": a real pod-to-pod hop adds the CNI's veth
 * pairs (and across nodes the network) on top, so the ratio here is a lower bound of the gap.
 *
 *   node --import tsx server/bench/socket-vs-tcp.ts [--duration 4] [--warmup 5] [--rounds 6] [--connections 50]
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, type NativeNginx, startGateway, startNativeNginx } from '@gw/harness';
import { median, need, needBuilt, ROOT } from './common.ts';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '50' },
  },
});
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const ROUNDS = Number(opts.rounds);
const CONNECTIONS = Number(opts.connections);
const LOAD_CORE = '0';
const SERVER_CORE = availableParallelism() > 1 ? '1' : '0';

need('wrk', 'apt-get install wrk');
need('taskset', 'apt-get install util-linux');
needBuilt();

interface Window {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

function wrk(port: number, seconds: number): Window {
  const url = `http://127.0.0.1:${port}/`;
  const out = execFileSync(
    'taskset',
    ['-c', LOAD_CORE, 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-H', 'Host: localhost', url],
    { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
  );
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? Number.NaN);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  // A path that serves nothing (a socket nginx cannot reach) must not pass for a slow one.
  if (!(num(/Requests\/sec:\s+([\d.]+)/) > 0)) throw new Error(`wrk got no responses from ${url}:\n${out}`);
  const socketErrors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: toMs(/^\s+50%\s+(\S+)$/m.exec(out)?.[1] ?? ''),
    p99: toMs(/^\s+99%\s+(\S+)$/m.exec(out)?.[1] ?? ''),
    errors: socketErrors + (Number.isNaN(non2xx) ? 0 : non2xx),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'socket-vs-tcp-'));
// nginx started as root runs its workers as nobody, who must reach the socket: the directory is
// traversable (mkdtemp makes it 0700) and the socket is 666.
chmodSync(dir, 0o755);
const socket = join(dir, 'gateway.sock');
const tcpPort = await freePort();
const gateway = await startGateway(
  [
    '-w',
    '1',
    '--bind',
    `unix:${socket}`,
    '--bind',
    `127.0.0.1:${tcpPort}`,
    '--unix-socket-mode',
    '666',
    'app/dist/app.js',
  ],
  {},
  { cpus: SERVER_CORE, cwd: ROOT },
);
const nginxOf = (upstream: string): Promise<NativeNginx> =>
  startNativeNginx({ upstreams: [upstream], workerProcesses: 1, accessLog: 'off', cpus: SERVER_CORE });
const paths: Array<{ name: 'socket' | 'tcp'; nginx: NativeNginx }> = [];
try {
  paths.push({ name: 'socket', nginx: await nginxOf(`unix:${socket}`) });
  paths.push({ name: 'tcp', nginx: await nginxOf(`127.0.0.1:${tcpPort}`) });
  for (const p of paths) wrk(p.nginx.port, WARMUP);
  const windows = { socket: [] as Window[], tcp: [] as Window[] };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? paths : [...paths].reverse();
    const got: Partial<Record<'socket' | 'tcp', Window>> = {};
    for (const p of order) {
      const w = wrk(p.nginx.port, DURATION);
      got[p.name] = w;
      windows[p.name].push(w);
    }
    const s = got.socket as Window;
    const t = got.tcp as Window;
    ratios.push(s.rps / t.rps);
    console.log(
      `round ${round + 1}: socket ${s.rps.toFixed(0)} req/s, tcp ${t.rps.toFixed(0)} req/s, ratio ${(s.rps / t.rps).toFixed(3)}`,
    );
  }
  const med = (name: 'socket' | 'tcp', key: keyof Window): number => median(windows[name].map((w) => w[key]));
  const errors = [...windows.socket, ...windows.tcp].reduce((a, w) => a + w.errors, 0);
  console.log(
    `\nnginx ${paths[0]?.nginx.version} -> gateway -w 1 (GET / of the sample app), nginx and gateway on core ${SERVER_CORE}, ` +
      `wrk -t1 -c${CONNECTIONS} on core ${LOAD_CORE}; ${ROUNDS} rounds of ${DURATION}s, Node ${process.version}`,
  );
  for (const name of ['socket', 'tcp'] as const) {
    console.log(
      `${name.padEnd(6)} median ${med(name, 'rps').toFixed(0)} req/s, p50 ${med(name, 'p50').toFixed(2)} ms, ` +
        `p99 ${med(name, 'p99').toFixed(2)} ms`,
    );
  }
  console.log(`socket/tcp throughput: median of per-round ratios ${median(ratios).toFixed(3)}; errors ${errors}`);
} finally {
  for (const p of paths) await p.nginx.stop();
  await gateway.stop();
  rmSync(dir, { recursive: true, force: true });
}
