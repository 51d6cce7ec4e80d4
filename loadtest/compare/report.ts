// From k6 summaries (plus the CPU the serving processes used in each step's
// window) to rows, then to the Markdown report and its SVG charts. Pure
// functions of their input, so the tests feed them fixed summaries.
import { barChart, fmt } from './svg.ts';

// ---- k6 summaries ----------------------------------------------------------------

export interface K6Metric {
  type: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}
export interface K6Summary {
  meta: Record<string, unknown> & { script: string; topology: string; endedAt?: string };
  metrics: Record<string, K6Metric>;
  state?: { testRunDurationMs?: number };
}

/** Milliseconds in a k6 duration ("10000ms", "2s", "1m30s"). */
export function durationMs(text: string | number | undefined): number {
  if (typeof text === 'number') return text * 1000;
  if (text === undefined || text === '') return 0;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

/** One measured window of a k6 run: a scenario (step) of a multi-step script, or the whole run. */
export interface StepWindow {
  name: string;
  startMs: number;
  durationMs: number;
  offered: number | null;
}

export function windowsOf(s: K6Summary): StepWindow[] {
  const meta = s.meta;
  const list = (meta.steps ?? meta.variants) as
    | Array<{ name: string; startTime?: string; duration?: string; rate?: number }>
    | undefined;
  if (Array.isArray(list) && list.length > 0) {
    const rate = typeof meta.rate === 'number' ? meta.rate : null;
    return list.map((st) => ({
      name: st.name,
      startMs: durationMs(st.startTime),
      durationMs: durationMs(st.duration),
      offered: st.rate ?? rate,
    }));
  }
  const total = s.state?.testRunDurationMs ?? 0;
  const offered =
    meta.script === 'capacity'
      ? Number(meta.offeredRateAtStop ?? NaN)
      : typeof meta.rate === 'number'
        ? meta.rate
        : null;
  const dur = meta.duration ? durationMs(meta.duration as string) : total;
  return [
    {
      name: meta.script === 'capacity' ? 'ramp' : 'all',
      startMs: 0,
      durationMs: dur || total,
      offered: Number.isFinite(offered) ? offered : null,
    },
  ];
}

export interface Row {
  topology: string;
  scenario: string;
  step: string;
  offered: number | null;
  requests: number;
  /** Completed requests per second over the step's window. */
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** Failed requests (k6's http_req_failed) and dropped iterations. */
  failed: number;
  dropped: number;
  cpuSeconds: number | null;
  /** CPU seconds of every serving process per 1,000 requests. */
  cpuPer1k: number | null;
  thresholdsOk: boolean;
  /** WebSocket rows: sessions opened (k6's ws_sessions); requests are then echoes. */
  sessions?: number;
}

function metric(s: K6Summary, name: string, step: string, single: boolean): K6Metric | undefined {
  return s.metrics[`${name}{scenario:${step}}`] ?? (single ? s.metrics[name] : undefined);
}

/**
 * Rows of one k6 summary. `cpu(startMs, durationMs)` gives the CPU seconds the
 * topology's processes used in that window, relative to the run's start (the
 * first scenario's startTime 0); absent: CPU columns are null.
 */
export function rowsOf(s: K6Summary, cpu?: (startMs: number, durationMs: number) => number | null): Row[] {
  const windows = windowsOf(s);
  const single = windows.length === 1;
  return windows.map((w) => {
    const dur = metric(s, 'http_req_duration', w.name, single)?.values ?? {};
    const requests = metric(s, 'http_reqs', w.name, single)?.values.count ?? 0;
    const failed = metric(s, 'http_req_failed', w.name, single)?.values.passes ?? 0;
    const dropped = metric(s, 'dropped_iterations', w.name, single)?.values.count ?? 0;
    const seconds = (w.durationMs || s.state?.testRunDurationMs || 1) / 1000;
    const cpuSeconds = cpu ? cpu(w.startMs, w.durationMs) : null;
    return {
      topology: s.meta.topology,
      scenario: s.meta.script,
      step: w.name,
      offered: w.offered,
      requests,
      rps: requests / seconds,
      p50: dur.med ?? NaN,
      p95: dur['p(95)'] ?? NaN,
      p99: dur['p(99)'] ?? NaN,
      failed,
      dropped,
      cpuSeconds,
      cpuPer1k: cpuSeconds !== null && requests > 0 ? (cpuSeconds / requests) * 1000 : null,
      thresholdsOk: s.meta.thresholdsOk !== false,
    };
  });
}

// ---- the report ------------------------------------------------------------------

export interface TopologyInfo {
  name: string;
  description: string;
  knee: number | null;
  kneeFound: boolean;
  skipped?: string;
  /** CPU seconds per second the topology used with no load offered (a few seconds after start). */
  idleCpuPerS?: number;
}
export interface RunInfo {
  /** How the topologies ran: 'native' (local processes) or 'compose' (the project's containers). Absent: native. */
  mode?: 'native' | 'compose';
  startedAt: string;
  durationS: number;
  machine: { cores: number; cpuModel: string; kernel: string };
  versions: Record<string, string>;
  settings: Record<string, string>;
  topologies: TopologyInfo[];
  rows: Row[];
}

export interface Report {
  markdown: string;
  charts: Record<string, string>;
}

const SCENARIO_TITLES: Record<string, string> = {
  capacity: 'Capacity: GET /, as fast as it answers (wrk, closed model)',
  'fixed-rate': "Fixed rate: GET / at fractions of each topology's own knee",
  static: 'Static files: 1 KiB and 1 MiB text, gzip asked for or not',
  slow: 'Slow I/O: /slow (async wait), many requests in flight',
  cpu: 'CPU-bound: /cpu (blocks the event loop)',
  churn: 'Connection churn: keep-alive vs a new TCP connection per request',
  tls: 'TLS: where it terminates',
  ws: 'WebSocket echo',
};

const ms = (v: number) => (Number.isFinite(v) ? fmt(v) : '–');
const cpuCell = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(3));

/** Rows of a scenario and step for one topology. */
export function find(rows: Row[], topology: string, scenario: string, step?: string): Row | undefined {
  return rows.find(
    (r) => r.topology === topology && r.scenario === scenario && (step === undefined || r.step === step),
  );
}

export function scenarioTable(rows: Row[], scenario: string): string {
  const mine = rows.filter((r) => r.scenario === scenario);
  const lines = [
    '| topology | step | offered req/s | achieved req/s | p50 ms | p99 ms | errors | CPU s / 1k req |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of mine) {
    const errors = r.failed + r.dropped === 0 ? '0' : `${r.failed} failed${r.dropped ? `, ${r.dropped} dropped` : ''}`;
    lines.push(
      `| ${r.topology} | ${r.step} | ${r.offered === null ? '–' : fmt(r.offered)} | ${fmt(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${errors} | ${cpuCell(r.cpuPer1k)} |`,
    );
  }
  return lines.join('\n');
}

/** Steps of a scenario, in first-seen order, and the topologies that ran it. */
function axes(rows: Row[], scenario: string): { steps: string[]; topologies: string[] } {
  const mine = rows.filter((r) => r.scenario === scenario);
  return { steps: [...new Set(mine.map((r) => r.step))], topologies: [...new Set(mine.map((r) => r.topology))] };
}

export function scenarioCharts(rows: Row[], scenario: string): Record<string, string> {
  const { steps, topologies } = axes(rows, scenario);
  const unit = scenario === 'ws' ? 'echoes' : 'requests';
  const pick = (k: 'p99' | 'cpuPer1k' | 'rps') =>
    topologies.map((t) => ({
      name: t,
      values: steps.map((st) => {
        const r = find(rows, t, scenario, st);
        const v = r?.[k];
        return v === undefined || v === null || !Number.isFinite(v) ? null : v;
      }),
    }));
  const title = SCENARIO_TITLES[scenario] ?? scenario;
  return {
    [`${scenario}-p99.svg`]: barChart({
      title: `${scenario}: p99 latency`,
      subtitle: title,
      unit: 'ms',
      groups: steps,
      series: pick('p99'),
    }),
    [`${scenario}-cpu.svg`]: barChart({
      title: `${scenario}: CPU seconds per 1,000 ${unit} (all serving processes)`,
      subtitle: title,
      unit: `CPU s / 1k ${scenario === 'ws' ? 'echoes' : 'req'}`,
      groups: steps,
      series: pick('cpuPer1k'),
    }),
  };
}

/** The headline: one row per topology. */
export function headline(info: RunInfo): string {
  const lines = [
    '| topology | path of a request | capacity, req/s (one core) | p50 / p99 ms at 50% | CPU s / 1k req at 50% | static 1 KiB: CPU s / 1k | new connection each request: p99 ms |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const t of info.topologies) {
    if (t.skipped) continue;
    const half = find(info.rows, t.name, 'fixed-rate', 'at_50pct');
    const stat = find(info.rows, t.name, 'static', 'small_plain');
    const churn = find(info.rows, t.name, 'churn', 'churn');
    lines.push(
      `| ${t.name} | ${t.description} | ${t.knee === null ? '–' : `${t.kneeFound ? '' : '≥ '}${fmt(t.knee)}`} | ${half ? `${ms(half.p50)} / ${ms(half.p99)}` : '–'} | ${cpuCell(half?.cpuPer1k ?? null)} | ${cpuCell(stat?.cpuPer1k ?? null)} | ${churn ? ms(churn.p99) : '–'} |`,
    );
  }
  return lines.join('\n');
}

/** Ratio a/b as "1.23×", or '–'. */
function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (
    a === null ||
    a === undefined ||
    b === null ||
    b === undefined ||
    !Number.isFinite(a) ||
    !Number.isFinite(b) ||
    b === 0
  )
    return '–';
  return `${(a / b).toFixed(2)}×`;
}

