// The figures the README quotes, checked against the results it cites. Each table
// of figures and each sentence with figures in README.md is tied to the last
// results link before it (loadtest/results/published/<name>/ → that run's
// run.json and raw k6 summaries; docs/reliability.md → reliability/results.json),
// and every number written there is compared with the value computed from that
// file, rounded to the decimals it is written with (or to the step a claim names,
// for "about 70%"). A figure edited by hand, a sentence reworded so its check no
// longer finds it, or a new published run the README was not updated for, fails
// here with the figure, the value it should be and the file.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BalanceRun, medians } from '../loadtest/compare/balance-report.ts';
import type { MemoryRun, MemoryTarget } from '../loadtest/compare/memory.ts';
import { h2Between, h2OverH1, type Row, type RunInfo } from '../loadtest/compare/report.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

// ---- sources ------------------------------------------------------------------------

interface Reliability {
  steps: Record<string, Array<{ case: string; topology: string; pass: boolean; figures: Record<string, unknown> }>>;
}
type Source =
  | { kind: 'run'; path: string; run: RunInfo; dir: string }
  | { kind: 'reliability'; path: string; results: Reliability }
  | { kind: 'static'; path: string; bench: StaticBench }
  | { kind: 'nginx-cost'; path: string; cost: NginxCost }
  | { kind: 'memory'; path: string; memory: MemoryRun; overhead: Overhead }
  | { kind: 'balance'; path: string; balance: BalanceRun };

/** What loadtest/compare/nginx-cost.ts publishes (loadtest/results/published/minproxy/nginx-cost.json). */
interface NginxCost {
  variants: Array<{ name: string; rps: number; cpuPer1k: number; rpsOverShipped: number; cpuOverShipped: number }>;
}

/** What server/bench/static.ts publishes (loadtest/results/published/static/static.json). */
interface StaticBench {
  figures: Record<
    'before' | 'after',
    Record<string, Record<string, { cpuPer1k: number; bytesPerRequest: number; encoding: string }>>
  >;
}

/**
 * The per-worker overhead benchmarks as published (loadtest/results/published/memory/): their output
 * as printed, bench:throughput's ratio lines ("- LABEL: **0.985** (…)") and bench:cost's lines per
 * round ("round 1: gateway -w 1 (worker)   67144 instructions/request"), the median over rounds.
 */
interface Overhead {
  throughput: Record<string, number>;
  /** File (cost.md, cost-h1.md) → process → instructions per request, median of rounds. */
  cost: Record<string, Record<string, number>>;
}

function memorySource(): Source {
  const dir = join(ROOT, 'loadtest/results/published/memory');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const throughput: Record<string, number> = {};
  for (const m of read('throughput.md').matchAll(/^- (.+): \*\*([\d.]+)\*\*/gm)) throughput[m[1]!] = Number(m[2]);
  const cost: Overhead['cost'] = {};
  for (const f of ['cost.md', 'cost-h1.md'].filter((x) => existsSync(join(dir, x)))) {
    const rounds: Record<string, number[]> = {};
    for (const m of read(f).matchAll(/^round \d+: (.+?) +(-?\d+) instructions\/request/gm))
      rounds[m[1]!] = [...(rounds[m[1]!] ?? []), Number(m[2])];
    cost[f] = Object.fromEntries(
      Object.entries(rounds).map(([k, xs]) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const mid = Math.floor(sorted.length / 2);
        return [k, sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2];
      }),
    );
  }
  const memory = JSON.parse(read('memory.json')) as MemoryRun;
  return { kind: 'memory', path: 'loadtest/results/published/memory/', memory, overhead: { throughput, cost } };
}

const SOURCE_LINK = /\]\((loadtest\/results\/published\/([a-z0-9-]+)\/[^)]*|docs\/reliability\.md)\)/g;

function loadSource(link: string, published: string | undefined): Source {
  if (published === undefined) {
    const path = 'reliability/results.json';
    return { kind: 'reliability', path, results: JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as Reliability };
  }
  if (published === 'static') {
    const path = 'loadtest/results/published/static/static.json';
    return { kind: 'static', path, bench: JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as StaticBench };
  }
  const costFile = /\/(nginx-cost(?:-first)?\.json)$/.exec(link)?.[1];
  if (costFile) {
    const path = `loadtest/results/published/${published}/${costFile}`;
    return { kind: 'nginx-cost', path, cost: JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as NginxCost };
  }
  if (published === 'memory') return memorySource();
  if (published === 'balance') {
    const path = 'loadtest/results/published/balance/balance.json';
    return { kind: 'balance', path, balance: JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as BalanceRun };
  }
  const dir = join(ROOT, 'loadtest/results/published', published);
  const path = `loadtest/results/published/${published}/run.json`;
  assert.ok(link.startsWith(`loadtest/results/published/${published}/`));
  return { kind: 'run', path, dir, run: JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunInfo };
}

/** The results a passage of `text` cites: the last results link before `offset`. */
function sourceAt(text: string, offset: number): Source | undefined {
  let last: RegExpExecArray | undefined;
  for (const m of text.matchAll(SOURCE_LINK)) if (m.index < offset) last = m;
  return last ? loadSource(last[1]!, last[2]) : undefined;
}

// ---- numbers as written ------------------------------------------------------------

/** A number as the README writes it: "31,865", "0.142", "**6.9**". */
function parseWritten(text: string): { value: number; decimals: number } {
  const clean = text.replace(/[*,]/g, '');
  return { value: Number(clean), decimals: clean.includes('.') ? clean.length - clean.indexOf('.') - 1 : 0 };
}

/** `actual` written the way `written` is: to its decimals, or to a multiple of `step`. */
function roundedLike(actual: number, written: string, step?: number): string {
  if (step !== undefined) return String(Math.round(actual / step) * step);
  return actual.toFixed(parseWritten(written).decimals);
}

function checkFigure(what: string, written: string, actual: number | undefined, source: Source, step?: number): void {
  assert.ok(
    actual !== undefined && Number.isFinite(actual),
    `${what}: README says ${written}; ${source.path} has none`,
  );
  const want = roundedLike(actual, written, step);
  assert.equal(
    parseWritten(written).value,
    Number(want),
    `${what}: README says ${written}, ${source.path} gives ${actual} (${want} as written)`,
  );
}

