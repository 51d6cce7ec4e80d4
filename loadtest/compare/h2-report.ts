// The report's HTTP/2 part (the h2 scenario, h2.ts): its table, its findings as ratios, its
// throughput chart, and the line the TLS section carries about it. Pure functions of the rows,
// as the rest of the report; report.ts puts them in place.
import type { Row } from './rows.ts';
import { barChart, fmt } from './svg.ts';
import { type Column, cpuCell, errorsCell, markdownTable, ms, tlsAt } from './tables.ts';

export const H2_TITLE = 'HTTP/2: h2 vs HTTP/1.1 over TLS, at the gateway and at nginx';

/** How to run it, for a report that has no h2 rows. */
export const H2_COMMAND = 'npm run compare -- --topologies gateway-tls,full-tls --scenarios h2';

const ofH2 = (rows: Row[]) => rows.filter((r) => r.scenario === 'h2');
const h2Row = (rows: Row[], topology: string, protocol: string) =>
  rows.find((r) => r.scenario === 'h2' && r.topology === topology && r.step === protocol);

/** The TLS section's line about HTTP/2: where its figures are in this report, or how to get them. */
export function h2Pointer(rows: Row[]): string {
  const here = ofH2(rows).length > 0;
  return (
    'Every TLS hop in this section is HTTP/1.1. ' +
    (here
      ? `HTTP/2 has its own section below (${H2_TITLE}; the h2 scenario, h2load).`
      : 'HTTP/2 (the gateway with ALPN h2 vs HTTP/1.1, and vs nginx terminating h2 in front of it) is the h2 ' +
        `scenario, not in the default run: \`${H2_COMMAND}\` (h2load, from Debian's nghttp2-client).`)
  );
}

const METHOD =
  "h2load (Debian's nghttp2-client), one thread on the load core, GET / over TLS 1.3 with ALPN: `h2` " +
  '(several streams at once on each connection) or `--h1` (HTTP/1.1, one request at a time a connection), ' +
  'the same connections and URL. nginx terminates h2 in full-tls (`listen 8443 ssl http2`, the form nginx 1.22 ' +
  'knows) and speaks HTTP/1.1 to the gateway behind it. `h2` keeps 10 streams a connection busy (as a browser ' +
  'does), `h2-1` one (as many requests in flight as HTTP/1.1: what h2 itself costs, apart from the concurrency ' +
  'it allows). Each round is one window of each in a shuffled ' +
  "order, a fixed number of requests a connection (under nginx's 1,000 a connection); req/s and CPU per 1,000 " +
  'requests are medians over the rounds (CPU: every serving process, nginx included, in each window), p50/p99 ' +
  'over every request of the rounds. Closed model: h2load sends the next request when one is answered, so the ' +
  'latency follows the requests in flight (more on h2), and req/s is bounded by h2load on its one core as much ' +
  'as by the server: read the CPU per request first, and the ratios of rounds (two windows seconds apart) over ' +
  'the ratios of topologies (measured one after the other).';

const PROTOCOL: Record<string, string> = { h2: 'h2', 'h2-1': 'h2, 1 stream a connection', 'http/1.1': 'HTTP/1.1' };

const COLUMNS: Array<Column<Row>> = [
  { header: 'topology', cell: (r) => r.topology },
  { header: 'TLS and h2 at', cell: (r) => tlsAt(r.topology) },
  { header: 'protocol', cell: (r) => PROTOCOL[r.step] ?? r.step },
  { header: 'in flight', right: true, cell: (r) => (r.inFlight === undefined ? '–' : String(r.inFlight)) },
  { header: 'rounds', right: true, cell: (r) => String(r.rounds?.length ?? '–') },
  { header: 'req/s (median)', right: true, cell: (r) => fmt(r.rps) },
  { header: 'p50 ms', right: true, cell: (r) => ms(r.p50) },
  { header: 'p99 ms', right: true, cell: (r) => ms(r.p99) },
  { header: 'errors', right: true, cell: errorsCell },
  { header: 'CPU s / 1k req (median)', right: true, cell: (r) => cpuCell(r.cpuPer1k) },
];

/** The h2 table: topology × protocol. */
export function h2Table(rows: Row[]): string {
  return markdownTable(COLUMNS, ofH2(rows));
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * A variant of h2 (`h2`, or `h2-1`) over HTTP/1.1 on one topology: the medians of each round's ratio (req/s, CPU per
 * request); null when not both.
 */
