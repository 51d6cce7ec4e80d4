// The report's findings: what each single-component topology gives up against
// its two-component counterpart, and where TLS is cheaper, written as figures
// and ratios. Each comparison is a line of a table, not a block of code.
import type { Row } from './rows.ts';
import { fmt } from './svg.ts';
import { cpuCell, find, ms, ratio, type TopologyInfo } from './tables.ts';

interface RunFigures {
  topologies: TopologyInfo[];
  rows: Row[];
}

/** Two topologies compared on capacity and CPU per request at 50% of the knee. */
interface Pair {
  single: string;
  both: string;
  label: string;
  cpuLabel: string;
  /** More figures for this pair, after the CPU one. */
  more?: (cpu: CpuOf) => string;
}
type CpuOf = (topology: string, scenario: string, step: string) => number | null;

/** gateway vs full on static files: where nginx's sendfile and gzip show. */
function staticFiles(cpu: CpuOf): string {
  const cell = (t: string, step: string) => cpuCell(cpu(t, 'static', step));
  const vs = (step: string) => `${cell('gateway', step)} vs ${cell('full', step)}`;
  const r = (step: string) => ratio(cpu('gateway', 'static', step), cpu('full', 'static', step));
  return (
    `static files, CPU s per 1k: 1 KiB ${vs('small_plain')} (${r('small_plain')}), ` +
    `1 MiB ${vs('large_plain')} (${r('large_plain')}); ` +
    `1 MiB with gzip asked for ${vs('large_gzip')} ` +
    // Both send the .gz the app's build made (app/scripts/precompress.mjs): nothing is compressed per request.
    '(both send the file precompressed at build time: gzip_static in nginx, preCompressed in the app)'
  );
}

const PAIRS: Pair[] = [
  {
    single: 'gateway',
    both: 'full',
    label: 'gateway alone vs nginx → gateway',
    cpuLabel: 'CPU per 1k requests at 50%',
    more: staticFiles,
  },
  {
    single: 'proxy',
    both: 'full',
    label: "nginx → app's own server vs nginx → gateway",
    cpuLabel: 'CPU per 1k at 50%',
  },
  {
    single: 'gunicorn',
    both: 'nginx-gunicorn',
    label: 'Python: gunicorn alone vs nginx → gunicorn',
    cpuLabel: 'CPU per 1k at 50%',
  },
];

function pairLine(p: Pair, knee: (n: string) => number | null, cpu: CpuOf): string | undefined {
  const a = knee(p.single);
  const b = knee(p.both);
  if (a === null || b === null) return undefined;
  const half = (t: string) => cpuCell(cpu(t, 'fixed-rate', 'at_50pct'));
  const parts = [
    `capacity ${fmt(a)} vs ${fmt(b)} req/s (${ratio(a, b)})`,
    `${p.cpuLabel} ${half(p.single)} vs ${half(p.both)} s`,
    ...(p.more ? [p.more(cpu)] : []),
  ];
  return `**${p.label}**: ${parts.join('; ')}.`;
}

/** The Node gateway against gunicorn, alone and behind nginx. */
function languageLine(knee: (n: string) => number | null): string | undefined {
  const [gw, gu, full, ngu] = [knee('gateway'), knee('gunicorn'), knee('full'), knee('nginx-gunicorn')];
  if (gw === null || gu === null) return undefined;
  const behind =
    full !== null && ngu !== null ? `; behind nginx ${fmt(full)} vs ${fmt(ngu)} (${ratio(full, ngu)}).` : '.';
  return `**TypeScript vs Python, same shape**: gateway ${fmt(gw)} vs gunicorn ${fmt(gu)} req/s alone (${ratio(gw, gu)})${behind}`;
}

/** What each single-component topology gives up against its two-component counterpart, in figures. */
export function findings(info: RunFigures): string[] {
  const knee = (n: string) => info.topologies.find((t) => t.name === n && !t.skipped)?.knee ?? null;
  const cpu: CpuOf = (n, sc, st) => find(info.rows, n, sc, st)?.cpuPer1k ?? null;
  const lines = [...PAIRS.map((p) => pairLine(p, knee, cpu)), languageLine(knee)];
  return lines.filter((l): l is string => l !== undefined);
}

