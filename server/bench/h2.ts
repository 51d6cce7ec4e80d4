/**
 * HTTP/2 benchmark (a script that prints figures, never a test), with h2load (Debian's
 * nghttp2-client) on the sample app's GET /, over TLS, one worker, every serving process pinned to
 * core 1 and h2load to core 0:
 *
 *   gateway h2    client → gateway (ALPN h2)             the gateway facing browsers
 *   gateway h1    client → gateway (ALPN http/1.1)       the same, HTTP/1.1
 *   nginx h2      client → nginx (h2) → gateway (h1)     nginx terminating TLS and HTTP/2 in front
 *
 * The machine is shared and drifts: the targets run side by side, loaded in turn in short windows (a fixed number of requests),
 * round after round, in a shuffled order; each round gives the ratios of windows seconds apart, and
 * the figures are medians over the rounds. CPU seconds of the serving processes (nginx included)
 * per 1,000 requests beside the throughput. With --out, the figures are written as JSON too.
 *
 * The figures the README cites come from the comparison runner's h2 scenario (loadtest/compare/h2.ts,
 * `npm run compare -- --topologies gateway-tls,full-tls --scenarios h2`, published in
 * loadtest/results/published/h2/), which adds latency percentiles and HTTP/1.1 through nginx but
 * measures one topology after the other. This script stays as the check on its gateway-vs-nginx
 * ratio: here both topologies are up at once and every round loads each, seconds apart. Both load
 * through the same h2load driver (harness/src/h2load.ts).
 *
 *   npm run bench:h2 [-- --rounds 7 --per-connection 900 --clients 20 --streams 10 --out FILE]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type H2loadProtocol, nginxVersion, runH2load, shuffled, startTopology, type Topology } from '@gw/harness';
import { median, need, needBuilt } from './common.ts';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    // Requests per connection in a window: under nginx's keepalive_requests (1000), after which it
    // sends GOAWAY and h2load would stop that client instead of reconnecting.
    'per-connection': { type: 'string', default: '900' },
    clients: { type: 'string', default: '20' },
    streams: { type: 'string', default: '10' },
    path: { type: 'string', default: '/' },
    /** A directory: h2.json and report.md are written there. */
    out: { type: 'string' },
    from: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
const PER_CONNECTION = Number(opts['per-connection']);
const CLIENTS = Number(opts.clients);
const STREAMS = Number(opts.streams);

need('h2load', 'apt-get install -y nghttp2-client');
need('taskset', 'util-linux');
need('nginx', 'apt-get install -y nginx');
needBuilt();

interface Case {
  name: 'gateway h2' | 'gateway h1' | 'nginx h2';
  target: Topology;
  /** h2 with STREAMS streams a connection, or HTTP/1.1 (one at a time). */
  protocol: H2loadProtocol;
}

interface Window {
  rps: number;
  cpuPer1k: number;
}

/** One window of h2load on core 0 (harness/src/h2load.ts): its req/s, and the target's CPU seconds per 1,000 requests. */
async function load(c: Case): Promise<Window> {
  const before = c.target.cpuSeconds();
  const w = await runH2load({
    url: `${c.target.baseUrl}${opts.path}`,
    protocol: c.protocol,
    clients: CLIENTS,
    streams: STREAMS,
    requests: CLIENTS * PER_CONNECTION,
    cpus: '0',
    latencies: false,
  });
  const cpu = c.target.cpuSeconds() - before;
  const f = w.figures;
  if (!f) throw new Error(`h2load output not understood:\n${w.text}`);
  if (f.protocol !== c.protocol) throw new Error(`${c.name}: asked for ${c.protocol}, negotiated ${f.protocol}`);
  if (f.failed > 0) throw new Error(`${c.name}: ${f.failed} failed requests:\n${w.text}`);
  return { rps: f.rps, cpuPer1k: (cpu / f.done) * 1000 };
}

type Result = {
  date: string;
  command: string;
  node: string;
  nginx: string;
  h2load: string;
  setup: string;
  cases: Record<Case['name'], { rps: number; cpuPer1k: number }>;
  ratios: Record<'rpsH2OverH1' | 'rpsGatewayH2OverNginxH2' | 'cpuH2OverH1' | 'cpuGatewayH2OverNginxH2', number>;
};

