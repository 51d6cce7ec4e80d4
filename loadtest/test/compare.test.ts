// The comparison runner (loadtest/compare/): report and chart generation from
// fixed k6 summaries, wrk parsing, CPU accounting on a real child process, and,
// where k6, nginx and the build are present, one tiny end-to-end run.
// No assertion depends on timing.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  baseImages,
  cgroupCpuFiles,
  comparisonNginxConf,
  findCgroupCpuFile,
  overrideFile,
  PROFILE,
  parseCgroupCpu,
  SERVICES,
} from '../compare/containers.ts';
import { cpuCounter, cpuDelta, cpuSeconds, cpuSnapshot, tree } from '../compare/procstat.ts';
import {
  durationMs,
  findings,
  headline,
  type K6Summary,
  parseWrk,
  type Row,
  type RunInfo,
  renderReport,
  rowsOf,
  scenarioTable,
  tlsAt,
  tlsFindings,
  tlsTable,
  windowsOf,
  wsRowOf,
  wsTable,
} from '../compare/report.ts';
import { barChart, niceMax } from '../compare/svg.ts';
import { startTopology } from '../compare/topologies.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A fixed-rate summary as lib/summary.js writes it: two steps, 10 s each, 2 s apart. */
function fixedRate(topology: string, rate: number, p99: number): K6Summary {
  const step = (name: string, count: number, med: number, q99: number, failed: number) => ({
    [`http_req_duration{scenario:${name}}`]: { type: 'trend', values: { med, 'p(95)': q99 * 0.8, 'p(99)': q99 } },
    [`http_reqs{scenario:${name}}`]: { type: 'counter', values: { count, rate: count / 10 } },
    [`http_req_failed{scenario:${name}}`]: {
      type: 'rate',
      values: { rate: failed / count, passes: failed, fails: count - failed },
    },
    [`dropped_iterations{scenario:${name}}`]: { type: 'counter', values: { count: 0, rate: 0 } },
  });
  return {
    meta: {
      script: 'fixed-rate',
      topology,
      thresholdsOk: true,
      endedAt: '2026-01-01T00:00:30.000Z',
      capacity: rate,
      steps: [
        { name: 'at_50pct', fraction: 0.5, rate: rate / 2, startTime: '0ms', duration: '10000ms' },
        { name: 'at_80pct', fraction: 0.8, rate: rate * 0.8, startTime: '12000ms', duration: '10000ms' },
      ],
    },
    state: { testRunDurationMs: 24_000 },
    metrics: {
      http_req_duration: { type: 'trend', values: { med: 1, 'p(99)': p99 } },
      ...step('at_50pct', (rate / 2) * 10, 0.5, p99 / 2, 0),
      ...step('at_80pct', rate * 0.8 * 10, 0.9, p99, 3),
    },
  };
}

test('durations and step windows come from the summary meta', () => {
  assert.equal(durationMs('10000ms'), 10_000);
  assert.equal(durationMs('1m30s'), 90_000);
  assert.equal(durationMs('2'), 2000);
  const w = windowsOf(fixedRate('gateway', 2000, 4));
  assert.deepEqual(w, [
    { name: 'at_50pct', startMs: 0, durationMs: 10_000, offered: 1000 },
    { name: 'at_80pct', startMs: 12_000, durationMs: 10_000, offered: 1600 },
  ]);
});

test('rows: per-step rate, percentiles, errors, and CPU per 1,000 requests from the window', () => {
  const windows: Array<[number, number]> = [];
  const rows = rowsOf(fixedRate('full', 2000, 4), (start, dur) => {
    windows.push([start, dur]);
    return start === 0 ? 2 : 4;
  });
  assert.deepEqual(windows, [
    [0, 10_000],
    [12_000, 10_000],
  ]);
  assert.equal(rows.length, 2);
  const [a, b] = rows;
  assert.equal(a!.requests, 10_000);
  assert.equal(a!.rps, 1000);
  assert.equal(a!.p50, 0.5);
  assert.equal(a!.p99, 2);
  assert.equal(a!.cpuPer1k, 0.2); // 2 CPU s / 10,000 requests × 1,000
  assert.equal(b!.failed, 3);
  assert.equal(b!.cpuPer1k, 0.25); // 4 / 16,000 × 1,000
  assert.equal(rowsOf(fixedRate('full', 2000, 4))[0]!.cpuPer1k, null, 'no sampler: no CPU figure');
});

