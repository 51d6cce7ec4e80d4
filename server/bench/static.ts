/**
 * Static files, before and after precompression (a script that prints figures, never a test): the
 * static scenario's files and headers (loadtest/scenarios/static.js: 1 KiB and 1 MiB text, gzip asked
 * for or not; here also a browser's `gzip, deflate, br`) on every native topology of this tree
 * ("after") and of another checkout built from the commit before ("before", --before DIR): both sets
 * run side by side, loaded in turn in short windows (as many requests as are answered in it) over keep-alive
 * connections, round after round in a shuffled order, every serving process pinned to core 1 and
 * this script (the client) to core 0. Per window: CPU seconds of the serving processes (nginx
 * included) per 1,000 requests, and bytes received per request (headers included, off the
 * sockets); figures are medians over the rounds. With --out, static.json and report.md are
 * written there (what loadtest/results/published/static/ holds and the README cites).
 *
 * k6 drives the same scenario in `npm run compare`; this stands in where no k6 binary is installed.
 *
 *   git worktree add --detach ../before main && (cd ../before && npm ci)
 *   npm run bench:static -- --before ../before [--rounds 5 --seconds 2.5 --out DIR]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as harness from '@gw/harness';
import { shuffled } from '@gw/harness';
import { median, need, needBuilt } from './common.ts';

const { values: opts } = parseArgs({
  options: {
    before: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '2.5' },
    connections: { type: 'string', default: '4' },
    topologies: { type: 'string', default: 'gateway,proxy,full' },
    out: { type: 'string' },
    from: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
/** Each window's length: as many requests as are answered in it (CPU is counted in 10 ms ticks: windows of seconds). */
const SECONDS = Number(opts.seconds);
const CONNECTIONS = Number(opts.connections);

/** The static scenario's variants (static.js), and a browser's Accept-Encoding on the large file. */
export const VARIANTS = [
  { name: 'small_gzip', path: '/static/1k.txt', acceptEncoding: 'gzip' },
  { name: 'small_plain', path: '/static/1k.txt', acceptEncoding: 'identity' },
  { name: 'large_gzip', path: '/static/1m.txt', acceptEncoding: 'gzip' },
  { name: 'large_plain', path: '/static/1m.txt', acceptEncoding: 'identity' },
  { name: 'large_br', path: '/static/1m.txt', acceptEncoding: 'gzip, deflate, br' },
] as const;
type Variant = (typeof VARIANTS)[number];

interface Window {
  cpuPer1k: number;
  bytesPerRequest: number;
  rps: number;
  /** The Content-Encoding every response of the window came with ('identity' for none). */
  encoding: string;
}

/** One figure set: medians over the rounds. */
export interface Figures {
  cpuPer1k: number;
  bytesPerRequest: number;
  rps: number;
  encoding: string;
}

export interface StaticBench {
  date: string;
  command: string;
  node: string;
  nginx: string;
  setup: string;
  before: string;
  after: string;
  /** figures[tree][topology][variant] */
  figures: Record<'before' | 'after', Record<string, Record<string, Figures>>>;
}

/** GETs of `path` for `seconds` over CONNECTIONS keep-alive connections, one at a time each: the window's figures. */
async function load(target: harness.Topology, v: Variant, seconds: number): Promise<Window> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const sockets = new Set<Socket>();
  const encodings = new Set<string>();
  const url = new URL(v.path, target.baseUrl);
  const once = () =>
    new Promise<void>((done, fail) => {
      const req = request(url, { agent, headers: { 'accept-encoding': v.acceptEncoding } }, (res) => {
        if (res.statusCode !== 200) fail(new Error(`${target.name} ${v.name}: status ${res.statusCode}`));
        encodings.add(String(res.headers['content-encoding'] ?? 'identity'));
        res.resume();
        res.on('end', done);
        res.on('error', fail);
      });
      req.on('socket', (s: Socket) => sockets.add(s));
      req.on('error', fail);
      req.end();
    });
  let count = 0;
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const cpu0 = target.cpuSeconds();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (elapsed() < seconds) {
        await once();
        count++;
      }
    }),
  );
  const cpu = target.cpuSeconds() - cpu0;
  const took = elapsed();
  agent.destroy();
  const bytes = [...sockets].reduce((sum, s) => sum + s.bytesRead, 0);
  if (encodings.size !== 1) throw new Error(`${target.name} ${v.name}: mixed encodings ${[...encodings]}`);
  return {
    cpuPer1k: (cpu / count) * 1000,
    bytesPerRequest: bytes / count,
    rps: count / took,
    encoding: [...encodings][0]!,
  };
}

const KiB = (bytes: number) => (bytes / 1024).toFixed(1);

