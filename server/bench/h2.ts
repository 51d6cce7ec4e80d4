/**
 * HTTP/2 benchmark (a script that prints figures, never a test), with h2load (Debian's
 * nghttp2-client) on the sample app's GET /, over TLS, one worker, every serving process pinned to
 * core 1 and h2load to core 0:
 *
 *   gateway h2    client → gateway (ALPN h2)             the gateway facing browsers
 *   gateway h1    client → gateway (ALPN http/1.1)       the same, HTTP/1.1
 *   nginx h2      client → nginx (h2) → gateway (h1)     nginx terminating TLS and HTTP/2 in front
 *
 * The machine is shared and drifts: the targets run side by side, loaded in turn in short windows,
 * round after round, in a shuffled order; each round gives the ratios of windows seconds apart, and
 * the figures are medians over the rounds. CPU seconds of the serving processes (nginx included)
 * per 1,000 requests beside the throughput. With --out, the figures are written as JSON too (what
 * loadtest/results/published/h2/ holds and the README cites).
 *
 *   npm run bench:h2 [-- --rounds 7 --duration 4 --clients 20 --streams 10 --out FILE]
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { nginxVersion, startTopology, type Topology } from '@gw/harness';
import { median, need, needBuilt } from './common.ts';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '8' },
    clients: { type: 'string', default: '20' },
    streams: { type: 'string', default: '10' },
    path: { type: 'string', default: '/' },
    out: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
const DURATION = Number(opts.duration);
const CLIENTS = Number(opts.clients);
const STREAMS = Number(opts.streams);

need('h2load', 'apt-get install -y nghttp2-client');
need('taskset', 'util-linux');
need('nginx', 'apt-get install -y nginx');
needBuilt();

interface Case {
  name: 'gateway h2' | 'gateway h1' | 'nginx h2';
  target: Topology;
  /** h2load's protocol arguments: h2 with STREAMS streams a connection, or HTTP/1.1 (one at a time). */
  args: string[];
}

interface Window {
  rps: number;
  cpuPer1k: number;
}

/** One window of h2load on core 0: its req/s, and the target's CPU seconds per 1,000 requests. */
function load(c: Case, seconds: number): Window {
  const before = c.target.cpuSeconds();
  const out = execFileSync(
    'taskset',
    ['-c', '0', 'h2load', '-D', String(seconds), '-c', String(CLIENTS), ...c.args, `${c.target.baseUrl}${opts.path}`],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const cpu = c.target.cpuSeconds() - before;
  const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(out);
  const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  if (!done || !rps) throw new Error(`h2load output not understood:\n${out}`);
  if (Number(done[3]) > 0) throw new Error(`${c.name}: ${done[3]} failed requests:\n${out}`);
  return { rps: Number(rps[1]), cpuPer1k: (cpu / Number(done[2])) * 1000 };
}

/** A seeded shuffle (mulberry32), so that a run's order can be told and repeated. */
function shuffled<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const common = { workers: 1, cpus: '1', nginxWorkers: 1 as const };
const gatewayTls = await startTopology('gateway-tls', common);
const fullTls = await startTopology('full-tls', common);
const h2 = ['-m', String(STREAMS)];
const cases: Case[] = [
  { name: 'gateway h2', target: gatewayTls, args: h2 },
  { name: 'gateway h1', target: gatewayTls, args: ['--h1'] },
  { name: 'nginx h2', target: fullTls, args: h2 },
];
try {
  for (const c of cases) load(c, Number(opts.warmup));
  const windows = new Map<Case['name'], Window[]>(cases.map((c) => [c.name, []]));
  const h2OverH1: number[] = [];
  const gatewayOverNginx: number[] = [];
  const cpuH2OverH1: number[] = [];
  const cpuGatewayOverNginx: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const got = new Map<Case['name'], Window>();
    for (const c of shuffled(cases, round + 1)) got.set(c.name, load(c, DURATION));
    const [gh2, gh1, nh2] = [got.get('gateway h2')!, got.get('gateway h1')!, got.get('nginx h2')!];
    for (const [name, w] of got) windows.get(name)!.push(w);
    h2OverH1.push(gh2.rps / gh1.rps);
    gatewayOverNginx.push(gh2.rps / nh2.rps);
    cpuH2OverH1.push(gh2.cpuPer1k / gh1.cpuPer1k);
    cpuGatewayOverNginx.push(gh2.cpuPer1k / nh2.cpuPer1k);
    console.log(
      `round ${round + 1}: ${[...got].map(([n, w]) => `${n} ${Math.round(w.rps)} req/s ${w.cpuPer1k.toFixed(3)} CPU s/1k`).join(', ')}`,
    );
  }
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench:h2 -- --rounds ${ROUNDS} --duration ${DURATION} --clients ${CLIENTS} --streams ${STREAMS}`,
    node: process.version,
    nginx: nginxVersion(),
    h2load: execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim(),
    setup:
      `sample app GET ${opts.path}, TLS, 1 gateway worker; serving processes on core 1, h2load on core 0; ` +
      `${CLIENTS} connections, ${STREAMS} streams each on h2 (HTTP/1.1: one request at a time a connection); ` +
      `${ROUNDS} rounds of ${DURATION} s windows in a shuffled order; medians`,
    cases: Object.fromEntries(
      [...windows].map(([name, ws]) => [
        name,
        { rps: Math.round(median(ws.map((w) => w.rps))), cpuPer1k: median(ws.map((w) => w.cpuPer1k)) },
      ]),
    ),
    ratios: {
      rpsH2OverH1: median(h2OverH1),
      rpsGatewayH2OverNginxH2: median(gatewayOverNginx),
      cpuH2OverH1: median(cpuH2OverH1),
      cpuGatewayH2OverNginxH2: median(cpuGatewayOverNginx),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  if (opts.out) writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await gatewayTls.stop();
  await fullTls.stop();
}