function runInfo(): RunInfo {
  const cpu = (t: string) => (_s: number, _d: number) => (t === 'gateway' ? 1 : t === 'full' ? 1.5 : 3);
  const rows = ['gateway', 'full', 'gunicorn'].flatMap((t) =>
    rowsOf(fixedRate(t, 2000, t === 'gunicorn' ? 40 : 4), cpu(t)),
  );
  rows.push({
    topology: 'gateway',
    scenario: 'capacity',
    step: 'wrk -c50',
    offered: null,
    requests: 160_000,
    rps: 16_000,
    p50: 2,
    p95: NaN,
    p99: 20,
    failed: 0,
    dropped: 0,
    cpuSeconds: 9.6,
    cpuPer1k: 0.06,
    thresholdsOk: true,
  });
  return {
    startedAt: '2026-01-01T00:00:00Z',
    durationS: 600,
    machine: { cores: 2, cpuModel: 'Test CPU', kernel: '6.1' },
    versions: { node: 'v20.0.0', nginx: 'nginx/1.22.1', k6: 'v1.3.0', gunicorn: '20.1.0' },
    settings: { 'CPU budget': 'one core' },
    topologies: [
      { name: 'gateway', description: 'client → gateway', knee: 16_000, kneeFound: true },
      { name: 'full', description: 'client → nginx → gateway', knee: 11_000, kneeFound: true },
      { name: 'gunicorn', description: 'client → gunicorn', knee: 3500, kneeFound: true },
      {
        name: 'nginx-gunicorn',
        description: 'client → nginx → gunicorn',
        knee: null,
        kneeFound: false,
        skipped: 'no gunicorn',
      },
    ],
    rows,
  };
}

test('scenario table: one row per topology and step, with the figures', () => {
  const table = scenarioTable(runInfo().rows, 'fixed-rate').split('\n');
  assert.match(
    table[0]!,
    /^\| topology \| step \| offered req\/s \| achieved req\/s \| p50 ms \| p99 ms \| errors \| CPU s \/ 1k req \|$/,
  );
  assert.equal(table.length, 2 + 6);
  assert.equal(table[2], '| gateway | at_50pct | 1,000 | 1,000 | 0.50 | 2.00 | 0 | 0.100 |');
  assert.equal(table[3], '| gateway | at_80pct | 1,600 | 1,600 | 0.90 | 4.00 | 3 failed | 0.063 |');
  assert.ok(table.includes('| gunicorn | at_50pct | 1,000 | 1,000 | 0.50 | 20.0 | 0 | 0.300 |'));
});

test('headline and findings state the figures per topology and the ratios', () => {
  const info = runInfo();
  const h = headline(info).split('\n');
  assert.equal(h.length, 2 + 3, 'skipped topologies are not in the headline');
  assert.equal(h[2], '| gateway | client → gateway | 16,000 | 0.50 / 2.00 | 0.100 | – | – |');
  const f = findings(info);
  assert.ok(
    f.some((l) => l.includes('capacity 16,000 vs 11,000 req/s (1.45×)')),
    f.join('\n'),
  );
  assert.ok(
    f.some((l) => l.startsWith('**TypeScript vs Python') && l.includes('(4.57×)')),
    f.join('\n'),
  );
});