/** What each single-component topology gives up against its two-component counterpart, in figures. */
export function findings(info: RunInfo): string[] {
  const out: string[] = [];
  const knee = (n: string) => info.topologies.find((t) => t.name === n && !t.skipped)?.knee ?? null;
  const cpu = (n: string, sc: string, st: string) => find(info.rows, n, sc, st)?.cpuPer1k ?? null;
  const pair = (single: string, both: string) => knee(single) !== null && knee(both) !== null;
  if (pair('gateway', 'full')) {
    out.push(
      `**gateway alone vs nginx → gateway**: capacity ${fmt(knee('gateway')!)} vs ${fmt(knee('full')!)} req/s (${ratio(knee('gateway'), knee('full'))}); ` +
        `CPU per 1k requests at 50% ${cpuCell(cpu('gateway', 'fixed-rate', 'at_50pct'))} vs ${cpuCell(cpu('full', 'fixed-rate', 'at_50pct'))} s; ` +
        `static files, CPU s per 1k: 1 KiB ${cpuCell(cpu('gateway', 'static', 'small_plain'))} vs ${cpuCell(cpu('full', 'static', 'small_plain'))} (${ratio(cpu('gateway', 'static', 'small_plain'), cpu('full', 'static', 'small_plain'))}), ` +
        `1 MiB ${cpuCell(cpu('gateway', 'static', 'large_plain'))} vs ${cpuCell(cpu('full', 'static', 'large_plain'))} (${ratio(cpu('gateway', 'static', 'large_plain'), cpu('full', 'static', 'large_plain'))}); ` +
        `1 MiB with gzip asked for ${cpuCell(cpu('gateway', 'static', 'large_gzip'))} vs ${cpuCell(cpu('full', 'static', 'large_gzip'))} (nginx compresses, which costs CPU and saves bytes; the app sends it uncompressed).`,
    );
  }
  if (pair('proxy', 'full')) {
    out.push(
      `**nginx → app's own server vs nginx → gateway**: capacity ${fmt(knee('proxy')!)} vs ${fmt(knee('full')!)} req/s (${ratio(knee('proxy'), knee('full'))}); ` +
        `CPU per 1k at 50% ${cpuCell(cpu('proxy', 'fixed-rate', 'at_50pct'))} vs ${cpuCell(cpu('full', 'fixed-rate', 'at_50pct'))} s.`,
    );
  }
  if (pair('gunicorn', 'nginx-gunicorn')) {
    out.push(
      `**Python: gunicorn alone vs nginx → gunicorn**: capacity ${fmt(knee('gunicorn')!)} vs ${fmt(knee('nginx-gunicorn')!)} req/s (${ratio(knee('gunicorn'), knee('nginx-gunicorn'))}); ` +
        `CPU per 1k at 50% ${cpuCell(cpu('gunicorn', 'fixed-rate', 'at_50pct'))} vs ${cpuCell(cpu('nginx-gunicorn', 'fixed-rate', 'at_50pct'))} s.`,
    );
  }
  if (pair('gateway', 'gunicorn')) {
    out.push(
      `**TypeScript vs Python, same shape**: gateway ${fmt(knee('gateway')!)} vs gunicorn ${fmt(knee('gunicorn')!)} req/s alone (${ratio(knee('gateway'), knee('gunicorn'))})` +
        (pair('full', 'nginx-gunicorn')
          ? `; behind nginx ${fmt(knee('full')!)} vs ${fmt(knee('nginx-gunicorn')!)} (${ratio(knee('full'), knee('nginx-gunicorn'))}).`
          : '.'),
    );
  }
  return out;
}