/** h2.json and its report.md in `dir` (what loadtest/results/published/h2/ holds). */
function publish(r: Result, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'h2.json'), `${JSON.stringify(r, null, 2)}\n`);
  const row = (name: Case['name'], path: string, protocol: string) =>
    `| ${path} | ${protocol} | ${r.cases[name].rps.toLocaleString('en-US')} | ${r.cases[name].cpuPer1k.toFixed(3)} |`;
  const md = [
    `# HTTP/2: the gateway and nginx in front of it — ${r.date.slice(0, 19)}Z`,
    '',
    `${r.setup}. ${r.node}, ${r.nginx}, ${r.h2load}. Command: \`${r.command}\` (server/bench/h2.ts).`,
    '',
    '| path of a request | protocol to the client | req/s | CPU s / 1k req |',
    '| --- | --- | ---: | ---: |',
    row('gateway h2', 'client → gateway', 'h2 (ALPN)'),
    row('gateway h1', 'client → gateway', 'HTTP/1.1 (ALPN)'),
    row('nginx h2', 'client → nginx → gateway (HTTP/1.1 upstream)', 'h2'),
    '',
    'Medians of paired rounds (the ratios below are the medians of each round’s ratios):',
    '',
    `- gateway h2 / gateway HTTP/1.1: ${r.ratios.rpsH2OverH1.toFixed(2)}× the req/s, ` +
      `${r.ratios.cpuH2OverH1.toFixed(2)}× the CPU per request`,
    `- gateway h2 / nginx h2 → gateway: ${r.ratios.rpsGatewayH2OverNginxH2.toFixed(2)}× the req/s, ` +
      `${r.ratios.cpuGatewayH2OverNginxH2.toFixed(2)}× the CPU per request (nginx's CPU counted in its topology)`,
    '',
    'The machine is shared (2 cores, other work running): req/s are bounded by one h2load thread on core 0 ' +
      'and move with the neighbours, so compare the ratios and the CPU per request, not the req/s with other runs.',
    '',
  ];
  writeFileSync(join(dir, 'report.md'), md.join('\n'));
}

if (opts.from) {
  // Re-renders a published run's report from its h2.json, without measuring.
  publish(JSON.parse(readFileSync(opts.from, 'utf8')) as Result, opts.out ?? '.');
  process.exit(0);
}

const common = { workers: 1, cpus: '1', nginxWorkers: 1 as const };
const gatewayTls = await startTopology('gateway-tls', common);
const fullTls = await startTopology('full-tls', common);
const cases: Case[] = [
  { name: 'gateway h2', target: gatewayTls, protocol: 'h2' },
  { name: 'gateway h1', target: gatewayTls, protocol: 'http/1.1' },
  { name: 'nginx h2', target: fullTls, protocol: 'h2' },
];
try {
  for (const c of cases) for (let i = 0; i < 2; i++) await load(c);
  const windows = new Map<Case['name'], Window[]>(cases.map((c) => [c.name, []]));
  const h2OverH1: number[] = [];
  const gatewayOverNginx: number[] = [];
  const cpuH2OverH1: number[] = [];
  const cpuGatewayOverNginx: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const got = new Map<Case['name'], Window>();
    for (const c of shuffled(cases, round + 1)) got.set(c.name, await load(c));
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
  const result: Result = {
    date: new Date().toISOString(),
    command: `npm run bench:h2 -- --rounds ${ROUNDS} --per-connection ${PER_CONNECTION} --clients ${CLIENTS} --streams ${STREAMS}`,
    node: process.version,
    nginx: nginxVersion(),
    h2load: execFileSync('h2load', ['--version'], { encoding: 'utf8' }).trim(),
    setup:
      `sample app GET ${opts.path}, TLS, 1 gateway worker; serving processes on core 1, h2load on core 0; ` +
      `${CLIENTS} connections, ${STREAMS} streams each on h2 (HTTP/1.1: one request at a time a connection); ` +
      `${ROUNDS} rounds of ${PER_CONNECTION} requests a connection in a shuffled order; medians`,
    cases: Object.fromEntries(
      [...windows].map(([name, ws]) => [
        name,
        { rps: Math.round(median(ws.map((w) => w.rps))), cpuPer1k: median(ws.map((w) => w.cpuPer1k)) },
      ]),
    ) as Result['cases'],
    ratios: {
      rpsH2OverH1: median(h2OverH1),
      rpsGatewayH2OverNginxH2: median(gatewayOverNginx),
      cpuH2OverH1: median(cpuH2OverH1),
      cpuGatewayH2OverNginxH2: median(cpuGatewayOverNginx),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  if (opts.out) publish(result, opts.out);
} finally {
  await gatewayTls.stop();
  await fullTls.stop();
}
