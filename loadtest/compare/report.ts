// From a run's rows to the Markdown report and its SVG charts. Pure functions of
// their input, so the tests feed them fixed summaries. This module is the entry
// point: the rows (rows.ts), tables (tables.ts) and findings (findings.ts) it is
// made of are re-exported from here.
import { findings, tlsFindings } from './findings.ts';
import { H2_TITLE, h2Pointer, h2RpsChart, h2Section } from './h2-report.ts';
import { proxyCostSection } from './proxy-cost.ts';
import type { Row } from './rows.ts';
import { barChart } from './svg.ts';
import { find, headline, scenarioTable, type TopologyInfo, tlsTable, wsTable } from './tables.ts';

export { findings, tlsFindings } from './findings.ts';
export { h2Between, h2Findings, h2OverH1, h2Table } from './h2-report.ts';
export {
  type CpuOfWindow,
  durationMs,
  type K6Metric,
  type K6Summary,
  parseWrk,
  type Row,
  rowsOf,
  type StepWindow,
  windowsOf,
  wsRowOf,
} from './rows.ts';
export { find, headline, scenarioTable, type TopologyInfo, tlsAt, tlsTable, wsTable } from './tables.ts';

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
  h2: H2_TITLE,
};
const titleOf = (scenario: string) => SCENARIO_TITLES[scenario] ?? scenario;

// ---- charts -------------------------------------------------------------------------------

/** Steps of a scenario, in first-seen order, and the topologies that ran it. */
function axes(rows: Row[], scenario: string): { steps: string[]; topologies: string[] } {
  const mine = rows.filter((r) => r.scenario === scenario);
  return { steps: [...new Set(mine.map((r) => r.step))], topologies: [...new Set(mine.map((r) => r.topology))] };
}

/** One series per topology of a scenario: a figure of each of its steps, null where not measured. */
function seriesOf(rows: Row[], scenario: string, key: 'p99' | 'cpuPer1k' | 'rps') {
  const { steps, topologies } = axes(rows, scenario);
  return topologies.map((t) => ({
    name: t,
    values: steps.map((st) => {
      const v = find(rows, t, scenario, st)?.[key];
      return v === undefined || v === null || !Number.isFinite(v) ? null : v;
    }),
  }));
}

export function scenarioCharts(rows: Row[], scenario: string): Record<string, string> {
  const { steps } = axes(rows, scenario);
  const ws = scenario === 'ws';
  return {
    [`${scenario}-p99.svg`]: barChart({
      title: `${scenario}: p99 latency`,
      subtitle: titleOf(scenario),
      unit: 'ms',
      groups: steps,
      series: seriesOf(rows, scenario, 'p99'),
    }),
    [`${scenario}-cpu.svg`]: barChart({
      title: `${scenario}: CPU seconds per 1,000 ${ws ? 'echoes' : 'requests'} (all serving processes)`,
      subtitle: titleOf(scenario),
      unit: `CPU s / 1k ${ws ? 'echoes' : 'req'}`,
      groups: steps,
      series: seriesOf(rows, scenario, 'cpuPer1k'),
    }),
  };
}

function capacityChart(measured: TopologyInfo[]): string {
  return barChart({
    title: 'Capacity: GET / on a one-core budget',
    subtitle: 'the most each topology serves with every serving process on one core (wrk, closed model)',
    unit: 'req/s',
    groups: ['GET /'],
    series: measured.map((t) => ({ name: t.name, values: [t.knee] })),
  });
}

/** Achieved rate per TLS step: the kept-alive capacity is where TLS at the gateway and at nginx differ most. */
function tlsRpsChart(rows: Row[]): string {
  const { steps, topologies } = axes(rows, 'tls');
  return barChart({
    title: 'tls: achieved requests per second',
    subtitle: titleOf('tls'),
    unit: 'req/s',
    groups: steps,
    series: topologies.map((t) => ({ name: t, values: steps.map((st) => find(rows, t, 'tls', st)?.rps ?? null) })),
  });
}

function chartsOf(info: RunInfo, scenarios: string[]): Record<string, string> {
  const charts: Record<string, string> = { 'capacity.svg': capacityChart(measuredOf(info)) };
  for (const sc of scenarios) if (sc !== 'capacity') Object.assign(charts, scenarioCharts(info.rows, sc));
  if (scenarios.includes('tls')) charts['tls-rps.svg'] = tlsRpsChart(info.rows);
  if (scenarios.includes('h2')) charts['h2-rps.svg'] = h2RpsChart(info.rows);
  return charts;
}

// ---- sections -----------------------------------------------------------------------------
// Each returns its lines, a blank line after every block.

const measuredOf = (info: RunInfo) => info.topologies.filter((t) => !t.skipped);
const bullets = (lines: string[]) => (lines.length ? [...lines.map((l) => `- ${l}`), ''] : []);

const MODE_LINE = {
  compose: "compose mode (the project's containers, one compose profile at a time)",
  native: 'native mode (local processes, no containers)',
};

