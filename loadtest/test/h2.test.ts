// The h2 scenario of the comparison runner (loadtest/compare/h2.ts, h2-report.ts) and the
// h2load driver it shares with `npm run bench:h2` (harness/src/h2load.ts): h2load's output
// parsed, a real short run against a real gateway-tls and nginx-in-front full-tls, the
// report's HTTP/2 section from fixed rows, and the runner where h2load is absent.
// Functional checks only: no figure here is judged fast or slow.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  h2loadArgs,
  h2loadUnavailable,
  median,
  parseH2load,
  parseH2loadLog,
  percentile,
  shuffled,
  startTopology,
  unavailable,
} from '@gw/harness';
import { sampler } from '../compare/drivers.ts';
import { h2Plan, h2Rounds, h2Windows } from '../compare/h2.ts';
import { h2Findings, h2OverH1, type Row, type RunInfo, renderReport } from '../compare/report.ts';
import { DEFAULT_SCENARIOS, type Knobs, runOrder, SCENARIOS } from '../compare/scenarios.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** h2load 1.52's output of a short h2 run, as printed (the lines the parser reads, and the ones around them). */
const H2LOAD_OUTPUT = `starting benchmark...
spawning thread #0: 2 total client(s). 200 total requests
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Server Temp Key: X25519 253 bits
Application protocol: h2
progress: 100% done

finished in 551.94ms, 362.36 req/s, 26.30KB/s
requests: 200 total, 200 started, 198 done, 197 succeeded, 1 failed, 2 errored, 0 timeout
status codes: 196 2xx, 0 3xx, 1 4xx, 0 5xx
traffic: 14.52KB (14866) total, 3.51KB (3594) headers (space savings 95.66%), 5.66KB (5800) data
                     min         max         mean         sd        +/- sd
time for request:    13.65ms    208.47ms     51.76ms     55.48ms    90.00%
`;

test('h2load output: protocol, time, req/s, request counts and status classes', () => {
  const f = parseH2load(H2LOAD_OUTPUT);
  assert.ok(f);
  assert.equal(f.protocol, 'h2');
  assert.equal(f.rps, 362.36);
  assert.ok(Math.abs(f.seconds - 0.55194) < 1e-9);
  assert.deepEqual(
    [f.total, f.started, f.done, f.succeeded, f.failed, f.errored, f.timeout],
    [200, 200, 198, 197, 1, 2, 0],
  );
  assert.deepEqual(f.status, { '2xx': 196, '3xx': 0, '4xx': 1, '5xx': 0 });
  assert.equal(parseH2load(H2LOAD_OUTPUT.replace('finished in 551.94ms', 'finished in 1.5s'))?.seconds, 1.5);
  assert.equal(parseH2load('starting benchmark...\nNo protocol negotiated. Aborted.\n'), undefined);
});

test('h2load log: completed requests in ms, failed streams counted apart', () => {
  const log = ['1764640000000000\t200\t1500', '1764640000000100\t-1\t9000', '1764640000000200\t200\t250', ''].join(
    '\n',
  );
  assert.deepEqual(parseH2loadLog(log), { latenciesMs: [1.5, 0.25], failed: 1 });
});

test('h2load command line: h2 streams or --h1, the log file, --connect-to for a name only the harness resolves', () => {
  const base = { url: 'https://127.0.0.1:8443/', clients: 20, requests: 18_000 };
  assert.deepEqual(h2loadArgs({ ...base, protocol: 'h2', streams: 10 }, '/tmp/x.tsv'), [
    ...['-n', '18000', '-c', '20', '-m', '10', '--log-file', '/tmp/x.tsv', 'https://127.0.0.1:8443/'],
  ]);
  assert.deepEqual(h2loadArgs({ ...base, protocol: 'http/1.1', connectTo: '10.0.0.2:8443' }), [
    ...['-n', '18000', '-c', '20', '--h1', '--connect-to', '10.0.0.2:8443', 'https://127.0.0.1:8443/'],
  ]);
});

test('statistics: nearest-rank percentiles, median, a seeded shuffle that keeps every item', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(xs, 0.5), 50);
  assert.equal(percentile(xs, 0.99), 99);
  assert.equal(percentile(xs, 1), 100);
  assert.ok(Number.isNaN(percentile([], 0.5)));
  assert.equal(median([3, 1, 2, 10]), 2.5);
  assert.deepEqual(shuffled(['h2', 'http/1.1'], 7), shuffled(['h2', 'http/1.1'], 7));
  assert.deepEqual(shuffled([1, 2, 3, 4, 5], 3).sort(), [1, 2, 3, 4, 5]);
});

