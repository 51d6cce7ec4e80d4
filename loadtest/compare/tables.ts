// The report's Markdown tables. Every table has the same shape: a list of
// columns (header, alignment, how a cell is written) over a list of items, so
// each table is declared as its columns and written by one function.
import type { Row } from './rows.ts';
import { fmt } from './svg.ts';

/** A topology as the report shows it. */
export interface TopologyInfo {
  name: string;
  description: string;
  knee: number | null;
  kneeFound: boolean;
  skipped?: string;
  /** CPU seconds per second the topology used with no load offered (a few seconds after start). */
  idleCpuPerS?: number;
}

// ---- cells ---------------------------------------------------------------------------

/** Milliseconds (or any figure) in fmt's compact form; '–' when not measured. */
export const ms = (v: number) => (Number.isFinite(v) ? fmt(v) : '–');
/** CPU seconds per 1,000 requests, three decimals; '–' when not measured. */
export const cpuCell = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(3));
/** An offered rate; '–' for closed-model steps (wrk) that offer none. */
const offeredCell = (v: number | null) => (v === null ? '–' : fmt(v));
/** '0', or what failed and what was dropped. */
export const errorsCell = (r: Row) =>
  r.failed + r.dropped === 0 ? '0' : `${r.failed} failed${r.dropped ? `, ${r.dropped} dropped` : ''}`;

/** Ratio a/b as "1.23×", or '–'. */
export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  const ok = (v: number | null | undefined): v is number => v !== null && v !== undefined && Number.isFinite(v);
  if (!ok(a) || !ok(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

// ---- the table writer -----------------------------------------------------------------

export interface Column<T> {
  header: string;
  /** Right-aligned (figures). */
  right?: boolean;
  cell: (item: T) => string;
}

export function markdownTable<T>(columns: Array<Column<T>>, items: T[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(columns.map((c) => c.header)),
    `|${columns.map((c) => (c.right ? '---:' : '---')).join('|')}|`,
    ...items.map((item) => line(columns.map((c) => c.cell(item)))),
  ].join('\n');
}

// ---- row lookup ------------------------------------------------------------------------

/** The row of a scenario and step for one topology (the first of the scenario without a step). */
export function find(rows: Row[], topology: string, scenario: string, step?: string): Row | undefined {
  return rows.find(
    (r) => r.topology === topology && r.scenario === scenario && (step === undefined || r.step === step),
  );
}

/** Where TLS terminates in a topology: the gateway, nginx, or nowhere (plain HTTP). */
export function tlsAt(topology: string): string {
  if (topology === 'gateway-tls') return 'gateway';
  if (topology.endsWith('-tls')) return 'nginx';
  return 'none (plain HTTP)';
}

// ---- the tables --------------------------------------------------------------------------

const col = {
  topology: { header: 'topology', cell: (r) => r.topology },
  tlsAt: { header: 'TLS at', cell: (r) => tlsAt(r.topology) },
  step: { header: 'step', cell: (r) => r.step },
  offered: { header: 'offered req/s', right: true, cell: (r) => offeredCell(r.offered) },
  achieved: { header: 'achieved req/s', right: true, cell: (r) => fmt(r.rps) },
  p50: { header: 'p50 ms', right: true, cell: (r) => ms(r.p50) },
  p99: { header: 'p99 ms', right: true, cell: (r) => ms(r.p99) },
  errors: { header: 'errors', right: true, cell: errorsCell },
  cpu: { header: 'CPU s / 1k req', right: true, cell: (r) => cpuCell(r.cpuPer1k) },
} satisfies Record<string, Column<Row>>;

const SCENARIO_COLUMNS: Array<Column<Row>> = [
  col.topology,
  col.step,
  col.offered,
  col.achieved,
  col.p50,
  col.p99,
  col.errors,
  col.cpu,
];

const TLS_COLUMNS: Array<Column<Row>> = [col.topology, col.tlsAt, ...SCENARIO_COLUMNS.slice(1)];

const WS_COLUMNS: Array<Column<Row>> = [
  col.topology,
  col.tlsAt,
  { header: 'load', cell: (r) => r.step },
  { header: 'sessions', right: true, cell: (r) => (r.sessions === undefined ? '–' : String(Math.round(r.sessions))) },
  { header: 'echoes/s', right: true, cell: (r) => fmt(r.rps) },
  { ...col.p50, header: 'rtt p50 ms' },
  { ...col.p99, header: 'rtt p99 ms' },
  col.errors,
  { ...col.cpu, header: 'CPU s / 1k echoes' },
];

const ofScenario = (rows: Row[], scenario: string) => rows.filter((r) => r.scenario === scenario);

/** One row per topology and step of a scenario, with the figures. */
export function scenarioTable(rows: Row[], scenario: string): string {
  return markdownTable(SCENARIO_COLUMNS, ofScenario(rows, scenario));
}

/** "TLS: where it terminates": topology × step (wrk capacity, k6 keep-alive, k6 churn). */
export function tlsTable(rows: Row[]): string {
  return markdownTable(TLS_COLUMNS, ofScenario(rows, 'tls'));
}

/** "WebSocket echo": topology × sessions, echoes/s, round trip p50/p99, CPU per 1,000 echoes. */
export function wsTable(rows: Row[]): string {
  return markdownTable(WS_COLUMNS, ofScenario(rows, 'ws'));
}

/** The headline's columns: each reads the topology's rows of the run. */
function headlineColumns(rows: Row[]): Array<Column<TopologyInfo>> {
  const half = (t: TopologyInfo) => find(rows, t.name, 'fixed-rate', 'at_50pct');
  return [
    { header: 'topology', cell: (t) => t.name },
    { header: 'path of a request', cell: (t) => t.description },
    {
      header: 'capacity, req/s (one core)',
      right: true,
      cell: (t) => (t.knee === null ? '–' : `${t.kneeFound ? '' : '≥ '}${fmt(t.knee)}`),
    },
    {
      header: 'p50 / p99 ms at 50%',
      right: true,
      cell: (t) => {
        const r = half(t);
        return r ? `${ms(r.p50)} / ${ms(r.p99)}` : '–';
      },
    },
    { header: 'CPU s / 1k req at 50%', right: true, cell: (t) => cpuCell(half(t)?.cpuPer1k ?? null) },
    {
      header: 'static 1 KiB: CPU s / 1k',
      right: true,
      cell: (t) => cpuCell(find(rows, t.name, 'static', 'small_plain')?.cpuPer1k ?? null),
    },
    {
      header: 'new connection each request: p99 ms',
      right: true,
      cell: (t) => {
        const r = find(rows, t.name, 'churn', 'churn');
        return r ? ms(r.p99) : '–';
      },
    },
  ];
}

/** The headline: one row per measured topology. */
export function headline(info: { topologies: TopologyInfo[]; rows: Row[] }): string {
  return markdownTable(
    headlineColumns(info.rows),
    info.topologies.filter((t) => !t.skipped),
  );
}