test('report: Markdown with machine, versions, one table per scenario, and SVG charts it links', () => {
  const { markdown, charts } = renderReport(runInfo());
  assert.match(markdown, /2 cores, Test CPU/);
  assert.match(markdown, /nginx nginx\/1\.22\.1, k6 v1\.3\.0, gunicorn 20\.1\.0/);
  assert.match(markdown, /## Fixed rate/);
  assert.match(markdown, /## Capacity/);
  assert.match(markdown, /Not measured: nginx-gunicorn \(no gunicorn\)/);
  for (const name of ['capacity.svg', 'fixed-rate-p99.svg', 'fixed-rate-cpu.svg']) {
    assert.ok(charts[name], `chart ${name}`);
    assert.ok(markdown.includes(`](${name})`), `report links ${name}`);
  }
  const svg = charts['fixed-rate-cpu.svg']!;
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  // 3 topologies × 2 steps, each bar carrying its value.
  assert.equal(svg.match(/<rect class="bar"/g)?.length, 6);
  assert.match(svg, /data-series="gunicorn" data-group="at_50pct" data-value="0\.3"/);
  const cap = charts['capacity.svg']!;
  assert.match(cap, /data-series="full" data-group="GET \/" data-value="11000"/);
});

test('report header names the mode; the idle CPU line where measured', () => {
  const native = renderReport(runInfo()).markdown;
  assert.match(native.split('\n')[0]!, /^# Topology comparison — 2026-01-01T00:00:00Z — native mode/);
  const info = { ...runInfo(), mode: 'compose' as const };
  info.topologies[0]!.idleCpuPerS = 0.0123;
  const compose = renderReport(info).markdown;
  assert.match(compose.split('\n')[0]!, /— compose mode \(the project's containers/);
  assert.match(compose, /Idle \(nothing offered, 3 s after start\), CPU ms per second: gateway 12\.3\./);
});

/** A churn.js summary as the tls scenario records it: keepalive then churn, 10 s each, 2 s apart, at `rate`. */
function churnSummary(topology: string, rate: number, p99: [number, number]): K6Summary {
  const step = (name: string, q99: number): K6Summary['metrics'] => ({
    [`http_req_duration{scenario:${name}}`]: {
      type: 'trend',
      values: { med: q99 / 4, 'p(95)': q99 / 2, 'p(99)': q99 },
    },
    [`http_reqs{scenario:${name}}`]: { type: 'counter', values: { count: rate * 10, rate } },
    [`http_req_failed{scenario:${name}}`]: { type: 'rate', values: { rate: 0, passes: 0, fails: rate * 10 } },
    [`dropped_iterations{scenario:${name}}`]: { type: 'counter', values: { count: 0, rate: 0 } },
  });
  return {
    meta: {
      script: 'churn',
      topology,
      thresholdsOk: true,
      rate,
      endedAt: '2026-01-01T00:00:30.000Z',
      steps: [
        { name: 'keepalive', startTime: '0s', duration: '10s' },
        { name: 'churn', startTime: '12s', duration: '10s' },
      ],
    },
    state: { testRunDurationMs: 24_000 },
    metrics: { ...step('keepalive', p99[0]), ...step('churn', p99[1]) },
  };
}

/** TLS rows: wrk capacity plus churn.js relabelled 'tls', CPU seconds per window chosen per topology. */
function tlsRows(): Row[] {
  // CPU s in the keepalive and churn windows (3,000 requests each).
  const cpu: Record<string, [number, number]> = {
    'gateway-tls': [1.5, 3.9],
    'full-tls': [1.5, 2.4],
    gateway: [0.9, 1.2],
  };
  const rows: Row[] = [];
  for (const [t, cap] of [
    ['gateway-tls', 16_000],
    ['full-tls', 4000],
    ['gateway', 32_000],
  ] as const) {
    rows.push({
      topology: t,
      scenario: 'tls',
      step: 'wrk -c50',
      offered: null,
      requests: cap * 8,
      rps: cap,
      p50: 2,
      p95: NaN,
      p99: 20,
      failed: 0,
      dropped: 0,
      cpuSeconds: 8,
      cpuPer1k: (8 / (cap * 8)) * 1000,
      thresholdsOk: true,
    });
    const [ka, ch] = cpu[t]!;
    rows.push(
      ...rowsOf(churnSummary(t, 300, t === 'full-tls' ? [3, 6] : [4, 5]), (start) => (start === 0 ? ka : ch)).map(
        (r) => ({ ...r, scenario: 'tls' }),
      ),
    );
  }
  return rows;
}

/** A ws.js summary: `echoes` echoes over 10 s, 50 sessions. */
function wsSummary(topology: string, echoes: number, p99: number, errors = 0): K6Summary {
  return {
    meta: {
      script: 'ws',
      topology,
      thresholdsOk: errors === 0,
      connections: 50,
      messages: 100,
      intervalMs: 20,
      duration: '10s',
    },
    state: { testRunDurationMs: 10_000 },
    metrics: {
      ws_echoes: { type: 'counter', values: { count: echoes, rate: echoes / 10 } },
      ws_echo_rtt: { type: 'trend', values: { med: 1, 'p(95)': p99 / 2, 'p(99)': p99 } },
      ws_sessions: { type: 'counter', values: { count: 50 } },
      ws_socket_errors: { type: 'counter', values: { count: errors } },
      ws_wrong_echoes: { type: 'counter', values: { count: 0 } },
      checks: { type: 'rate', values: { rate: 1, passes: 100, fails: 0 } },
    },
  };
}

test('tls table: where TLS ends, per step, with achieved rate, p50/p99 and CPU per 1k', () => {
  assert.equal(tlsAt('gateway-tls'), 'gateway');
  assert.equal(tlsAt('full-tls'), 'nginx');
  assert.equal(tlsAt('proxy-tls'), 'nginx');
  assert.equal(tlsAt('gateway'), 'none (plain HTTP)');
  const table = tlsTable(tlsRows()).split('\n');
  assert.match(
    table[0]!,
    /^\| topology \| TLS at \| step \| offered req\/s \| achieved req\/s \| p50 ms \| p99 ms \| errors \| CPU s \/ 1k req \|$/,
  );
  assert.equal(table.length, 2 + 9);
  assert.equal(table[2], '| gateway-tls | gateway | wrk -c50 | – | 16,000 | 2.00 | 20.0 | 0 | 0.063 |');
  assert.equal(table[3], '| gateway-tls | gateway | keepalive | 300 | 300 | 1.00 | 4.00 | 0 | 0.500 |');
  assert.equal(table[4], '| gateway-tls | gateway | churn | 300 | 300 | 1.25 | 5.00 | 0 | 1.300 |');
  assert.ok(table.includes('| full-tls | nginx | churn | 300 | 300 | 1.50 | 6.00 | 0 | 0.800 |'), table.join('\n'));
  assert.ok(
    table.includes('| gateway | none (plain HTTP) | keepalive | 300 | 300 | 1.00 | 4.00 | 0 | 0.300 |'),
    table.join('\n'),
  );
});

test('tls findings: gateway vs nginx ratios for capacity, kept-alive and churn; TLS on vs off', () => {
  const f = tlsFindings(tlsRows());
  const vs = f.find((l) => l.includes('gateway-tls vs full-tls'));
  assert.ok(vs, f.join('\n'));
  assert.ok(vs.includes('capacity (kept-alive, wrk) 16,000 vs 4,000 req/s (4.00×)'), vs);
  assert.ok(
    vs.includes('kept-alive at 300 req/s: CPU 0.500 vs 0.500 s per 1k (1.00×), p99 4.00 vs 3.00 ms (1.33×)'),
    vs,
  );
  assert.ok(
    vs.includes(
      'a new TLS connection per request at 300 req/s: CPU 1.300 vs 0.800 s per 1k (1.63×), p99 5.00 vs 6.00 ms (0.83×)',
    ),
    vs,
  );
  assert.ok(!f.some((l) => l.includes('proxy-tls')), 'proxy-tls not measured: no line');
  const onOff = f.find((l) => l.startsWith('**TLS on vs off, gateway-tls / gateway**'));
  assert.ok(onOff, f.join('\n'));
  assert.ok(
    onOff.includes('capacity 0.50×') &&
      onOff.includes('keepalive CPU per 1k 1.67×') &&
      onOff.includes('churn CPU per 1k 3.25×'),
    onOff,
  );
  assert.deepEqual(
    tlsFindings(tlsRows().filter((r) => r.topology !== 'gateway-tls' && r.topology !== 'gateway')),
    [],
    'nothing to compare: no lines',
  );
});

test('ws rows and table: echoes per second, rtt p50/p99, sessions, errors and CPU per 1,000 echoes', () => {
  const windows: Array<[number, number]> = [];
  const row = wsRowOf(wsSummary('full-tls', 24_000, 5), (start, dur) => {
    windows.push([start, dur]);
    return 2.4;
  });
  assert.deepEqual(windows, [[0, 10_000]]);
  assert.equal(row.scenario, 'ws');
  assert.equal(row.step, '50 conns × 100 msgs');
  assert.equal(row.rps, 2400);
  assert.equal(row.p50, 1);
  assert.equal(row.p99, 5);
  assert.equal(row.sessions, 50);
  assert.ok(Math.abs(row.cpuPer1k! - 0.1) < 1e-12, String(row.cpuPer1k));
  const bad = wsRowOf(wsSummary('gateway-tls', 12_000, 8, 3));
  assert.equal(bad.failed, 3);
  assert.equal(bad.cpuPer1k, null);
  assert.equal(bad.thresholdsOk, false);
  const table = wsTable([row, bad]).split('\n');
  assert.match(
    table[0]!,
    /^\| topology \| TLS at \| load \| sessions \| echoes\/s \| rtt p50 ms \| rtt p99 ms \| errors \| CPU s \/ 1k echoes \|$/,
  );
  assert.equal(table[2], '| full-tls | nginx | 50 conns × 100 msgs | 50 | 2,400 | 1.00 | 5.00 | 0 | 0.100 |');
  assert.equal(table[3], '| gateway-tls | gateway | 50 conns × 100 msgs | 50 | 1,200 | 1.00 | 8.00 | 3 failed | – |');
});

/** A tls + ws run of two topologies, for the report's sections of their own. */
function tlsWsInfo(): RunInfo {
  return {
    ...runInfo(),
    topologies: [
      { name: 'gateway-tls', description: 'client —TLS→ gateway', knee: null, kneeFound: false },
      { name: 'full-tls', description: 'client —TLS→ nginx → gateway', knee: null, kneeFound: false },
    ],
    rows: [
      ...tlsRows(),
      wsRowOf(wsSummary('gateway-tls', 24_000, 8), () => 3.3),
      wsRowOf(wsSummary('full-tls', 24_000, 5), () => 2.9),
    ],
  };
}

test('report with tls and ws: their own sections, findings and charts, no generic table for them', () => {
  const info = tlsWsInfo();
  const { markdown, charts } = renderReport(info);
  assert.match(markdown, /## TLS: where it terminates\n/);
  assert.match(markdown, /## WebSocket echo\n/);
  // A row of each table, figured by hand: 3.9 CPU s over 3,000 requests; 2.9 CPU s over 24,000 echoes.
  assert.ok(
    markdown.includes('\n| gateway-tls | gateway | churn | 300 | 300 | 1.25 | 5.00 | 0 | 1.300 |\n'),
    'the tls table',
  );
  assert.ok(
    markdown.includes('\n| full-tls | nginx | 50 conns × 100 msgs | 50 | 2,400 | 1.00 | 5.00 | 0 | 0.121 |\n'),
    'the ws table',
  );
  assert.ok(markdown.includes('- **TLS at the gateway vs TLS at nginx (gateway-tls vs full-tls'), 'the tls finding');
  assert.ok(!/## tls\b/.test(markdown) && !/## ws\b/.test(markdown), 'no generic section');
  assert.ok(!markdown.includes('| topology | step | offered req/s |'), 'no generic table either');
  for (const name of ['tls-p99.svg', 'tls-cpu.svg', 'tls-rps.svg', 'ws-p99.svg', 'ws-cpu.svg']) {
    assert.ok(charts[name], `chart ${name}`);
    assert.ok(markdown.includes(`](${name})`), `report links ${name}`);
  }
  assert.match(charts['tls-rps.svg']!, /data-series="gateway-tls" data-group="wrk -c50" data-value="16000"/);
  assert.match(charts['ws-cpu.svg']!, /CPU seconds per 1,000 echoes/);
  assert.match(charts['ws-cpu.svg']!, /data-series="full-tls" data-group="50 conns × 100 msgs" data-value="0\.12/);
});

/**
 * The whole rendering of the fixed inputs above, against the committed expected
 * files in test/expected/ (Markdown as .md.txt, which the formatter leaves alone): any change to the report's text, tables or charts
 * shows as a diff here. After a deliberate change, UPDATE_EXPECTED=1 rewrites
 * them; review that diff before committing it.
 */
function assertExpected(name: string, actual: string): void {
  const file = join(ROOT, 'loadtest/test/expected', name);
  if (process.env.UPDATE_EXPECTED === '1') writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from its expected rendering`);
}

test('report rendering of the fixed inputs equals the committed expected files', () => {
  const plain = renderReport(runInfo());
  assertExpected('report-fixed-rate.md.txt', plain.markdown);
  assertExpected('fixed-rate-cpu.svg', plain.charts['fixed-rate-cpu.svg']!);
  const tlsWs = renderReport(tlsWsInfo());
  assertExpected('report-tls-ws.md.txt', tlsWs.markdown);
  assertExpected('tls-rps.svg', tlsWs.charts['tls-rps.svg']!);
});

test('bar chart: axis, escaping, bars scaled to the axis, n/a for missing values', () => {
  assert.equal(niceMax(16_000), 20_000);
  assert.equal(niceMax(0.26), 0.5);
  const svg = barChart({
    title: 'a < b & c',
    unit: 'ms',
    groups: ['x', 'y'],
    series: [
      { name: 's1', values: [10, null] },
      { name: 's2', values: [5, 2.5] },
    ],
  });
  assert.match(svg, /<title>a &lt; b &amp; c<\/title>/);
  assert.equal(svg.match(/<rect class="bar"/g)?.length, 3);
  assert.match(svg, />n\/a</);
  const height = (v: number) => Number(new RegExp(`data-value="${v}"[^>]*height="([\\d.]+)"`).exec(svg)?.[1]);
  assert.ok(Math.abs(height(10) - 2 * height(5)) < 0.2, 'bar heights proportional to values');
});

test('wrk output parses into rate, percentiles and errors', () => {
  const out = `Running 10s test @ http://127.0.0.1:8000/
  1 threads and 50 connections
  Latency Distribution
     50%    1.96ms
     75%    2.10ms
     90%    3.00ms
     99%   21.97ms
  163270 requests in 10.00s, 30.27MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  16327.01
`;
  assert.deepEqual(parseWrk(out), { rps: 16327.01, requests: 163270, p50: 1.96, p99: 21.97, errors: 7 });
  assert.equal(parseWrk('connection refused'), undefined);
  // wrk pads the unit to two characters: seconds come as "1.14s " (with a trailing space).
  const slow = out.replace('   1.96ms', '500.00us ').replace('  21.97ms', '    1.14s ');
  assert.deepEqual(parseWrk(slow), { rps: 16327.01, requests: 163270, p50: 0.5, p99: 1140, errors: 7 });
});

test('CPU accounting: a busy child and its own child are found and their CPU counted', async () => {
  // The parent spins until its own CPU time passes 0.3 s, starts a sleeping child, says so, then waits;
  // each line on its stdin makes it spin 0.3 s of CPU more and say so again.
  const code = `const { spawn } = require('node:child_process');
    while (process.cpuUsage().user < 300000) {}
    spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    setTimeout(() => console.log('busy done'), 200);
    process.stdin.on('data', () => {
      const start = process.cpuUsage().user;
      while (process.cpuUsage().user - start < 300000) {}
      console.log('busy again');
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const said = (line: string) =>
    new Promise<void>((r) => {
      const on = (c: Buffer) => {
        if (c.toString().includes(line)) {
          child.stdout.off('data', on);
          r();
        }
      };
      child.stdout.on('data', on);
    });
  const absent = 2 ** 22 + 12345;
  try {
    await said('busy done');
    const pids = tree(child.pid!);
    assert.equal(pids[0], child.pid);
    assert.equal(pids.length, 2, `the child and its grandchild: ${pids}`);
    const total = cpuSeconds(pids);
    assert.ok(total >= 0.25, `at least the 0.3 s spun (to a tick), got ${total}`);
    assert.equal(cpuSeconds([absent]), 0, 'an absent pid counts 0');
    assert.deepEqual(tree(absent), []);

    const before = cpuSnapshot(pids);
    // The cumulative counter: what the processes used since its first call; an absent pid adds nothing.
    const counter = cpuCounter(() => [...pids, absent]);
    assert.equal(counter(), 0);
    // A counter whose pid list gains the child only later: the child counts from zero, i.e. all it ever used.
    let late = false;
    const lateCounter = cpuCounter(() => (late ? [child.pid!] : []));
    assert.equal(lateCounter(), 0);

    const spun = said('busy again');
    child.stdin.write('spin\n');
    await spun;
    const after = cpuSnapshot(pids);
    const delta = cpuDelta(before, after);
    assert.ok(
      delta >= 0.25,
      `the second 0.3 s spun shows in the difference of two snapshots (to a tick), got ${delta}`,
    );
    const counted = counter();
    assert.ok(counted >= 0.25, `and in the counter, got ${counted}`);
    // The two read the same processes a moment apart, while the child sits idle: the same figure within a few ticks.
    assert.ok(Math.abs(counted - delta) < 0.05, `counter ${counted} vs snapshots ${delta}`);
    late = true;
    const whole = lateCounter();
    assert.ok(whole >= 0.55, `a process that appears later counts from zero: both spins, got ${whole}`);

    // A process that exits keeps what it had used when last seen.
    const mainOnly = cpuCounter(() => [child.pid!]);
    mainOnly();
    child.stdin.write('spin\n');
    await said('busy again');
    const lastSeen = mainOnly();
    assert.ok(lastSeen >= 0.25, `the third spin, got ${lastSeen}`);
    for (const pid of tree(child.pid!).reverse()) process.kill(pid, 'SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    assert.equal(existsSync(`/proc/${child.pid}/stat`), false, 'the child is gone (reaped)');
    assert.equal(mainOnly(), lastSeen);
  } finally {
    for (const pid of tree(child.pid!).reverse())
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  }
});

test('CPU difference of two snapshots: a process born in between counts from zero, one gone by then is lost', () => {
  const before = new Map([
    [1, 2],
    [3, 9],
  ]);
  const after = new Map([
    [1, 2.5],
    [2, 0.25],
  ]);
  assert.equal(cpuDelta(before, after), 0.75);
});

const haveK6 = spawnSync('k6', ['version'], { stdio: 'ignore' }).status === 0;
const haveNginx = existsSync(process.env.NGINX_BIN ?? '/usr/sbin/nginx');
const built = ['app/dist/app.js', 'server/dist/cli.js'].every((f) => existsSync(join(ROOT, f)));
const e2eSkip = !haveK6
  ? 'k6 not on PATH (the runner needs it)'
  : !haveNginx
    ? 'no nginx (apt-get install -y nginx)'
    : !built
      ? 'not built (npm run build)'
      : false;

test('end to end: nginx → gateway, the cpu scenario for 2 s, report and charts written', {
  skip: e2eSkip,
  timeout: 180_000,
}, async () => {
  const out = mkdtempSync(join(tmpdir(), 'compare-e2e-'));
  try {
    // 30 requests/s of /cpu?ms=20 for 2 s: a functional check, not a measurement.
    // No lock: the test suite may itself run under /tmp/gw-measure.lock (flock …
    // .ci/run), and a second flock from inside it would wait for ever.
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'loadtest/compare/run.ts'),
        '--topologies',
        'full',
        '--scenarios',
        'cpu',
        '--duration',
        '2',
        '--warmup',
        '0',
        '--out',
        out,
        '--no-lock',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 170_000 },
    );
    assert.equal(r.status, 0, `runner failed:\n${r.stderr}`);
    assert.match(r.stderr, /\[ 1\/1 .*elapsed, ETA .*\] full: cpu/);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(report, /\| full \| all \| 30\.0 \|/);
    assert.doesNotMatch(report, /- 1 cores/, "the machine's cores, not the runner's affinity");
    assert.ok(existsSync(join(out, 'cpu-full.json')), 'raw k6 summary');
    assert.match(readFileSync(join(out, 'cpu-cpu.svg'), 'utf8'), /<rect class="bar" data-series="full"/);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunInfo;
    const row = run.rows.find((x) => x.topology === 'full' && x.scenario === 'cpu');
    assert.ok(row && row.requests > 0, 'requests counted');
    assert.ok(row.cpuPer1k !== null && row.cpuPer1k > 0, 'the serving processes used CPU (nginx + gateway)');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// ---- compose mode (containers.ts): the pieces, without an engine -------------------------

test('compose override: every service of the profile pinned to the cpuset, nginx given the comparison config', () => {
  const parse = (text: string) => {
    const [comment, ...json] = text.split('\n');
    assert.match(comment!, /^# generated by loadtest\/compare\/containers\.ts/);
    return JSON.parse(json.join('\n')) as {
      services: Record<string, { cpuset?: string; volumes?: string[]; environment?: Record<string, string> }>;
    };
  };
  const full = parse(overrideFile('full', '1', '/tmp/x/nginx.conf'));
  assert.deepEqual(Object.keys(full.services).sort(), ['gateway-full', 'nginx-full']);
  assert.equal(full.services['gateway-full']!.cpuset, '1');
  assert.equal(full.services['nginx-full']!.cpuset, '1');
  assert.deepEqual(full.services['nginx-full']!.volumes, [
    '/tmp/x/nginx.conf:/etc/nginx/templates/nginx.conf.template:ro',
  ]);
  assert.deepEqual(full.services['nginx-full']!.environment, { NGINX_PLAIN_HTTP: 'site' });
  assert.equal(full.services['gateway-full']!.volumes, undefined, 'only nginx gets the config');
  const proxy = parse(overrideFile('proxy', '1', '/c'));
  assert.deepEqual(Object.keys(proxy.services).sort(), ['app', 'nginx-proxy']);
  assert.equal(proxy.services.app!.cpuset, '1', 'every app replica: the service key covers them all');
  const gw = parse(overrideFile('gateway', '0-1'));
  assert.deepEqual(gw.services, { gateway: { cpuset: '0-1' } });
  assert.deepEqual(parse(overrideFile('gateway', undefined)).services, { gateway: {} });
  // The services named here exist in the committed compose file, in that profile.
  const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  for (const [name, { services }] of Object.entries(SERVICES)) {
    const { profile, files } = PROFILE[name as keyof typeof PROFILE];
    // An override over it (full-uds: docker-compose.uds.yml) names services of that profile only.
    for (const f of files)
      for (const svc of services) assert.match(readFileSync(join(ROOT, f), 'utf8'), new RegExp(`\n  ${svc}:\n`));
    for (const svc of services)
      assert.match(
        composeText,
        new RegExp(`\n  ${svc}:\n(?:    .*\n)*?    profiles: \\[${profile}\\]`),
        `${svc} in profile ${profile}`,
      );
  }
});

test('compose nginx config: the shipped nginx.conf template with access_log off and one worker', () => {
  const shipped = readFileSync(join(ROOT, 'nginx/templates/nginx.conf.template'), 'utf8');
  const conf = comparisonNginxConf(shipped, { workerProcesses: 1 });
  // Plain HTTP serving the site is the template variable the override sets (NGINX_PLAIN_HTTP=site).
  assert.match(conf, /^\s*include includes\/\$\{NGINX_PLAIN_HTTP\}\.conf;/m);
  assert.match(conf, /^\s*access_log off;/m);
  assert.match(conf, /^worker_processes 1;/m);
  assert.match(comparisonNginxConf(shipped, { accessLog: true }), /access_log \/dev\/stdout json;/);
  assert.throws(() => comparisonNginxConf('events {}\n'), /no longer contains/);
});

const ID = 'a'.repeat(64);
test('cgroup CPU files: found from /proc/<pid>/cgroup for v1 and v2, systemd and cgroupfs drivers', () => {
  // cgroup v1, cgroupfs driver (Debian's docker.io on a v1 host).
  const v1 = `12:pids:/docker/${ID}\n4:cpu,cpuacct:/docker/${ID}\n1:name=systemd:/docker/${ID}\n0::/docker/${ID}\n`;
  const c1 = cgroupCpuFiles(v1, ID, '/cg');
  assert.equal(c1[0], `/cg/cpu,cpuacct/docker/${ID}/cpuacct.usage`, 'the lines in their order: v1 cpuacct here');
  assert.ok(
    c1.includes(`/cg/docker/${ID}/cpu.stat`) && c1.includes(`/cg/unified/docker/${ID}/cpu.stat`),
    'and the unified line (hybrid hosts)',
  );
  assert.ok(c1.includes(`/cg/cpu,cpuacct/docker/${ID}/cpuacct.usage`));
  assert.ok(c1.includes(`/cg/cpuacct/docker/${ID}/cpuacct.usage`));
  // cgroup v2, systemd driver.
  const v2 = `0::/system.slice/docker-${ID}.scope\n`;
  assert.equal(cgroupCpuFiles(v2, ID, '/cg')[0], `/cg/system.slice/docker-${ID}.scope/cpu.stat`);
  // Nothing readable (another pid namespace): the usual places, still.
  const guess = cgroupCpuFiles('', ID, '/cg');
  assert.ok(
    guess.includes(`/cg/system.slice/docker-${ID}.scope/cpu.stat`) &&
      guess.includes(`/cg/cpuacct/docker/${ID}/cpuacct.usage`),
  );
  // The root cgroup is never a container's.
  assert.ok(
    !cgroupCpuFiles('0::/\n2:cpuacct:/\n', ID, '/cg').some(
      (f) => f.startsWith('/cg/cpu.stat') || f === '/cg/cpuacct/cpuacct.usage',
    ),
  );
  // The first that exists and parses wins.
  const files: Record<string, string> = {
    [`/cg/cpu,cpuacct/docker/${ID}/cpuacct.usage`]: 'max\n', // unreadable figure: skipped
    [`/cg/docker/${ID}/cpu.stat`]: 'nr_periods 0\n', // no usage: skipped
    [`/cg/cpuacct/docker/${ID}/cpuacct.usage`]: '2500000000\n',
  };
  const found = findCgroupCpuFile(c1, (f) => files[f]);
  assert.equal(found, `/cg/cpuacct/docker/${ID}/cpuacct.usage`);
  assert.equal(
    findCgroupCpuFile(c1, () => undefined),
    undefined,
  );
});

test('cgroup CPU: cpu.stat usage_usec and cpuacct.usage nanoseconds, in seconds', () => {
  assert.equal(
    parseCgroupCpu('/x/cpu.stat', 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 0\n'),
    1.5,
  );
  assert.equal(parseCgroupCpu('/x/cpuacct.usage', '1127033016\n'), 1.127033016);
  assert.throws(() => parseCgroupCpu('/x/cpu.stat', 'nr_periods 0\n'), /usage_usec/);
  assert.throws(() => parseCgroupCpu('/x/cpuacct.usage', 'max\n'), /not a number/);
});

test('base images of a build: FROM lines, not the stages built from', () => {
  const df =
    'FROM node:26 AS build\nRUN x\nFROM nginx:1.26.3 AS nginx\nCOPY --from=build /a /b\nFROM build AS runtime2\nfrom node:26 as runtime\n';
  assert.deepEqual(baseImages(df), ['node:26', 'nginx:1.26.3']);
  assert.ok(baseImages().length >= 2, "the project's Dockerfile");
});

const builtGateway = ['app/dist/app.js', 'server/dist/cli.js'].every((f) => existsSync(join(ROOT, f)));
test('one interface: a native topology counts its CPU with cpuSeconds(), as a container topology does', {
  skip: builtGateway ? false : 'not built (npm run build)',
  timeout: 60_000,
}, async () => {
  const t = await startTopology('gateway', { workers: 1 });
  try {
    const shape: { name: string; baseUrl: string; cpuSeconds(): number; stop(): Promise<void> } = t;
    const a = shape.cpuSeconds();
    // A few hundred requests: the gateway's master and worker use some CPU.
    for (let i = 0; i < 300; i++) await fetch(`${shape.baseUrl}/`).then((r) => r.arrayBuffer());
    const b = shape.cpuSeconds();
    assert.ok(b > a, `cpuSeconds grew: ${a} → ${b}`);
  } finally {
    await t.stop();
  }
});

test('runner: an unknown mode, and --mode compose where compose cannot run, exit 2 with the reason', {
  timeout: 120_000,
}, () => {
  const runner = join(ROOT, 'loadtest/compare/run.ts');
  const bad = spawnSync(process.execPath, ['--import', 'tsx', runner, '--mode', 'docker', '--no-lock'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--mode native\|compose\|auto/);
  // A compose CLI that does not exist: compose mode refuses before measuring anything.
  const none = spawnSync(
    process.execPath,
    ['--import', 'tsx', runner, '--mode', 'compose', '--no-lock', '--out', join(tmpdir(), 'compare-never')],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, COMPOSE_CLI: 'no-such-compose-cli', PATH: process.env.PATH },
    },
  );
  assert.equal(none.status, 2, none.stderr);
  assert.match(
    none.stderr,
    /--mode compose cannot run here: (no docker CLI|`docker info` does not answer|neither `docker compose` nor `docker-compose` answers)/,
  );
});