// ---- the run's rows ------------------------------------------------------------------

const rowsOf = (s: Source): Row[] => (s.kind === 'run' ? s.run.rows : []);
const row = (s: Source, topology: string, scenario: string, test: (r: Row) => boolean = () => true) =>
  rowsOf(s).find((r) => r.topology === topology && r.scenario === scenario && test(r));
const step = (name: string) => (r: Row) => r.step === name;
const offered = (rate: number) => (r: Row) => r.offered === rate;
const knee = (s: Source, topology: string) =>
  s.kind === 'run' ? (s.run.topologies.find((t) => t.name === topology && !t.skipped)?.knee ?? undefined) : undefined;
const cpu = (s: Source, topology: string, scenario: string, stepName: string) =>
  row(s, topology, scenario, step(stepName))?.cpuPer1k ?? undefined;
const rateIn = (m: RegExpMatchArray) => Number(m[1]!.replace(/,/g, ''));

// ---- tables -----------------------------------------------------------------------------

interface MdTable {
  offset: number;
  header: string[];
  rows: string[][];
}

/** The Markdown tables of a document, with their offsets; cells trimmed, `\|` kept inside a cell. */
function tablesOf(md: string): MdTable[] {
  const out: MdTable[] = [];
  const lines = md.split('\n');
  let offset = 0;
  let current: MdTable | undefined;
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  for (const line of lines) {
    if (line.trimStart().startsWith('|')) {
      if (!current) {
        current = { offset, header: cells(line), rows: [] };
        out.push(current);
      } else if (!/^\|[\s:|-]+\|$/.test(line.trim())) current.rows.push(cells(line));
    } else current = undefined;
    offset += line.length + 1;
  }
  return out;
}

interface ColumnCheck {
  header: RegExp;
  /** The figures of one cell, in the order written; absent: a text column. */
  values?: (s: Source, key: string, header: RegExpMatchArray) => Array<number | undefined>;
}
interface TableCheck {
  /** The first header cell, which names the table. */
  first: string;
  /** The README may leave it out (its figures are checked when it is there). */
  optional?: boolean;
  /** Row label → topology. */
  key: (label: string) => string;
  columns: ColumnCheck[];
}

const TLS_ROWS: Record<string, string> = {
  'the gateway (`--certfile`)': 'gateway-tls',
  'nginx → gateway': 'full-tls',
  "nginx → app's own server": 'proxy-tls',
  '(no TLS: gateway alone)': 'gateway',
};

/** The README's HTTP/2 table: a row label → the h2 row's topology and protocol, as "topology|protocol". */
const H2_ROWS: Record<string, string> = {
  'h2 to the gateway': 'gateway-tls|h2',
  'HTTP/1.1 to the gateway': 'gateway-tls|http/1.1',
  'h2 to nginx → gateway': 'full-tls|h2',
  'HTTP/1.1 to nginx → gateway': 'full-tls|http/1.1',
};
const h2Row = (s: Source, key: string) => {
  const [topology, protocol] = key.split('|');
  return row(s, topology!, 'h2', step(protocol!));
};
const UDS_ROWS: Record<string, string> = {
  'TCP (`full`)': 'full',
  'a unix socket (`full-uds`)': 'full-uds',
};
const capacityRow = (s: Source, t: string) => row(s, t, 'capacity');
/** The unix-socket hop against TCP (nginx → gateway), natively and in compose: one table each, its own run. */
const udsTable = (first: string): TableCheck => ({
  first,
  key: (label) => UDS_ROWS[label] ?? `(no topology for "${label}")`,
  columns: [
    { header: /^capacity, req\/s \(one core\)$/, values: (s, t) => [knee(s, t)] },
    {
      header: /^p50 \/ p99 ms at capacity$/,
      values: (s, t) => [capacityRow(s, t)?.p50, capacityRow(s, t)?.p99],
    },
    { header: /^CPU s \/ 1k req at capacity$/, values: (s, t) => [capacityRow(s, t)?.cpuPer1k ?? undefined] },
    { header: /^capacity vs TCP$/, values: (s, t) => [ratio(knee(s, t), knee(s, 'full'))] },
    {
      header: /^CPU per request vs TCP$/,
      values: (s, t) => [
        ratio(capacityRow(s, t)?.cpuPer1k ?? undefined, capacityRow(s, 'full')?.cpuPer1k ?? undefined),
      ],
    },
  ],
});
/** The minimal-proxy table's rows: the nginx config in front of the gateway, and its transport. */
const PROXY_ROWS: Record<string, string> = {
  'shipped, TCP': 'full',
  'minimal, TCP': 'minimal',
  'shipped, unix socket': 'full-uds',
  'minimal, unix socket': 'minimal-uds',
};
const MINIMAL_OF: Record<string, string> = {
  full: 'minimal',
  minimal: 'minimal',
  'full-uds': 'minimal-uds',
  'minimal-uds': 'minimal-uds',
};
const costVariant = (s: Source, name: string) =>
  s.kind === 'nginx-cost' ? s.cost.variants.find((x) => x.name === name) : undefined;