/** static.json and its report.md in `dir`. */
function publish(r: StaticBench, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'static.json'), `${JSON.stringify(r, null, 2)}\n`);
  const topologies = Object.keys(r.figures.after);
  const lines = [
    `# Static files before and after precompression — ${r.date.slice(0, 19)}Z`,
    '',
    `${r.setup}. ${r.node}, ${r.nginx}. Command: \`${r.command}\` (server/bench/static.ts).`,
    `Before: ${r.before}. After: ${r.after}.`,
    '',
    '| topology | request | before: CPU s / 1k | after: CPU s / 1k | before: KiB / request | after: KiB / request | ' +
      'encoding before → after |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const t of topologies)
    for (const v of VARIANTS) {
      const [b, a] = [r.figures.before[t]?.[v.name], r.figures.after[t]?.[v.name]];
      if (!b || !a) continue;
      lines.push(
        `| ${t} | ${v.path}, Accept-Encoding: ${v.acceptEncoding} | ${b.cpuPer1k.toFixed(2)} | ${a.cpuPer1k.toFixed(2)} | ` +
          `${KiB(b.bytesPerRequest)} | ${KiB(a.bytesPerRequest)} | ${b.encoding} → ${a.encoding} |`,
      );
    }
  lines.push(
    '',
    'The machine is shared (2 cores, other work running): compare before with after within this run, ' +
      'where both ran side by side, not with other runs.',
    '',
  );
  writeFileSync(join(dir, 'report.md'), lines.join('\n'));
}

if (opts.from) {
  // Re-renders a published run's report from its static.json, without measuring.
  publish(JSON.parse(readFileSync(opts.from, 'utf8')) as StaticBench, opts.out ?? '.');
  process.exit(0);
}
if (!opts.before) {
  console.error('bench: --before DIR (a built checkout of the commit to compare with) is required');
  process.exit(2);
}
need('taskset', 'util-linux');
need('nginx', 'apt-get install -y nginx');
needBuilt();
// The client on core 0, every serving process on core 1 (the topologies pin them).
execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

const beforeDir = resolve(opts.before);
// The other checkout's launcher: its ROOT is that checkout, so it starts that tree's app, gateway and nginx config.
const beforeHarness = (await import(join(beforeDir, 'harness/src/index.ts'))) as typeof harness;
const revision = (dir: string) =>
  execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim();
const names = opts.topologies.split(',') as harness.TopologyName[];
const common = { workers: 2, cpus: '1' };
const started: harness.Topology[] = [];
type Case = { tree: 'before' | 'after'; topology: harness.Topology; variant: Variant };
try {
  const cases: Case[] = [];
  for (const name of names) {
    for (const [tree, h] of [
      ['before', beforeHarness],
      ['after', harness],
    ] as const) {
      const t = await h.startTopology(name, common);
      started.push(t);
      for (const variant of VARIANTS) cases.push({ tree, topology: t, variant });
    }
  }
  // Warm-up: JIT, page cache, connection pools.
  for (const c of cases) await load(c.topology, c.variant, 1);
  const windows = new Map<Case, Window[]>(cases.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of shuffled(cases, round + 1)) windows.get(c)!.push(await load(c.topology, c.variant, SECONDS));
    console.log(`round ${round + 1} of ${ROUNDS} done`);
  }
  const figures: StaticBench['figures'] = { before: {}, after: {} };
  for (const [c, ws] of windows) {
    figures[c.tree][c.topology.name] ??= {};
    figures[c.tree][c.topology.name]![c.variant.name] = {
      cpuPer1k: median(ws.map((w) => w.cpuPer1k)),
      bytesPerRequest: Math.round(median(ws.map((w) => w.bytesPerRequest))),
      rps: Math.round(median(ws.map((w) => w.rps))),
      encoding: [...new Set(ws.map((w) => w.encoding))].join('/'),
    };
  }
  const result: StaticBench = {
    date: new Date().toISOString(),
    command:
      `npm run bench:static -- --before DIR --rounds ${ROUNDS} --seconds ${SECONDS} ` +
      `--connections ${CONNECTIONS} --topologies ${opts.topologies}`,
    node: process.version,
    nginx: harness.nginxVersion(),
    setup:
      `native topologies, 2 workers (gateway) or 2 app processes (proxy), 1 nginx worker; serving processes on ` +
      `core 1, the client (this script, Node http, ${CONNECTIONS} keep-alive connections) on core 0; windows of ` +
      `${SECONDS} s (as many requests as answered), ${ROUNDS} rounds in a shuffled order; medians`,
    before: revision(beforeDir),
    after: revision(harness.ROOT),
    figures,
  };
  console.log(JSON.stringify(result, null, 2));
  if (opts.out) publish(result, opts.out);
} finally {
  for (const t of started) await t.stop();
}