function titleSection(info: RunInfo): string[] {
  return [
    `# Topology comparison — ${info.startedAt} — ${MODE_LINE[info.mode ?? 'native']}`,
    '',
    "nginx → gateway, the gateway alone, or nginx → the app's own server? " +
      'And the Python stack it mirrors (nginx → gunicorn → Flask) measured the same way, ' +
      'on the same machine, in the same run.',
    '',
  ];
}

function machineSection(info: RunInfo): string[] {
  const versions = Object.entries(info.versions).filter(([, v]) => v);
  return [
    '## Machine and versions',
    '',
    `- ${info.machine.cores} cores, ${info.machine.cpuModel}, Linux ${info.machine.kernel}`,
    `- ${versions.map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- run took ${(info.durationS / 60).toFixed(1)} min`,
    '',
  ];
}

function methodSection(info: RunInfo): string[] {
  return ['## How it was measured', '', ...Object.entries(info.settings).map(([k, v]) => `- **${k}**: ${v}`), ''];
}

function headlineSection(info: RunInfo): string[] {
  // An h2-only run has none of the headline's figures: its findings are in its own section.
  const onlyH2 = info.rows.length > 0 && info.rows.every((r) => r.scenario === 'h2');
  const out = onlyH2
    ? ['## Headline', '', `${H2_TITLE}: see its section below.`, '']
    : ['## Headline', '', headline(info), '', ...bullets(findings(info)), '![capacity](capacity.svg)', ''];
  const idle = measuredOf(info).filter((t) => t.idleCpuPerS !== undefined);
  if (idle.length) {
    const each = idle.map((t) => `${t.name} ${(t.idleCpuPerS! * 1000).toFixed(1)}`).join(', ');
    out.push(`Idle (nothing offered, 3 s after start), CPU ms per second: ${each}.`, '');
  }
  const skipped = info.topologies.filter((t) => t.skipped);
  if (skipped.length) out.push(`Not measured: ${skipped.map((t) => `${t.name} (${t.skipped})`).join('; ')}`, '');
  return out;
}

const TLS_METHOD =
  'Each topology over HTTPS (self-signed P-256 certificate, TLS 1.3, HTTP/1.1 from the client: ' +
  "k6 runs with GODEBUG=http2client=0 so nginx's HTTP/2 does not make this an h2-vs-h1 comparison), " +
  'and the plain topologies over HTTP as the baseline. Steps: `wrk` = capacity, kept-alive connections, ' +
  'closed model; `keepalive` and `churn` = churn.js at a fixed rate, reusing connections, then ' +
  '`Connection: close` on every request (a new TLS handshake per request; nginx keeps a session cache, tickets off).';

const WS_METHOD =
  'ws.js: a fixed number of virtual users each open a WebSocket to /ws (wss:// for the -tls topologies), ' +
  'send a message every INTERVAL_MS, check each echo and time its round trip; a VU reconnects after ' +
  'MESSAGES echoes. CPU per 1,000 echoes.';

function tlsSection(rows: Row[]): string[] {
  return [
    ...[`## ${titleOf('tls')}`, '', TLS_METHOD, '', h2Pointer(rows), '', tlsTable(rows), ''],
    ...bullets(tlsFindings(rows)),
    ...['![tls p99](tls-p99.svg)', '![tls CPU](tls-cpu.svg)', '![tls throughput](tls-rps.svg)', ''],
  ];
}

function wsSection(rows: Row[]): string[] {
  return [
    `## ${titleOf('ws')}`,
    '',
    WS_METHOD,
    '',
    wsTable(rows),
    '',
    '![ws p99](ws-p99.svg)',
    '![ws CPU](ws-cpu.svg)',
    '',
  ];
}

/** Any other scenario: its table, then its two charts (capacity has one chart of its own, in the headline). */
function scenarioSection(rows: Row[], sc: string): string[] {
  const out = [`## ${titleOf(sc)}`, '', scenarioTable(rows, sc), ''];
  if (sc !== 'capacity') out.push(`![${sc} p99](${sc}-p99.svg)`, `![${sc} CPU](${sc}-cpu.svg)`, '');
  return out;
}

/** Sections of their own for the scenarios whose rows have another shape. */
const SECTIONS: Record<string, (rows: Row[]) => string[]> = { tls: tlsSection, ws: wsSection, h2: h2Section };

export function renderReport(info: RunInfo): Report {
  const scenarios = [...new Set(info.rows.map((r) => r.scenario))];
  const md = [
    ...titleSection(info),
    ...machineSection(info),
    ...methodSection(info),
    ...headlineSection(info),
    ...proxyCostSection(info.rows),
    ...scenarios.flatMap((sc) => SECTIONS[sc]?.(info.rows) ?? scenarioSection(info.rows, sc)),
    'Raw k6 summaries: `<script>-<topology>.json` in this folder; `run.json` holds every row above.',
    '',
  ];
  return { markdown: md.join('\n'), charts: chartsOf(info, scenarios) };
}