const TABLES: TableCheck[] = [
  {
    first: 'topology',
    key: (label) => label,
    columns: [
      { header: /^path of a request$/ },
      { header: /^capacity, req\/s \(one core\)$/, values: (s, t) => [knee(s, t)] },
      {
        header: /^p50 \/ p99 ms at ([\d,]+) req\/s$/,
        values: (s, t, h) => {
          const r = row(s, t, 'fixed-rate', offered(rateIn(h)));
          return [r?.p50, r?.p99];
        },
      },
      {
        header: /^CPU s \/ 1k req at ([\d,]+) req\/s$/,
        values: (s, t, h) => [row(s, t, 'fixed-rate', offered(rateIn(h)))?.cpuPer1k ?? undefined],
      },
      { header: /^static 1 KiB: CPU s \/ 1k$/, values: (s, t) => [cpu(s, t, 'static', 'small_plain')] },
      { header: /^static 1 MiB: CPU s \/ 1k$/, values: (s, t) => [cpu(s, t, 'static', 'large_plain')] },
    ],
  },
  {
    first: 'TLS terminated at',
    key: (label) => TLS_ROWS[label] ?? `(no topology for "${label}")`,
    columns: [
      {
        header: /^capacity, kept-alive \(wrk\)$/,
        values: (s, t) => [row(s, t, 'tls', (r) => r.step.startsWith('wrk'))?.rps],
      },
      {
        header: /^([\d,]+) req\/s kept-alive: p99, CPU s \/ 1k$/,
        values: (s, t, h) => {
          const r = row(s, t, 'tls', (x) => x.step === 'keepalive' && x.offered === rateIn(h));
          return [r?.p99, r?.cpuPer1k ?? undefined];
        },
      },
      {
        header: /^([\d,]+) req\/s, new TLS connection per request: p99, CPU s \/ 1k$/,
        values: (s, t, h) => {
          const r = row(s, t, 'tls', (x) => x.step === 'churn' && x.offered === rateIn(h));
          return [r?.p99, r?.cpuPer1k ?? undefined];
        },
      },
      {
        header: /^WebSocket echo: echoes\/s, CPU s \/ 1k$/,
        values: (s, t) => {
          const r = row(s, t, 'ws');
          return [r?.rps, r?.cpuPer1k ?? undefined];
        },
      },
    ],
  },
  {
    first: 'nginx config, transport',
    optional: true,
    key: (label) => PROXY_ROWS[label] ?? `(no topology for "${label}")`,
    columns: [
      { header: /^capacity, req\/s \(wrk\)$/, values: (s, t) => [capacityRow(s, t)?.rps] },
      { header: /^CPU s \/ 1k req$/, values: (s, t) => [capacityRow(s, t)?.cpuPer1k ?? undefined] },
      {
        header: /^capacity ÷ minimal$/,
        values: (s, t) => [ratio(capacityRow(s, t)?.rps, capacityRow(s, MINIMAL_OF[t] ?? '')?.rps)],
      },
      {
        header: /^CPU ÷ minimal$/,
        values: (s, t) => [
          ratio(capacityRow(s, t)?.cpuPer1k ?? undefined, capacityRow(s, MINIMAL_OF[t] ?? '')?.cpuPer1k ?? undefined),
        ],
      },
    ],
  },
  {
    first: 'nginx in front of the gateway',
    key: (label) => label.replace(/`/g, ''),
    columns: [
      { header: /^what changes$/ },
      { header: /^req\/s$/, values: (s, v) => [costVariant(s, v)?.rps] },
      { header: /^CPU s \/ 1k$/, values: (s, v) => [costVariant(s, v)?.cpuPer1k] },
      { header: /^req\/s ÷ shipped$/, values: (s, v) => [costVariant(s, v)?.rpsOverShipped] },
      { header: /^CPU ÷ shipped$/, values: (s, v) => [costVariant(s, v)?.cpuOverShipped] },
    ],
  },
  {
    first: 'over TLS, ALPN',
    key: (label) => H2_ROWS[label] ?? `(no h2 row for "${label}")`,
    columns: [
      { header: /^req\/s \(median of the rounds\)$/, values: (s, k) => [h2Row(s, k)?.rps] },
      { header: /^p50 \/ p99 ms$/, values: (s, k) => [h2Row(s, k)?.p50, h2Row(s, k)?.p99] },
      { header: /^CPU s \/ 1k req$/, values: (s, k) => [h2Row(s, k)?.cpuPer1k ?? undefined] },
    ],
  },
];

TABLES.push(udsTable('nginx → gateway over'), udsTable('compose: nginx → gateway over'));

const MEMORY_ROWS: Record<string, MemoryTarget> = {
  'the gateway, `-w 2`': 'gateway',
  'PM2 cluster mode, `-i 2`': 'pm2',
  'Gunicorn, 2 sync workers': 'gunicorn',
};
const summaryOf = (s: Source, t: string) =>
  s.kind === 'memory' ? (s.memory.targets.find((x) => x.name === t && !x.skipped)?.summary ?? undefined) : undefined;
const orUndefined = (x: number | null | undefined) => (x === null ? undefined : x);
const throughputRatio = (s: Source, label: string) => (s.kind === 'memory' ? s.overhead.throughput[label] : undefined);
const costOf = (s: Source, file: string, key: string) =>
  s.kind === 'memory' ? s.overhead.cost[file]?.[key] : undefined;
const STANDALONE_COST = 'standalone (process)';
const WORKER_COST = 'gateway -w 1 (worker)';
const MASTER_COST = 'gateway -w 1 (master)';

/** The memory table and the per-worker overhead table (loadtest/results/published/memory/). */
const MEMORY_TABLES: TableCheck[] = [
  {
    first: 'memory, MiB (RSS)',
    key: (label) => MEMORY_ROWS[label] ?? `(no target for "${label}")`,
    columns: [
      { header: /^master, idle$/, values: (s, t) => [summaryOf(s, t)?.masterIdleMiB] },
      { header: /^each worker, idle$/, values: (s, t) => [summaryOf(s, t)?.workerIdleMiB] },
      { header: /^master, under load$/, values: (s, t) => [summaryOf(s, t)?.masterLoadMiB] },
      { header: /^each worker, under load$/, values: (s, t) => [summaryOf(s, t)?.workerLoadMiB] },
      {
        header: /^all processes, Pss: idle \/ under load$/,
        values: (s, t) => [
          orUndefined(summaryOf(s, t)?.totalPssIdleMiB),
          orUndefined(summaryOf(s, t)?.totalPssLoadMiB),
        ],
      },
      {
        header: /^per idle keep-alive connection, KiB$/,
        values: (s, t) => [orUndefined(summaryOf(s, t)?.perConnectionKiB)],
      },
    ],
  },
  {
    first: 'per-worker overhead',
    key: (label) => label,
    columns: [
      { header: /^target$/ },
      {
        header: /^measured$/,
        values: (s, label) => {
          if (label.startsWith('throughput, gateway `-w 1` / standalone'))
            return [throughputRatio(s, 'gateway -w 1 / standalone, throughput (target ≥ 0.97)')];
          if (label.startsWith('CPU per request, gateway `-w 1` / standalone'))
            return [throughputRatio(s, 'gateway -w 1 / standalone, CPU per request')];
          if (label.startsWith('A/A control'))
            return [throughputRatio(s, 'A/A control / standalone, throughput (the same server twice: ideally 1.000)')];
          const file = label.includes('`--http-protocols h1`') ? 'cost-h1.md' : 'cost.md';
          const standalone = costOf(s, 'cost.md', STANDALONE_COST);
          const worker = costOf(s, file, WORKER_COST);
          const master = costOf(s, file, MASTER_COST);
          if (label.startsWith('instructions per request, gateway worker'))
            return [ratio(worker, standalone), worker, standalone];
          if (label.startsWith('instructions per request, worker + master'))
            return [ratio(worker === undefined || master === undefined ? undefined : worker + master, standalone)];
          return [undefined];
        },
      },
      { header: /^met\?$/ },
    ],
  },
];

test('the memory and per-worker overhead tables match loadtest/results/published/memory/', () => {
  const tables = tablesOf(README);
  for (const spec of MEMORY_TABLES) {
    const mine = tables.filter((t) => t.header[0] === spec.first);
    assert.equal(mine.length, 1, `one README table starting "${spec.first}"`);
    const table = mine[0]!;
    const source = sourceAt(README, table.offset);
    assert.ok(
      source?.kind === 'memory',
      `the table "${spec.first}" cites loadtest/results/published/memory/ before it`,
    );
    assert.ok(checkTable(spec, table, source) >= table.rows.length, `"${spec.first}": a figure per row at least`);
  }
});

const NUMBER = /\d[\d,]*(?:\.\d+)?/g;

/** Checks one table of figures against its source; returns how many figures were checked. */
function checkTable(spec: TableCheck, table: MdTable, source: Source): number {
  let checked = 0;
  const columns = table.header.slice(1).map((h) => {
    const c = spec.columns.find((col) => col.header.test(h));
    assert.ok(c, `README table "${spec.first}": column "${h}" has no check in this test`);
    return { check: c, match: h.match(c.header)! };
  });
  for (const cells of table.rows) {
    const topology = spec.key(cells[0]!.replace(/\*/g, ''));
    columns.forEach(({ check, match }, i) => {
      if (!check.values) return;
      const cell = cells[i + 1] ?? '';
      const values = check.values(source, topology, match);
      const what = `README table "${spec.first}", ${cells[0]} × "${table.header[i + 1]}"`;
      if (cell === '–') {
        assert.ok(
          values.every((v) => v === undefined),
          `${what}: "–", but ${source.path} has ${values}`,
        );
        return;
      }
      const written = cell.match(NUMBER) ?? [];
      assert.equal(written.length, values.length, `${what}: "${cell}" should hold ${values.length} figures`);
      written.forEach((w, j) => {
        checkFigure(what, w, values[j], source);
        checked++;
      });
    });
  }
  return checked;
}

test('the README tables of figures match the run.json each cites, figure by figure', () => {
  const tables = tablesOf(README);
  for (const spec of TABLES) {
    const mine = tables.filter((t) => t.header[0] === spec.first);
    if (spec.optional && mine.length === 0) continue;
    assert.equal(mine.length, 1, `one README table starting "${spec.first}"`);
    const table = mine[0]!;
    const source = sourceAt(README, table.offset);
    const wants = spec.first.endsWith('nginx in front of the gateway') ? 'nginx-cost' : 'run';
    assert.ok(source?.kind === wants, `the table "${spec.first}" cites its published results before it`);
    const n = checkTable(spec, table, source);
    assert.ok(n >= table.rows.length * 3, `"${spec.first}": ${n} figures checked`);
  }
});

// ---- sentences ------------------------------------------------------------------------------

/** The README as running text: line breaks and emphasis gone, so a sentence is found across lines. */
const PROSE = README.replace(/\*\*/g, '').replace(/\s+/g, ' ');

interface Claim {
  /** The sentence as written, `{}` for each figure in it (`{i}`: a whole number, as in a version). */
  text: string;
  from: Source['kind'];
  values: (s: Source) => Array<number | undefined>;
  /** Per figure: round to a multiple of this instead of to the decimals written ("about 70%"). */
  steps?: Array<number | undefined>;
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a / b;
const pct = (a: number | undefined, b: number | undefined) => {
  const r = ratio(a, b);
  return r === undefined ? undefined : (r - 1) * 100;
};
const half = (s: Source, t: string) => cpu(s, t, 'fixed-rate', 'at_50pct');
/** A slow-client row's fraction of baseline; `suffix` names a lever or a spread attack (reliability/slow-clients.ts). */
const slow = (s: Source, topology: string, kind: string, n: number, suffix = '') =>
  s.kind === 'reliability'
    ? (s.results.steps['slow-clients']?.find((x) => x.topology === topology && x.case === `${kind} ×${n}${suffix}`)
        ?.figures.fraction as number | undefined)
    : undefined;
const slowPct = (s: Source, topology: string, kind: string, n: number, suffix = '') => {
  const f = slow(s, topology, kind, n, suffix);
  return f === undefined ? undefined : f * 100;
};
const LEVERS_OFF = ', levers off (before issue 18: refuse the newest, worker_connections 1000)';
const KINDS = ['slowloris', 'slowbody', 'slowread'];
/** The rows of reliability/websockets.ts, every topology. */
const ws = (s: Source) => (s.kind === 'reliability' ? (s.results.steps.websockets ?? []) : []);
/** The largest of a figure over rows (undefined when no row has it). */
const max = (rows: Array<{ figures: Record<string, unknown> }>, key: string) => {
  const v = rows.map((r) => r.figures[key]).filter((x): x is number => typeof x === 'number');
  return v.length ? Math.max(...v) : undefined;
};
/** The most slow clients of every kind at which each of the topologies kept its baseline throughput. */
const heldUpTo = (s: Source, topologies: string[]) =>
  Math.max(
    ...[100, 1000, 5000, 10000].filter((n) =>
      topologies.every((t) => KINDS.every((k) => Math.round((slow(s, t, k, n) ?? 0) * 100) === 100)),
    ),
  );

/** Bytes gzip saved on the 1 MiB file behind nginx: the static run's bytes of the large file, less the plain ones. */
function gzipSaving(s: Source): number | undefined {
  if (s.kind !== 'run') return undefined;
  const summary = JSON.parse(readFileSync(join(s.dir, 'static-full.json'), 'utf8')) as {
    metrics: Record<string, { values: Record<string, number> }>;
  };
  const bytes = summary.metrics['data_received{file:large}']?.values.count;
  const gz = summary.metrics['http_reqs{scenario:large_gzip}']?.values.count;
  const plain = summary.metrics['http_reqs{scenario:large_plain}']?.values.count;
  if (bytes === undefined || gz === undefined || plain === undefined) return undefined;
  const file = 2 ** 20; // 1m.txt
  return (1 - (bytes - plain * file) / (gz * file)) * 100;
}

const tlsRow = (s: Source, t: string, stepName: string) =>
  row(s, t, 'tls', (r) => (stepName === 'wrk' ? r.step.startsWith('wrk') : r.step === stepName));

const CLAIMS: Claim[] = [
  {
    text: 'Machine: {} cores (AMD EPYC), Node {i}.{i}.{i}, nginx {i}.{i}.{i}',
    from: 'run',
    values: (s) => {
      if (s.kind !== 'run') return [];
      const v = (text: string | undefined) => (text ?? '').replace(/^\D*/, '').split('.').map(Number);
      return [s.run.machine.cores, ...v(s.run.versions.node), ...v(s.run.versions.nginx)];
    },
  },
  {
    text: '{}× the capacity of nginx → gateway on the same core ({} vs {} req/s)',
    from: 'run',
    values: (s) => [ratio(knee(s, 'gateway'), knee(s, 'full')), knee(s, 'gateway'), knee(s, 'full')],
  },
  {
    text: '{} vs {} CPU s per 1,000 requests at the same {} req/s (nginx adds ~{}%)',
    from: 'run',
    values: (s) => [
      half(s, 'gateway'),
      half(s, 'full'),
      row(s, 'gateway', 'fixed-rate', step('at_50pct'))?.offered ?? undefined,
      pct(half(s, 'full'), half(s, 'gateway')),
    ],
  },
  {
    text: 'static files cost {}× more CPU from the app (1 KiB: {} vs {} CPU s / 1k)',
    from: 'run',
    values: (s) => {
      const [g, f] = [cpu(s, 'gateway', 'static', 'small_plain'), cpu(s, 'full', 'static', 'small_plain')];
      return [ratio(g, f), g, f];
    },
  },
  {
    text: '{}× more for 1 MiB files ({} vs {}; nginx uses sendfile), with a higher p99 (1 MiB: {} vs {} ms)',
    from: 'run',
    values: (s) => {
      const [g, f] = [cpu(s, 'gateway', 'static', 'large_plain'), cpu(s, 'full', 'static', 'large_plain')];
      const p99 = (t: string) => row(s, t, 'static', step('large_plain'))?.p99;
      return [ratio(g, f), g, f, p99('gateway'), p99('full')];
    },
  },
  {
    text:
      '1 MiB costs {} CPU s / 1k uncompressed from the app vs {} compressed by nginx, ' +
      'which spends that CPU to send ~{}% fewer bytes',
    from: 'run',
    values: (s) => [cpu(s, 'gateway', 'static', 'large_gzip'), cpu(s, 'full', 'static', 'large_gzip'), gzipSaving(s)],
    steps: [undefined, undefined, 10],
  },
  {
    text: 'nginx → gateway here ({} vs {} req/s, {}×; the same CPU per request, {} vs {})',
    from: 'run',
    values: (s) => [
      knee(s, 'proxy'),
      knee(s, 'full'),
      ratio(knee(s, 'proxy'), knee(s, 'full')),
      half(s, 'proxy'),
      half(s, 'full'),
    ],
  },
  {
    text: "pays nginx's ~{} CPU s per 1,000 dynamic requests",
    from: 'run',
    values: (s) => {
      const [f, g] = [half(s, 'full'), half(s, 'gateway')];
      return [f === undefined || g === undefined ? undefined : f - g];
    },
  },
  {
    text: 'Gunicorn alone serves {}× what nginx → gunicorn serves on one core ({} vs {}) and nginx adds {}% CPU per request ({} → {})',
    from: 'run',
    values: (s) => [
      ratio(knee(s, 'gunicorn'), knee(s, 'nginx-gunicorn')),
      knee(s, 'gunicorn'),
      knee(s, 'nginx-gunicorn'),
      pct(half(s, 'nginx-gunicorn'), half(s, 'gunicorn')),
      half(s, 'gunicorn'),
      half(s, 'nginx-gunicorn'),
    ],
  },
  {
    text: "The Node gateway does {}× gunicorn's throughput alone and {}× behind nginx",
    from: 'run',
    values: (s) => [ratio(knee(s, 'gateway'), knee(s, 'gunicorn')), ratio(knee(s, 'full'), knee(s, 'nginx-gunicorn'))],
  },
  {
    text: 'at {} req/s offered ({}% of its wrk capacity) gunicorn alone dropped {} of ~{} requests with p99 {} ms',
    from: 'run',
    values: (s) => {
      const r = row(s, 'gunicorn', 'fixed-rate', step('at_80pct'));
      const k = knee(s, 'gunicorn');
      return [
        r?.offered ?? undefined,
        r?.offered && k ? (r.offered / k) * 100 : undefined,
        r?.dropped,
        r ? r.requests + r.dropped : undefined,
        r?.p99,
      ];
    },
    steps: [undefined, undefined, undefined, 1000, undefined],
  },
  {
    text: 'TLS costs the gateway {}% of its plain-HTTP capacity; the extra nginx hop costs about {}%',
    from: 'run',
    values: (s) => {
      const [gt, g, ft] = [
        tlsRow(s, 'gateway-tls', 'wrk')?.rps,
        tlsRow(s, 'gateway', 'wrk')?.rps,
        tlsRow(s, 'full-tls', 'wrk')?.rps,
      ];
      return [gt && g ? (1 - gt / g) * 100 : undefined, ft && gt ? (1 - ft / gt) * 100 : undefined];
    },
    steps: [undefined, 10],
  },
  {
    text: 'the gateway terminating TLS itself serves {}× what nginx (TLS) → gateway does',
    from: 'run',
    values: (s) => [ratio(tlsRow(s, 'gateway-tls', 'wrk')?.rps, tlsRow(s, 'full-tls', 'wrk')?.rps)],
  },
  {
    text: "the gateway used {}× nginx's CPU ({} vs {} CPU s per 1,000)",
    from: 'run',
    values: (s) => {
      const [g, n] = [tlsRow(s, 'gateway-tls', 'churn')?.cpuPer1k, tlsRow(s, 'full-tls', 'churn')?.cpuPer1k];
      return [ratio(g ?? undefined, n ?? undefined), g ?? undefined, n ?? undefined];
    },
  },
  {
    text:
      'With its defaults it kept {}% and {}% of its baseline throughput against 10,000 slowloris and 10,000 ' +
      'slow-body connections from one address, {}% and {}% from 2,500 addresses',
    from: 'reliability',
    values: (s) => [
      slowPct(s, 'gateway', 'slowloris', 10000),
      slowPct(s, 'gateway', 'slowbody', 10000),
      slowPct(s, 'gateway', 'slowloris', 10000, ' from 2500 addresses'),
      slowPct(s, 'gateway', 'slowbody', 10000, ' from 2500 addresses'),
    ],
  },
  {
    text: "Node's refuse-the-newest at 2 × 1,000, the gateway before, kept {}% and {}% at 5,000",
    from: 'reliability',
    values: (s) => [
      slowPct(s, 'gateway', 'slowloris', 5000, LEVERS_OFF),
      slowPct(s, 'gateway', 'slowbody', 5000, LEVERS_OFF),
    ],
  },
  {
    text: 'nginx in front kept {}% and {}% against slowloris and slow body and {}% against slow readers',
    from: 'reliability',
    values: (s) => [
      slowPct(s, 'proxy', 'slowloris', 10000),
      slowPct(s, 'proxy', 'slowbody', 10000),
      slowPct(s, 'proxy', 'slowread', 10000),
    ],
  },
  {
    text: '10,000 slow readers of a 4 MB file from one address left normal clients {}% ({}% with `--max-in-flight-per-client 0`',
    from: 'reliability',
    values: (s) => [
      slowPct(s, 'gateway', 'slowread', 10000),
      slowPct(s, 'gateway', 'slowread', 10000, ', tcp_notsent_lowat 16384, max_in_flight_per_client 0'),
    ],
  },
  {
    text: 'and `tcp_notsent_lowat`, {}% without: the workers were serving 10,000 file requests at once',
    from: 'reliability',
    values: (s) => [slowPct(s, 'gateway', 'slowread', 10000, ', max_in_flight_per_client 0')],
  },
  {
    text: 'From 2,500 addresses, each within its share, they take it to {}% with the host',
    from: 'reliability',
    values: (s) => [slowPct(s, 'gateway', 'slowread', 10000, ' from 2500 addresses')],
  },
  {
    text: 'with it normal clients kept {}% against 10,000 slow readers from 2,500 addresses and {}% from one',
    from: 'reliability',
    values: (s) => [
      slowPct(s, 'gateway', 'slowread', 10000, ' from 2500 addresses, tcp_notsent_lowat 16384'),
      slowPct(s, 'gateway', 'slowread', 10000, ', tcp_notsent_lowat 16384'),
    ],
  },
  {
    text: 'nginx in front absorbs {} of each without a dent',
    from: 'reliability',
    values: (s) => [heldUpTo(s, ['proxy', 'full'])],
  },
  {
    text: "an `Upgrade:` on an ordinary route cost {} of {} other clients' POSTs in every topology",
    from: 'reliability',
    values: (s) => {
      const rows = ws(s).filter((r) => r.case.startsWith('Upgrade: '));
      return [max(rows, 'victimFailures'), max(rows, 'victims')];
    },
  },
  {
    text: '{} idle WebSockets are the most the gateway alone holds ({} per worker',
    from: 'reliability',
    values: (s) => {
      const idle = ws(s).find((r) => r.topology === 'gateway' && r.case.includes('idle WebSockets'));
      const open = (idle?.figures.status as Record<string, number> | undefined)?.['101'];
      return [open, open === undefined ? undefined : open / 2];
    },
  },
  {
    text: 'and {} opened cost {} of {} ordinary requests',
    from: 'reliability',
    values: (s) => {
      const rows = ws(s).filter((r) => r.case.includes('idle WebSockets'));
      const opened = Math.min(
        ...rows.map((r) => Object.values(r.figures.status as Record<string, number>).reduce((a, b) => a + b, 0)),
      );
      return [opened, max(rows, 'failed'), max(rows, 'requests')];
    },
  },
  {
    text: 'stops being read after at most {} MiB, the serving processes growing at most {} MB',
    from: 'reliability',
    values: (s) => {
      const rows = ws(s).filter((r) => r.case.startsWith('WebSocket client sending'));
      return [max(rows, 'sent'), max(rows, 'rssGrowthMb')];
    },
  },
  {
    text: 'fall to {}% at {} slowloris connections',
    from: 'reliability',
    values: (s) => {
      const f = slow(s, 'gunicorn', 'slowloris', 100);
      return [f === undefined ? undefined : f * 100, 100];
    },
  },
  {
    text: 'Over HTTP/2 the gateway served {}× its HTTP/1.1 requests per second at {}× the CPU per request',
    from: 'run',
    values: (s) => {
      const q = s.kind === 'run' ? h2OverH1(s.run.rows, 'gateway-tls') : undefined;
      return [q?.rps ?? undefined, q?.cpu ?? undefined];
    },
  },
  {
    text: "nginx's h2, at 200 requests in flight, cost it {}× its own HTTP/1.1 CPU per request",
    from: 'run',
    values: (s) => [s.kind === 'run' ? (h2OverH1(s.run.rows, 'full-tls').cpu ?? undefined) : undefined],
  },
  {
    text: 'the gateway alone served {}× the requests per second at {}× the CPU per request ({} vs {} CPU s / 1k)',
    from: 'run',
    values: (s) => {
      const b = s.kind === 'run' ? h2Between(s.run.rows, 'gateway-tls', 'full-tls', 'h2') : undefined;
      return [b?.rps ?? undefined, b?.cpu ?? undefined, b?.a.cpuPer1k ?? undefined, b?.b.cpuPer1k ?? undefined];
    },
  },
  {
    text:
      'scripts/rollout replaced the backend with {} failed of {} requests in full and {} of {} in proxy ' +
      '(Compose v2; with docker-compose 1.29: {} of {} and {} of {}), where compose recreating it failed ' +
      '{} of {} and {} of {}',
    from: 'reliability',
    values: (s) => {
      const r = (topology: string, way: string, cli: string) => rollout(s, topology, way, cli);
      const v2 = 'docker compose';
      const v1 = 'docker-compose';
      return [
        ...r('full', 'scripts/rollout', v2),
        ...r('proxy', 'scripts/rollout', v2),
        ...r('full', 'scripts/rollout', v1),
        ...r('proxy', 'scripts/rollout', v1),
        ...r('full', 'up --force-recreate', v2),
        ...r('proxy', 'up --force-recreate', v2),
      ];
    },
  },
  {
    text: "the shipped config served {}× the minimal proxy's requests per second at {}× its CPU per request",
    from: 'nginx-cost',
    values: (s) => {
      const [shipped, minimal] = [costVariant(s, 'shipped'), costVariant(s, 'minimal')];
      return [ratio(shipped?.rps, minimal?.rps), ratio(shipped?.cpuPer1k, minimal?.cpuPer1k)];
    },
  },
  {
    text: 'is not met: {}× over TCP, {}× over the socket',
    from: 'run',
    values: (s) => [
      ratio(capacityRow(s, 'full')?.rps, capacityRow(s, 'minimal')?.rps),
      ratio(capacityRow(s, 'full-uds')?.rps, capacityRow(s, 'minimal-uds')?.rps),
    ],
  },
];

/** A figure of server/bench/static.ts's run: tree, topology, variant, figure. */
const staticFigure = (
  s: Source,
  tree: 'before' | 'after',
  t: string,
  v: string,
  key: 'cpuPer1k' | 'bytesPerRequest',
) => (s.kind === 'static' ? s.bench.figures[tree][t]?.[v]?.[key] : undefined);
/** nginx's 1 MiB rows with gzip asked for (alone, or among a browser's encodings), both nginx topologies. */
const nginxLargeGzip = (s: Source, tree: 'before' | 'after') =>
  ['proxy', 'full'].flatMap((t) =>
    ['large_gzip', 'large_br'].map((v) => staticFigure(s, tree, t, v, 'cpuPer1k') ?? NaN),
  );

CLAIMS.push(
  {
    text:
      'the 1 MiB text file with gzip asked for cost it {}–{} CPU s per 1,000 requests at level 5 and now costs {}–{}, ' +
      'what sending the file costs, and it sends {} KiB instead of {}',
    from: 'static',
    values: (s) => [
      Math.min(...nginxLargeGzip(s, 'before')),
      Math.max(...nginxLargeGzip(s, 'before')),
      Math.min(...nginxLargeGzip(s, 'after')),
      Math.max(...nginxLargeGzip(s, 'after')),
      (staticFigure(s, 'after', 'full', 'large_gzip', 'bytesPerRequest') ?? NaN) / 1024,
      (staticFigure(s, 'before', 'full', 'large_gzip', 'bytesPerRequest') ?? NaN) / 1024,
    ],
  },
  {
    text: 'now sends {} KiB of gzip or {} KiB of brotli for {} and {} CPU s / 1k instead of {} and {}',
    from: 'static',
    values: (s) => [
      (staticFigure(s, 'after', 'gateway', 'large_gzip', 'bytesPerRequest') ?? NaN) / 1024,
      (staticFigure(s, 'after', 'gateway', 'large_br', 'bytesPerRequest') ?? NaN) / 1024,
      staticFigure(s, 'after', 'gateway', 'large_gzip', 'cpuPer1k'),
      staticFigure(s, 'after', 'gateway', 'large_br', 'cpuPer1k'),
      staticFigure(s, 'before', 'gateway', 'large_gzip', 'cpuPer1k'),
      staticFigure(s, 'before', 'gateway', 'large_br', 'cpuPer1k'),
    ],
  },
);

/** Failed and requests of a rollout row (reliability/faults/compose-rollout.ts). */
function rollout(s: Source, topology: string, way: string, cli: string): Array<number | undefined> {
  if (s.kind !== 'reliability') return [undefined, undefined];
  const row = s.results.steps.rollout?.find(
    (x) => x.topology === topology && x.figures.way === way && x.figures.cli === cli,
  );
  return [row?.figures.failed as number | undefined, row?.figures.requests as number | undefined];
}

/** The claim's sentence as a pattern: its text literally, each `{}` a number, each `{i}` a whole one. */
const claimPattern = (text: string) =>
  new RegExp(
    text
      .replace(/[.*+?^$()[\]|\\]/g, '\\$&')
      .replace(/\{\}/g, '(\\d[\\d,]*(?:\\.\\d+)?)')
      .replace(/\{i\}/g, '(\\d+)'),
    'g',
  );

test('every figure in the README sentences matches the results the passage cites', () => {
  for (const claim of CLAIMS) {
    const found = [...PROSE.matchAll(claimPattern(claim.text))];
    assert.equal(found.length, 1, `README should say, once: "${claim.text}" (found ${found.length})`);
    const m = found[0]!;
    const source = sourceAt(PROSE, m.index);
    assert.equal(source?.kind, claim.from, `"${claim.text}" follows a link to its results`);
    const values = claim.values(source!);
    assert.equal(values.length, m.length - 1, `"${claim.text}": one value per figure`);
    for (const [i, v] of values.entries())
      checkFigure(`README "${claim.text}", figure ${i + 1}`, m[i + 1]!, v, source!, claim.steps?.[i]);
  }
});

test('the qualitative claims next to them hold too', () => {
  const rel = sourceAt(PROSE, PROSE.indexOf('the gateway alone survives every fault'));
  assert.equal(rel?.kind, 'reliability');
  if (rel?.kind !== 'reliability') return;
  const faults = ['sigkill', 'hung', 'reload', 'sigterm'].flatMap((k) => rel.results.steps[k] ?? []);
  assert.ok(faults.length >= 4 && faults.every((f) => f.pass), '"the gateway alone survives every fault"');
  const compose = rel.results.steps.compose ?? [];
  assert.ok(
    compose.length > 0 && compose.every((c) => c.figures.nginxUntouched === true && c.figures.lastOk === true),
    '"In every compose restart or recreate nginx found the new backend by itself, without being restarted"',
  );
  const run = sourceAt(PROSE, PROSE.indexOf('while every Node topology and nginx → gunicorn held that rate'));
  assert.equal(run?.kind, 'run');
  for (const t of ['gateway', 'proxy', 'full', 'nginx-gunicorn']) {
    const r = row(run!, t, 'fixed-rate', step('at_80pct'));
    assert.ok(r && r.failed + r.dropped === 0, `${t} held 2,000 req/s without errors`);
  }
});

// ---- the static files before and after precompression (server/bench/static.ts) ---------------

/** The request column of the README's table → the bench's variant. */
const STATIC_REQUESTS: Record<string, string> = {
  '1 KiB, `gzip`': 'small_gzip',
  '1 KiB, `identity`': 'small_plain',
  '1 MiB, `gzip`': 'large_gzip',
  '1 MiB, `identity`': 'large_plain',
  "1 MiB, a browser's `gzip, deflate, br`": 'large_br',
};

test('the README table of static files before and after precompression matches static.json, figure by figure', () => {
  const tables = tablesOf(README).filter((t) => t.header[0] === 'static files: topology');
  assert.equal(tables.length, 1, 'one README table starting "static files: topology"');
  const table = tables[0]!;
  const source = sourceAt(README, table.offset);
  assert.ok(source?.kind === 'static', 'the static table cites loadtest/results/published/static/ before it');
  assert.deepEqual(table.header.slice(1), [
    'request, Accept-Encoding',
    'CPU s / 1k req, before → after',
    'KiB received / req, before → after',
    'Content-Encoding, before → after',
  ]);
  const { figures }: StaticBench = source.bench;
  const seen = new Set<string>();
  for (const cells of table.rows) {
    const [topology, request, cpuCell, kibCell, encodingCell] = cells.map((c) => c.replace(/\*/g, ''));
    const variant = STATIC_REQUESTS[request ?? ''];
    assert.ok(variant, `static table: no variant for "${request}"`);
    const b = figures.before[topology!]?.[variant];
    const a = figures.after[topology!]?.[variant];
    const what = `README static table, ${topology} × ${request}`;
    assert.ok(b && a, `${what}: ${source.path} has no such figures`);
    const pair = (cell: string | undefined, values: number[], scale = 1) => {
      const written = cell?.match(NUMBER) ?? [];
      assert.equal(written.length, 2, `${what}: "${cell}" should hold before → after`);
      for (const [i, w] of written.entries()) checkFigure(what, w, values[i]! / scale, source);
    };
    pair(cpuCell, [b.cpuPer1k, a.cpuPer1k]);
    pair(kibCell, [b.bytesPerRequest, a.bytesPerRequest], 1024);
    assert.equal(encodingCell, `${b.encoding} → ${a.encoding}`, `${what}: the encodings sent`);
    seen.add(`${topology} ${variant}`);
  }
  // Every topology measured, every variant: the table leaves none out.
  for (const t of Object.keys(figures.after))
    for (const v of Object.values(STATIC_REQUESTS))
      assert.ok(seen.has(`${t} ${v}`), `static table: no row for ${t} ${v}`);
});

test('the checker catches a figure edited by hand', () => {
  const tables = tablesOf(README.replace('**31,865**', '**31,866**'));
  const table = tables.find((t) => t.header[0] === 'topology')!;
  assert.throws(() => checkTable(TABLES[0]!, table, sourceAt(README, table.offset)!), /31,866.*31865/s);
  const edited = PROSE.replace('3.5× the capacity', '3.6× the capacity');
  assert.equal([...edited.matchAll(claimPattern(CLAIMS[1]!.text))][0]?.[1], '3.6');
  assert.throws(
    () => checkFigure('x', '3.6', ratio(31_865, 9039), sourceAt(README, table.offset)!),
    /README says 3\.6.*3\.5 as written/,
  );
});

// ---- worker balance (loadtest/compare/balance.ts) --------------------------------------------

const BALANCE_MODES: Record<string, 'off' | 'on'> = { 'shared socket': 'off', 'reuse-port': 'on' };

test('the README worker-balance tables match the published balance.json (medians over rounds)', () => {
  const tables = tablesOf(README);
  const spread = tables.filter((t) => t.header[0] === 'workers, connections');
  assert.equal(spread.length, 1, 'one README table starting "workers, connections"');
  const table = spread[0]!;
  const source = sourceAt(README, table.offset);
  assert.ok(source?.kind === 'balance', 'the balance table cites loadtest/results/published/balance/ before it');
  const rows = medians(source.balance);
  assert.deepEqual(table.header.slice(1), [
    'socket',
    'req/s',
    'p99 ms',
    "busiest worker's requests ÷ fair share",
    "busiest worker's connections ÷ fair share",
  ]);
  let checked = 0;
  for (const cells of table.rows) {
    const [w, c] = cells[0]!.split(',').map((x) => Number(x.trim()));
    const mode = BALANCE_MODES[cells[1]!];
    const r = rows.find((x) => x.workers === w && x.connections === c && x.mode === mode);
    const what = `README balance table, ${cells[0]} ${cells[1]}`;
    assert.ok(r, `${what}: no such cell in ${source.path}`);
    [r.rps, r.p99Ms, r.maxShare, r.maxConnShare].forEach((v, i) => {
      checkFigure(`${what} × "${table.header[i + 2]}"`, cells[i + 2]!.replace(/\*/g, ''), v, source);
      checked++;
    });
  }
  assert.equal(checked, rows.length * 4, 'every cell of the run is in the table');

  const stops = tables.filter((t) => t.header[0] === 'socket, during HUP reloads');
  assert.equal(stops.length, 1, 'one README table starting "socket, during HUP reloads"');
  const st = stops[0]!;
  const stopSource = sourceAt(README, st.offset);
  assert.ok(stopSource?.kind === 'balance' && Array.isArray(stopSource.balance.stops));
  const cases = stopSource.balance.stops as Exclude<BalanceRun['stops'], { skipped: string }>;
  assert.deepEqual(st.header.slice(1), ['tcp_migrate_req', 'reloads', 'requests', 'connections reset or refused']);
  assert.equal(st.rows.length, cases.length);
  for (const cells of st.rows) {
    const k = cases.find((x) => x.mode === BALANCE_MODES[cells[0]!] && x.migrate === Number(cells[1]));
    assert.ok(k, `README stop table, ${cells[0]} ${cells[1]}: no such case`);
    [k.reloads, k.requests, k.errors].forEach((v, i) => {
      checkFigure(`README stop table, ${cells[0]} ${cells[1]}`, cells[i + 2]!, v, stopSource);
    });
  }
});