export function renderReport(info: RunInfo): Report {
  const charts: Record<string, string> = {};
  const measured = info.topologies.filter((t) => !t.skipped);
  charts['capacity.svg'] = barChart({
    title: 'Capacity: GET / on a one-core budget',
    subtitle: 'the most each topology serves with every serving process on one core (wrk, closed model)',
    unit: 'req/s',
    groups: ['GET /'],
    series: measured.map((t) => ({ name: t.name, values: [t.knee] })),
  });
  const scenarios = [...new Set(info.rows.map((r) => r.scenario))];
  for (const sc of scenarios) if (sc !== 'capacity') Object.assign(charts, scenarioCharts(info.rows, sc));
  if (scenarios.includes('tls')) {
    const { steps, topologies } = axes(info.rows, 'tls');
    charts['tls-rps.svg'] = barChart({
      title: 'tls: achieved requests per second',
      subtitle: SCENARIO_TITLES.tls!,
      unit: 'req/s',
      groups: steps,
      series: topologies.map((t) => ({
        name: t,
        values: steps.map((st) => find(info.rows, t, 'tls', st)?.rps ?? null),
      })),
    });
  }

  const md: string[] = [];
  const mode = info.mode ?? 'native';
  md.push(
    `# Topology comparison — ${info.startedAt} — ${mode === 'compose' ? "compose mode (the project's containers, one compose profile at a time)" : 'native mode (local processes, no containers)'}`,
    '',
  );
  md.push(
    "nginx → gateway, the gateway alone, or nginx → the app's own server? And the Python stack it mirrors (nginx → gunicorn → Flask) measured the same way, on the same machine, in the same run.",
    '',
  );
  md.push('## Machine and versions', '');
  md.push(`- ${info.machine.cores} cores, ${info.machine.cpuModel}, Linux ${info.machine.kernel}`);
  md.push(
    `- ${Object.entries(info.versions)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  md.push(`- run took ${(info.durationS / 60).toFixed(1)} min`, '');
  md.push('## How it was measured', '');
  for (const [k, v] of Object.entries(info.settings)) md.push(`- **${k}**: ${v}`);
  md.push('');
  md.push('## Headline', '', headline(info), '');
  const f = findings(info);
  if (f.length) md.push(...f.map((l) => `- ${l}`), '');
  md.push('![capacity](capacity.svg)', '');
  const idle = measured.filter((t) => t.idleCpuPerS !== undefined);
  if (idle.length)
    md.push(
      `Idle (nothing offered, 3 s after start), CPU ms per second: ${idle.map((t) => `${t.name} ${(t.idleCpuPerS! * 1000).toFixed(1)}`).join(', ')}.`,
      '',
    );
  const skipped = info.topologies.filter((t) => t.skipped);
  if (skipped.length) md.push(`Not measured: ${skipped.map((t) => `${t.name} (${t.skipped})`).join('; ')}`, '');
  for (const sc of scenarios) {
    if (sc === 'tls') {
      md.push(
        `## ${SCENARIO_TITLES.tls}`,
        '',
        "Each topology over HTTPS (self-signed P-256 certificate, TLS 1.3, HTTP/1.1 from the client: k6 runs with GODEBUG=http2client=0 so nginx's HTTP/2 does not make this an h2-vs-h1 comparison), and the plain topologies over HTTP as the baseline. Steps: `wrk` = capacity, kept-alive connections, closed model; `keepalive` and `churn` = churn.js at a fixed rate, reusing connections, then `Connection: close` on every request (a new TLS handshake per request; nginx keeps a session cache, tickets off).",
        '',
        tlsTable(info.rows),
        '',
      );
      const tf = tlsFindings(info.rows);
      if (tf.length) md.push(...tf.map((l) => `- ${l}`), '');
      md.push('![tls p99](tls-p99.svg)', '![tls CPU](tls-cpu.svg)', '![tls throughput](tls-rps.svg)', '');
      continue;
    }
    if (sc === 'ws') {
      md.push(
        `## ${SCENARIO_TITLES.ws}`,
        '',
        'ws.js: a fixed number of virtual users each open a WebSocket to /ws (wss:// for the -tls topologies), send a message every INTERVAL_MS, check each echo and time its round trip; a VU reconnects after MESSAGES echoes. CPU per 1,000 echoes.',
        '',
        wsTable(info.rows),
        '',
        '![ws p99](ws-p99.svg)',
        '![ws CPU](ws-cpu.svg)',
        '',
      );
      continue;
    }
    md.push(`## ${SCENARIO_TITLES[sc] ?? sc}`, '', scenarioTable(info.rows, sc), '');
    if (sc !== 'capacity') md.push(`![${sc} p99](${sc}-p99.svg)`, `![${sc} CPU](${sc}-cpu.svg)`, '');
  }
  md.push('Raw k6 summaries: `<script>-<topology>.json` in this folder; `run.json` holds every row above.', '');
  return { markdown: md.join('\n'), charts };
}

