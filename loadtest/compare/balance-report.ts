// The balance run's figures (balance.ts): what balance.json holds, the ratios to fair share and
// the medians over rounds, and balance.md. The README's "Worker balance" table is checked against
// summarize()/medians() of the published balance.json (test/readme-figures.test.ts).

export interface Cell {
  workers: number;
  connections: number;
  /** --reuse-port off (one shared socket) or on (a SO_REUSEPORT socket per worker). */
  mode: 'off' | 'on';
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors?: number;
  /** Requests each worker served during the measured window, and its connections in its middle. */
  perWorker: Array<{ pid: number; requests: number; connections: number }>;
}

export interface StopCase {
  mode: 'off' | 'on';
  /** net.ipv4.tcp_migrate_req in the namespace the case ran in. */
  migrate: number;
  reloads: number;
  requests: number;
  /** wrk's socket errors (connect, read, write, timeout): connections reset or refused. */
  errors: number;
  non2xx: number;
}

export interface BalanceRun {
  date: string;
  node: string;
  kernel: string;
  hostMigrateReq: string;
  options: Record<string, unknown>;
  cells: Cell[];
  stops: StopCase[] | { skipped: string };
}

/** One cell's ratios: the busiest worker's requests (and connections) over the fair share, 1 = even. */
export function summarize(cells: Cell[]) {
  return cells.map((c) => {
    const total = c.perWorker.reduce((a, w) => a + w.requests, 0);
    const conns = c.perWorker.reduce((a, w) => a + w.connections, 0);
    const maxReq = Math.max(...c.perWorker.map((w) => w.requests));
    const maxConn = Math.max(...c.perWorker.map((w) => w.connections));
    return {
      ...c,
      maxShare: total > 0 ? (maxReq / total) * c.workers : Number.NaN,
      maxConnShare: conns > 0 ? (maxConn / conns) * c.workers : Number.NaN,
    };
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface MedianRow {
  workers: number;
  connections: number;
  mode: 'off' | 'on';
  rounds: number;
  rps: number;
  p99Ms: number;
  /** Busiest worker's requests over the fair share (median over rounds). */
  maxShare: number;
  /** Busiest worker's connections over the fair share (median over rounds). */
  maxConnShare: number;
}

/** The medians over rounds, one row per workers × connections × mode, in the run's order. */
export function medians(run: Pick<BalanceRun, 'cells'>): MedianRow[] {
  const rows = summarize(run.cells);
  const keys = [...new Set(rows.map((r) => `${r.workers}|${r.connections}|${r.mode}`))];
  return keys
    .map((k) => {
      const of = rows.filter((r) => `${r.workers}|${r.connections}|${r.mode}` === k);
      const first = of[0]!;
      return {
        workers: first.workers,
        connections: first.connections,
        mode: first.mode,
        rounds: of.length,
        rps: median(of.map((r) => r.rps)),
        p99Ms: median(of.map((r) => r.p99Ms)),
        maxShare: median(of.map((r) => r.maxShare)),
        maxConnShare: median(of.map((r) => r.maxConnShare)),
      };
    })
    .sort((a, b) => a.workers - b.workers || a.connections - b.connections || a.mode.localeCompare(b.mode));
}

const MODE_TEXT = { off: 'shared socket', on: 'reuse-port' } as const;

export function renderBalance(run: BalanceRun): string {
  const lines = [
    '# Worker balance: shared socket vs a SO_REUSEPORT socket per worker',
    '',
    `${run.date}, Node ${run.node}, Linux ${run.kernel}; gateway on CPU ${run.options.serverCpus}, wrk on CPU ` +
      `${run.options.loadCpus}; ${run.options.duration} s per cell, ${run.options.rounds} rounds alternating.`,
    '',
    '| workers | connections | mode | req/s | p99 ms | busiest worker, requests ÷ fair share | ' +
      'busiest worker, connections ÷ fair share |',
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: |',
    ...medians(run).map(
      (r) =>
        `| ${r.workers} | ${r.connections} | ${MODE_TEXT[r.mode]} | ${Math.round(r.rps)} | ${r.p99Ms.toFixed(2)} | ` +
        `${r.maxShare.toFixed(2)} | ${r.maxConnShare.toFixed(2)} |`,
    ),
    '',
    '## Every cell',
    '',
    '| round | workers | connections | mode | req/s | p99 ms | requests per worker | connections per worker |',
    '| ---: | ---: | ---: | --- | ---: | ---: | --- | --- |',
    ...run.cells.map(
      (c) =>
        `| ${c.round} | ${c.workers} | ${c.connections} | ${MODE_TEXT[c.mode]} | ${Math.round(c.rps)} | ` +
        `${c.p99Ms.toFixed(2)} | ${c.perWorker.map((w) => w.requests).join(', ')} | ` +
        `${c.perWorker.map((w) => w.connections).join(', ')} |`,
    ),
    '',
    '## A worker stopping under load (HUP reloads, a new connection per request)',
    '',
  ];
  if ('skipped' in run.stops) lines.push(`Skipped: ${run.stops.skipped}.`);
  else {
    lines.push('| mode | tcp_migrate_req | reloads | requests | socket errors | non-2xx |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const s of run.stops)
      lines.push(`| ${MODE_TEXT[s.mode]} | ${s.migrate} | ${s.reloads} | ${s.requests} | ${s.errors} | ${s.non2xx} |`);
  }
  return `${lines.join('\n')}\n`;
}