const knobs = (over: Partial<Knobs> = {}): Knobs => ({
  duration: 10,
  warmup: 5,
  ramp: 30,
  maxRate: 12000,
  kneeP95: 50,
  k6MaxRate: 2500,
  connections: 50,
  fractions: [0.5, 0.8],
  tlsRate: 300,
  wsConnections: 50,
  hasWrk: true,
  ...over,
});

test('h2 scenario: named only, on TLS topologies only, its rounds from --duration', () => {
  assert.ok(!DEFAULT_SCENARIOS.includes('h2'), 'not in the default run: its default topologies are plain HTTP');
  assert.deepEqual(
    runOrder(['h2'], knobs(), false).map((s) => s.name),
    ['warmup', 'h2'],
  );
  const ctx = (baseUrl: string) => ({ baseUrl, python: false, knee: null });
  const plain = SCENARIOS.h2.steps(knobs(), ctx('http://127.0.0.1:8000'));
  const tls = SCENARIOS.h2.steps(knobs(), ctx('https://127.0.0.1:8443'));
  if (h2loadUnavailable()) {
    assert.match(String(tls), /h2 not measured: no h2load on PATH \(apt-get install -y nghttp2-client\)/);
    return;
  }
  assert.match(String(plain), /not measured on a plain-HTTP topology.*--topologies gateway-tls,full-tls/);
  assert.ok(Array.isArray(tls) && tls.length === 1 && tls[0]!.kind === 'h2load');
  assert.equal(h2Rounds({ duration: 10 }), 5);
  assert.equal(h2Rounds({ duration: 1 }), 2);
  const plan = h2Plan({ duration: 14 });
  assert.equal(plan.rounds, 7);
  assert.ok(plan.perConnection < 1000, "under nginx's keepalive_requests, or h2load drops clients on GOAWAY");
});

const built = spawnSync('test', ['-f', join(ROOT, 'server/dist/cli.js')]).status === 0;
const liveSkip =
  h2loadUnavailable() ??
  unavailable('full-tls') ??
  unavailable('gateway-tls') ??
  (built ? undefined : 'the gateway is not built (npm run build)');