// ---- TLS and WebSocket -------------------------------------------------------------

/** Where TLS terminates in a topology: the gateway, nginx, or nowhere (plain HTTP). */
export function tlsAt(topology: string): string {
  if (topology === 'gateway-tls') return 'gateway';
  if (topology.endsWith('-tls')) return 'nginx';
  return 'none (plain HTTP)';
}

/**
 * The row of a ws.js summary: echoes (not HTTP requests) per second over the
 * run, the echo round trip (ws_echo_rtt), failures (socket errors, wrong echoes,
 * failed checks) and CPU per 1,000 echoes.
 */
export function wsRowOf(s: K6Summary, cpu?: (startMs: number, durationMs: number) => number | null): Row {
  const m = (n: string) => s.metrics[n]?.values ?? {};
  const echoes = m('ws_echoes').count ?? 0;
  const durMs = s.state?.testRunDurationMs ?? durationMs(s.meta.duration as string | undefined);
  const cpuSeconds = cpu ? cpu(0, durMs) : null;
  const rtt = m('ws_echo_rtt');
  return {
    topology: s.meta.topology,
    scenario: 'ws',
    step: `${s.meta.connections ?? '?'} conns × ${s.meta.messages ?? '?'} msgs`,
    offered: null,
    requests: echoes,
    rps: echoes / Math.max(0.001, durMs / 1000),
    p50: rtt.med ?? NaN,
    p95: rtt['p(95)'] ?? NaN,
    p99: rtt['p(99)'] ?? NaN,
    failed: (m('ws_socket_errors').count ?? 0) + (m('ws_wrong_echoes').count ?? 0) + (m('checks').fails ?? 0),
    dropped: 0,
    cpuSeconds,
    cpuPer1k: cpuSeconds !== null && echoes > 0 ? (cpuSeconds / echoes) * 1000 : null,
    thresholdsOk: s.meta.thresholdsOk !== false,
    sessions: m('ws_sessions').count ?? 0,
  };
}