// ---- TLS ---------------------------------------------------------------------------------

type TlsStep = 'capacity' | 'keepalive' | 'churn';

/** The tls row of a topology and step; 'capacity' is the wrk step, whatever its connection count. */
function tlsRow(rows: Row[], topology: string, step: TlsStep): Row | undefined {
  return rows.find(
    (x) =>
      x.topology === topology &&
      x.scenario === 'tls' &&
      (step === 'capacity' ? x.step.startsWith('wrk') : x.step === step),
  );
}

const ranTls = (rows: Row[], topology: string) => rows.some((x) => x.topology === topology && x.scenario === 'tls');

const RATE_STEPS = [
  ['keepalive', 'kept-alive'],
  ['churn', 'a new TLS connection per request'],
] as const;

/** TLS at the gateway against TLS at one nginx topology, step by step. */
function gatewayVsNginx(rows: Row[], nginx: string): string | undefined {
  if (!ranTls(rows, 'gateway-tls') || !ranTls(rows, nginx)) return undefined;
  const parts: string[] = [];
  const [gc, nc] = [tlsRow(rows, 'gateway-tls', 'capacity'), tlsRow(rows, nginx, 'capacity')];
  if (gc && nc)
    parts.push(`capacity (kept-alive, wrk) ${fmt(gc.rps)} vs ${fmt(nc.rps)} req/s (${ratio(gc.rps, nc.rps)})`);
  for (const [step, label] of RATE_STEPS) {
    const g = tlsRow(rows, 'gateway-tls', step);
    const n = tlsRow(rows, nginx, step);
    if (!g || !n) continue;
    const cpu = `CPU ${cpuCell(g.cpuPer1k)} vs ${cpuCell(n.cpuPer1k)} s per 1k (${ratio(g.cpuPer1k, n.cpuPer1k)})`;
    const p99 = `p99 ${ms(g.p99)} vs ${ms(n.p99)} ms (${ratio(g.p99, n.p99)})`;
    parts.push(`${label} at ${g.offered === null ? '?' : fmt(g.offered)} req/s: ${cpu}, ${p99}`);
  }
  if (!parts.length) return undefined;
  return `**TLS at the gateway vs TLS at nginx (gateway-tls vs ${nginx}, ratio gateway / nginx)**: ${parts.join('; ')}.`;
}

const TLS_TWINS = [
  ['gateway-tls', 'gateway'],
  ['full-tls', 'full'],
  ['proxy-tls', 'proxy'],
] as const;

/** What TLS itself costs one shape: its TLS row against its plain twin. */
function tlsOnVsOff(rows: Row[], tls: string, plain: string): string | undefined {
  const parts: string[] = [];
  for (const step of ['capacity', 'keepalive', 'churn'] as const) {
    const a = tlsRow(rows, tls, step);
    const b = tlsRow(rows, plain, step);
    if (!a || !b) continue;
    parts.push(
      step === 'capacity' ? `capacity ${ratio(a.rps, b.rps)}` : `${step} CPU per 1k ${ratio(a.cpuPer1k, b.cpuPer1k)}`,
    );
  }
  return parts.length ? `**TLS on vs off, ${tls} / ${plain}**: ${parts.join(', ')}.` : undefined;
}

/**
 * The TLS verdict in figures: TLS at the gateway (gateway-tls) against TLS at
 * nginx (full-tls, and proxy-tls when measured), kept-alive and one new TLS
 * connection per request, as ratios gateway / nginx (below 1: the gateway is
 * cheaper or faster); then what TLS costs each shape against its plain twin.
 */
export function tlsFindings(rows: Row[]): string[] {
  const lines = [
    ...['full-tls', 'proxy-tls'].map((nginx) => gatewayVsNginx(rows, nginx)),
    ...TLS_TWINS.map(([tls, plain]) => tlsOnVsOff(rows, tls, plain)),
  ];
  return lines.filter((l): l is string => l !== undefined);
}