export function h2OverH1(
  rows: Row[],
  topology: string,
  step = 'h2',
): { rps: number | null; cpu: number | null; rounds: number } {
  const a = h2Row(rows, topology, step)?.rounds ?? [];
  const b = h2Row(rows, topology, 'http/1.1')?.rounds ?? [];
  const rps: number[] = [];
  const cpu: number[] = [];
  for (const x of a) {
    const y = b.find((r) => r.round === x.round);
    if (!y) continue;
    rps.push(x.rps / y.rps);
    if (x.cpuPer1k !== null && y.cpuPer1k !== null && y.cpuPer1k > 0) cpu.push(x.cpuPer1k / y.cpuPer1k);
  }
  return { rps: median(rps), cpu: median(cpu), rounds: rps.length };
}

/** One topology against another on a protocol: the ratios of their rows (medians), a / b. */
export function h2Between(rows: Row[], a: string, b: string, protocol: string) {
  const x = h2Row(rows, a, protocol);
  const y = h2Row(rows, b, protocol);
  if (!x || !y) return undefined;
  const r = (p: number | null, q: number | null) => (p === null || q === null || q === 0 ? null : p / q);
  return { a: x, b: y, rps: r(x.rps, y.rps), cpu: r(x.cpuPer1k, y.cpuPer1k) };
}

const times = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}×`);

/** The HTTP/2 verdict in figures: h2 / HTTP/1.1 on each topology, then the gateway's h2 / nginx's h2. */
export function h2Findings(rows: Row[]): string[] {
  const lines: string[] = [];
  for (const t of [...new Set(ofH2(rows).map((r) => r.topology))]) {
    const q = h2OverH1(rows, t);
    if (q.rounds === 0) continue;
    const one = h2OverH1(rows, t, 'h2-1');
    lines.push(
      `**h2 / HTTP/1.1, ${t} (h2 at ${tlsAt(t)})**: ${times(q.rps)} the req/s at ${times(q.cpu)} the CPU per ` +
        `request (medians of ${q.rounds} paired rounds)` +
        (one.rounds
          ? `; with one stream a connection (HTTP/1.1's concurrency) ${times(one.rps)} the req/s at ` +
            `${times(one.cpu)} the CPU per request.`
          : '.'),
    );
  }
  for (const nginx of ['full-tls', 'proxy-tls']) {
    const h2 = h2Between(rows, 'gateway-tls', nginx, 'h2');
    if (!h2) continue;
    const h1 = h2Between(rows, 'gateway-tls', nginx, 'http/1.1');
    const one = h2Between(rows, 'gateway-tls', nginx, 'h2-1');
    const more = [
      ...(one
        ? [`h2 with one stream a connection ${times(one.rps)} the req/s, ${times(one.cpu)} the CPU per request`]
        : []),
      ...(h1 ? [`HTTP/1.1 ${times(h1.rps)} the req/s, ${times(h1.cpu)} the CPU per request`] : []),
    ];
    lines.push(
      `**The gateway's h2 / nginx's h2 in front of it (gateway-tls / ${nginx})**: ${times(h2.rps)} the req/s ` +
        `(${fmt(h2.a.rps)} vs ${fmt(h2.b.rps)}), ${times(h2.cpu)} the CPU per request ` +
        `(${cpuCell(h2.a.cpuPer1k)} vs ${cpuCell(h2.b.cpuPer1k)} s / 1k, nginx's CPU counted in its topology), ` +
        `p50 ${ms(h2.a.p50)} vs ${ms(h2.b.p50)} ms, p99 ${ms(h2.a.p99)} vs ${ms(h2.b.p99)} ms` +
        (more.length ? `; ${more.join('; ')}.` : '.'),
    );
  }
  return lines;
}

/** Median req/s of each protocol and topology. */
export function h2RpsChart(rows: Row[]): string {
  const mine = ofH2(rows);
  const topologies = [...new Set(mine.map((r) => r.topology))];
  const protocols = [...new Set(mine.map((r) => r.step))];
  return barChart({
    title: 'h2: requests per second (median of the rounds)',
    subtitle: H2_TITLE,
    unit: 'req/s',
    groups: protocols,
    series: topologies.map((t) => ({ name: t, values: protocols.map((p) => h2Row(rows, t, p)?.rps ?? null) })),
  });
}

/** The section: method, table, findings, charts. */
export function h2Section(rows: Row[]): string[] {
  const findings = h2Findings(rows);
  return [
    ...[`## ${H2_TITLE}`, '', METHOD, '', h2Table(rows), ''],
    ...(findings.length ? [...findings.map((l) => `- ${l}`), ''] : []),
    ...['![h2 throughput](h2-rps.svg)', '![h2 CPU](h2-cpu.svg)', '![h2 p99](h2-p99.svg)', ''],
  ];
}