const errorsCell = (r: Row) =>
  r.failed + r.dropped === 0 ? '0' : `${r.failed} failed${r.dropped ? `, ${r.dropped} dropped` : ''}`;

/** "TLS: where it terminates": topology × step (wrk capacity, k6 keep-alive, k6 churn). */
export function tlsTable(rows: Row[]): string {
  const lines = [
    '| topology | TLS at | step | offered req/s | achieved req/s | p50 ms | p99 ms | errors | CPU s / 1k req |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows.filter((x) => x.scenario === 'tls')) {
    lines.push(
      `| ${r.topology} | ${tlsAt(r.topology)} | ${r.step} | ${r.offered === null ? '–' : fmt(r.offered)} | ${fmt(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${errorsCell(r)} | ${cpuCell(r.cpuPer1k)} |`,
    );
  }
  return lines.join('\n');
}

/** "WebSocket echo": topology × sessions, echoes/s, round trip p50/p99, CPU per 1,000 echoes. */
export function wsTable(rows: Row[]): string {
  const lines = [
    '| topology | TLS at | load | sessions | echoes/s | rtt p50 ms | rtt p99 ms | errors | CPU s / 1k echoes |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows.filter((x) => x.scenario === 'ws')) {
    lines.push(
      `| ${r.topology} | ${tlsAt(r.topology)} | ${r.step} | ${r.sessions === undefined ? '–' : String(Math.round(r.sessions))} | ${fmt(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${errorsCell(r)} | ${cpuCell(r.cpuPer1k)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The TLS verdict in figures: TLS at the gateway (gateway-tls) against TLS at
 * nginx (full-tls, and proxy-tls when measured), kept-alive and one new TLS
 * connection per request, as ratios gateway / nginx (below 1: the gateway is
 * cheaper or faster).
 */
export function tlsFindings(rows: Row[]): string[] {
  const out: string[] = [];
  const r = (t: string, step: string) =>
    rows.find(
      (x) =>
        x.topology === t && x.scenario === 'tls' && (step === 'capacity' ? x.step.startsWith('wrk') : x.step === step),
    );
  for (const nginx of ['full-tls', 'proxy-tls']) {
    if (
      !rows.some((x) => x.topology === 'gateway-tls' && x.scenario === 'tls') ||
      !rows.some((x) => x.topology === nginx && x.scenario === 'tls')
    )
      continue;
    const parts: string[] = [];
    const cap = [r('gateway-tls', 'capacity'), r(nginx, 'capacity')] as const;
    if (cap[0] && cap[1])
      parts.push(
        `capacity (kept-alive, wrk) ${fmt(cap[0].rps)} vs ${fmt(cap[1].rps)} req/s (${ratio(cap[0].rps, cap[1].rps)})`,
      );
    for (const [step, label] of [
      ['keepalive', 'kept-alive'],
      ['churn', 'a new TLS connection per request'],
    ] as const) {
      const g = r('gateway-tls', step);
      const n = r(nginx, step);
      if (!g || !n) continue;
      parts.push(
        `${label} at ${g.offered === null ? '?' : fmt(g.offered)} req/s: CPU ${cpuCell(g.cpuPer1k)} vs ${cpuCell(n.cpuPer1k)} s per 1k (${ratio(g.cpuPer1k, n.cpuPer1k)}), p99 ${ms(g.p99)} vs ${ms(n.p99)} ms (${ratio(g.p99, n.p99)})`,
      );
    }
    if (parts.length)
      out.push(
        `**TLS at the gateway vs TLS at nginx (gateway-tls vs ${nginx}, ratio gateway / nginx)**: ${parts.join('; ')}.`,
      );
  }
  // What TLS itself costs each shape: the TLS row against its plain twin.
  for (const [tls, plain] of [
    ['gateway-tls', 'gateway'],
    ['full-tls', 'full'],
    ['proxy-tls', 'proxy'],
  ] as const) {
    const parts: string[] = [];
    for (const step of ['capacity', 'keepalive', 'churn'] as const) {
      const a = r(tls, step);
      const b = r(plain, step);
      if (!a || !b) continue;
      parts.push(
        step === 'capacity' ? `capacity ${ratio(a.rps, b.rps)}` : `${step} CPU per 1k ${ratio(a.cpuPer1k, b.cpuPer1k)}`,
      );
    }
    if (parts.length) out.push(`**TLS on vs off, ${tls} / ${plain}**: ${parts.join(', ')}.`);
  }
  return out;
}

/** The figures of `wrk --latency` output, or undefined when it has none. */
export function parseWrk(
  out: string,
): { rps: number; requests: number; p50: number; p99: number; errors: number } | undefined {
  const toMs = (v: string | undefined) => {
    const m = /^([\d.]+)(us|ms|s|m)$/.exec((v ?? '').trim());
    if (!m) return NaN;
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 } as Record<string, number>)[m[2]!]!;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) return undefined;
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps,
    requests,
    p50: toMs(/^\s+50%\s+(\S+)$/m.exec(out)?.[1]),
    p99: toMs(/^\s+99%\s+(\S+)$/m.exec(out)?.[1]),
    errors:
      (errs
        ? errs
            .slice(1)
            .map(Number)
            .reduce((a, b) => a + b, 0)
        : 0) + non2xx,
  };
}