test('a real short h2 run on gateway-tls and full-tls: one row per protocol, rounds, latencies, CPU', {
  skip: liveSkip,
  timeout: 120_000,
}, async () => {
  const out = mkdtempSync(join(tmpdir(), 'h2-live-'));
  mkdirSync(join(out, 'logs'));
  const notes: string[] = [];
  const drivers = { out, loadCpus: undefined, connections: 4, duration: 1, note: (t: string) => notes.push(t) };
  // 800 requests a window: a check that the windows are made, parsed and counted, not a measurement
  // (but enough work that the servers' CPU, read in 10 ms clock ticks, moves in every window).
  const plan = {
    ...h2Plan({ duration: 4 }),
    ...{ warmupWindows: 1, clients: 4, perConnection: 200 },
    variants: [
      { step: 'h2', protocol: 'h2' as const, streams: 4 },
      { step: 'h2-1', protocol: 'h2' as const, streams: 1 },
      { step: 'http/1.1', protocol: 'http/1.1' as const, streams: 1 },
    ],
  };
  const rows: Row[] = [];
  try {
    for (const name of ['gateway-tls', 'full-tls'] as const) {
      const topo = await startTopology(name, { workers: 1 });
      const cpu = sampler(topo);
      try {
        rows.push(...(await h2Windows(drivers, topo, cpu, plan)));
      } finally {
        cpu.stop();
        await topo.stop();
      }
    }
    assert.deepEqual(notes, [], 'every window counted (the protocol asked for was the one negotiated)');
    assert.deepEqual(
      rows.map((r) => `${r.topology} ${r.step}`),
      [
        'gateway-tls h2',
        'gateway-tls h2-1',
        'gateway-tls http/1.1',
        'full-tls h2',
        'full-tls h2-1',
        'full-tls http/1.1',
      ],
    );
    for (const r of rows) {
      assert.equal(r.scenario, 'h2');
      assert.equal(r.requests, plan.rounds * plan.clients * plan.perConnection, `${r.topology} ${r.step}: requests`);
      assert.equal(r.failed, 0, `${r.topology} ${r.step}: no failures`);
      assert.equal(r.inFlight, r.step === 'h2' ? 16 : 4, `${r.topology} ${r.step}: requests in flight`);
      assert.deepEqual(
        r.rounds?.map((x) => x.round),
        [1, 2],
      );
      assert.ok(r.rps > 0 && r.p50 > 0 && r.p99 >= r.p95 && r.p95 >= r.p50, `${r.topology} ${r.step}: figures`);
      assert.ok(r.cpuPer1k !== null && r.cpuPer1k >= 0, `${r.topology} ${r.step}: the serving processes' CPU was read`);
    }
    // Per window the CPU can round to no tick at all; over every window of a topology it cannot.
    for (const t of ['gateway-tls', 'full-tls'])
      assert.ok(
        rows.filter((r) => r.topology === t).some((r) => (r.cpuPer1k ?? 0) > 0),
        `${t}: the serving processes used CPU`,
      );
    const log = readFileSync(join(out, 'logs', 'h2-full-tls.txt'), 'utf8');
    assert.equal(
      log.match(/Application protocol: h2\n/g)?.length,
      6,
      'one warm-up and two rounds of h2 and h2-1 through nginx',
    );
    assert.equal(log.match(/Application protocol: http\/1\.1\n/g)?.length, 3);
    assert.equal(h2OverH1(rows, 'gateway-tls').rounds, 2);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

/** Fixed h2 rows: two rounds of each protocol on gateway-tls and full-tls. */
function h2Rows(): Row[] {
  const row = (topology: string, step: string, rounds: Array<[number, number]>, p50: number, p99: number): Row => ({
    topology,
    scenario: 'h2',
    step,
    offered: null,
    inFlight: step === 'h2' ? 200 : 20,
    requests: 36_000,
    rps: median(rounds.map((r) => r[0])),
    p50,
    p95: p99 * 0.8,
    p99,
    failed: 0,
    dropped: 0,
    cpuSeconds: 2,
    cpuPer1k: median(rounds.map((r) => r[1])),
    thresholdsOk: true,
    rounds: rounds.map(([rps, cpuPer1k], i) => ({ round: i + 1, rps, cpuPer1k })),
  });
  return [
    row(
      'gateway-tls',
      'h2',
      [
        [10_000, 0.06],
        [12_000, 0.06],
      ],
      15,
      40,
    ),
    // With one stream: 6,000/5,000 = 1.2 and 8,000/8,000 = 1 → 1.1; CPU 0.9 and 1 → 0.95.
    row(
      'gateway-tls',
      'h2-1',
      [
        [6_000, 0.054],
        [8_000, 0.05],
      ],
      3,
      8,
    ),
    row(
      'gateway-tls',
      'http/1.1',
      [
        [5_000, 0.06],
        [8_000, 0.05],
      ],
      4,
      9,
    ),
    row(
      'full-tls',
      'h2',
      [
        [5_000, 0.15],
        [6_000, 0.16],
      ],
      30,
      80,
    ),
    row(
      'full-tls',
      'http/1.1',
      [
        [4_000, 0.1],
        [4_000, 0.16],
      ],
      5,
      12,
    ),
  ];
}

function h2Info(rows: Row[]): RunInfo {
  return {
    startedAt: '2026-12-02T03:00:00Z',
    durationS: 120,
    machine: { cores: 2, cpuModel: 'test CPU', kernel: '6.1' },
    versions: { node: 'v20', nginx: 'nginx/1.22.1' },
    settings: { h2: 'h2load' },
    topologies: [
      { name: 'gateway-tls', description: 'client —TLS→ gateway', knee: null, kneeFound: false },
      { name: 'full-tls', description: 'client —TLS→ nginx → gateway', knee: null, kneeFound: false },
    ],
    rows,
  };
}

test('h2 findings: h2 / HTTP/1.1 as medians of paired rounds; the gateway against nginx as ratios of the medians', () => {
  const rows = h2Rows();
  // Rounds of gateway-tls: 10,000/5,000 = 2 and 12,000/8,000 = 1.5 → 1.75; CPU 1 and 1.2 → 1.1.
  assert.deepEqual(h2OverH1(rows, 'gateway-tls'), { rps: 1.75, cpu: 1.1, rounds: 2 });
  const [gw, nginx, between] = h2Findings(rows);
  assert.equal(
    gw,
    '**h2 / HTTP/1.1, gateway-tls (h2 at gateway)**: 1.75× the req/s at 1.10× the CPU per request ' +
      "(medians of 2 paired rounds); with one stream a connection (HTTP/1.1's concurrency) 1.10× the req/s at " +
      '0.95× the CPU per request.',
  );
  assert.match(nginx!, /^\*\*h2 \/ HTTP\/1\.1, full-tls \(h2 at nginx\)\*\*: 1\.38× the req\/s at 1\.25× the CPU/);
  // Medians: 11,000 vs 5,500 req/s; 0.060 vs 0.155 CPU s / 1k.
  assert.equal(
    between,
    "**The gateway's h2 / nginx's h2 in front of it (gateway-tls / full-tls)**: 2.00× the req/s (11,000 vs " +
      "5,500), 0.39× the CPU per request (0.060 vs 0.155 s / 1k, nginx's CPU counted in its topology), p50 " +
      '15.0 vs 30.0 ms, p99 40.0 vs 80.0 ms; HTTP/1.1 1.63× the req/s, 0.42× the CPU per request.',
  );
});

test('report with h2: its own section, table, findings and charts; the TLS section points to it or says how to run it', () => {
  const { markdown, charts } = renderReport(h2Info(h2Rows()));
  assert.match(markdown, /\n## HTTP\/2: h2 vs HTTP\/1\.1 over TLS, at the gateway and at nginx\n/);
  assert.ok(
    markdown.includes('\n| gateway-tls | gateway | h2 | 200 | 2 | 11,000 | 15.0 | 40.0 | 0 | 0.060 |\n'),
    'the h2 table',
  );
  assert.ok(markdown.includes('\n| full-tls | nginx | HTTP/1.1 | 20 | 2 | 4,000 | 5.00 | 12.0 | 0 | 0.130 |\n'));
  assert.ok(markdown.includes('\n| gateway-tls | gateway | h2, 1 stream a connection | 20 | 2 | 7,000 |'));
  assert.ok(markdown.includes("- **The gateway's h2 / nginx's h2 in front of it (gateway-tls / full-tls)**"));
  assert.ok(!markdown.includes('| topology | step | offered req/s |'), 'no generic table for h2');
  for (const name of ['h2-rps.svg', 'h2-cpu.svg', 'h2-p99.svg']) {
    assert.ok(charts[name], `chart ${name}`);
    assert.ok(markdown.includes(`](${name})`), `report links ${name}`);
  }
  assert.match(charts['h2-rps.svg']!, /data-series="full-tls" data-group="h2" data-value="5500"/);

  const { rounds: _rounds, ...h2Row } = h2Rows()[0]!;
  const tlsRow: Row = { ...h2Row, scenario: 'tls', step: 'keepalive', offered: 300 };
  const withTls = renderReport(h2Info([tlsRow, ...h2Rows()])).markdown;
  assert.match(withTls, /Every TLS hop in this section is HTTP\/1\.1\. HTTP\/2 has its own section below/);
  const tlsOnly = renderReport(h2Info([tlsRow])).markdown;
  assert.ok(
    tlsOnly.includes(
      'is the h2 scenario, not in the default run: `npm run compare -- --topologies gateway-tls,full-tls --scenarios h2`',
    ),
    'how to run it, where this run has no h2',
  );
  assert.ok(!tlsOnly.includes('## HTTP/2'), 'no h2 section without h2 rows');
});

test('runner: where h2load is absent, the h2 scenario is skipped with the reason, and the report says so', {
  skip: unavailable('gateway-tls') ?? (built ? undefined : 'the gateway is not built (npm run build)'),
  timeout: 120_000,
}, () => {
  const out = mkdtempSync(join(tmpdir(), 'h2-absent-'));
  try {
    const r = spawnSync(
      process.execPath,
      [
        ...['--import', 'tsx', join(ROOT, 'loadtest/compare/run.ts')],
        ...['--topologies', 'gateway-tls', '--scenarios', 'h2', '--warmup', '0', '--out', out, '--no-lock'],
      ],
      // No k6 either: an h2-only run does not need it.
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 110_000,
        env: { ...process.env, H2LOAD_BIN: '/nonexistent/h2load', K6_BIN: '/nonexistent/k6' },
      },
    );
    assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
    assert.match(r.stderr, /h2 not measured: no \/nonexistent\/h2load on PATH \(apt-get install -y nghttp2-client\)/);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(report, /- \*\*h2\*\*: not measured: no \/nonexistent\/h2load on PATH/);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunInfo;
    assert.deepEqual(run.rows, []);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
