// From what the load tools print to report rows: k6 summaries (one row per
// measured step, plus the CPU the serving processes used in that step's window)
// and `wrk --latency` output. Pure functions of their input; report.ts re-exports
// them, so callers import from there.

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

/** CPU seconds the topology's processes used in a window, relative to the run's start; null: not measured. */
export type CpuOfWindow = (startMs: number, durationMs: number) => number | null;

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
  /** h2 rows: each recorded round's window (the row's rps and cpuPer1k are their medians). */
  rounds?: RoundFigures[];
  /** h2 rows: requests in flight at once (closed model: connections × streams). */
  inFlight?: number;
}

/** One window of a row made of rounds (the h2 scenario, h2.ts): its round number, req/s and CPU s per 1,000. */
export interface RoundFigures {
  round: number;
  rps: number;
  cpuPer1k: number | null;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Milliseconds in a k6 duration ("10000ms", "2s", "1m30s"). */
export function durationMs(text: string | number | undefined): number {
  if (typeof text === 'number') return text * 1000;
  if (text === undefined || text === '') return 0;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

/** One measured window of a k6 run: a scenario (step) of a multi-step script, or the whole run. */
export interface StepWindow {
  name: string;
  startMs: number;
  durationMs: number;
  offered: number | null;
}

type MetaStep = { name: string; startTime?: string; duration?: string; rate?: number };

/** The steps a multi-step script recorded in its meta (`steps`, or `variants`), if any. */
function metaSteps(meta: K6Summary['meta']): MetaStep[] | undefined {
  const list = (meta.steps ?? meta.variants) as MetaStep[] | undefined;
  return Array.isArray(list) && list.length > 0 ? list : undefined;
}

/** The one window of a single-step run: the whole run (for capacity, the ramp up to the knee). */
function wholeRunWindow(s: K6Summary): StepWindow {
  const meta = s.meta;
  const total = s.state?.testRunDurationMs ?? 0;
  const capacity = meta.script === 'capacity';
  const offered = capacity ? Number(meta.offeredRateAtStop ?? NaN) : typeof meta.rate === 'number' ? meta.rate : null;
  const dur = meta.duration ? durationMs(meta.duration as string) : total;
  return {
    name: capacity ? 'ramp' : 'all',
    startMs: 0,
    durationMs: dur || total,
    offered: Number.isFinite(offered) ? offered : null,
  };
}

export function windowsOf(s: K6Summary): StepWindow[] {
  const steps = metaSteps(s.meta);
  if (!steps) return [wholeRunWindow(s)];
  const rate = typeof s.meta.rate === 'number' ? s.meta.rate : null;
  return steps.map((st) => ({
    name: st.name,
    startMs: durationMs(st.startTime),
    durationMs: durationMs(st.duration),
    offered: st.rate ?? rate,
  }));
}

function metric(s: K6Summary, name: string, step: string, single: boolean): K6Metric | undefined {
  return s.metrics[`${name}{scenario:${step}}`] ?? (single ? s.metrics[name] : undefined);
}

/** CPU seconds per 1,000 requests (or echoes); null without a CPU figure or with nothing served. */
function perThousand(cpuSeconds: number | null, count: number): number | null {
  return cpuSeconds !== null && count > 0 ? (cpuSeconds / count) * 1000 : null;
}

function rowOfWindow(s: K6Summary, w: StepWindow, single: boolean, cpu: CpuOfWindow | undefined): Row {
  const dur = metric(s, 'http_req_duration', w.name, single)?.values ?? {};
  const requests = metric(s, 'http_reqs', w.name, single)?.values.count ?? 0;
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
    failed: metric(s, 'http_req_failed', w.name, single)?.values.passes ?? 0,
    dropped: metric(s, 'dropped_iterations', w.name, single)?.values.count ?? 0,
    cpuSeconds,
    cpuPer1k: perThousand(cpuSeconds, requests),
    thresholdsOk: s.meta.thresholdsOk !== false,
  };
}

/**
 * Rows of one k6 summary. `cpu(startMs, durationMs)` gives the CPU seconds the
 * topology's processes used in that window, relative to the run's start (the
 * first scenario's startTime 0); absent: CPU columns are null.
 */
export function rowsOf(s: K6Summary, cpu?: CpuOfWindow): Row[] {
  const windows = windowsOf(s);
  return windows.map((w) => rowOfWindow(s, w, windows.length === 1, cpu));
}

/**
 * The row of a ws.js summary: echoes (not HTTP requests) per second over the
 * run, the echo round trip (ws_echo_rtt), failures (socket errors, wrong echoes,
 * failed checks) and CPU per 1,000 echoes.
 */
export function wsRowOf(s: K6Summary, cpu?: CpuOfWindow): Row {
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
    cpuPer1k: perThousand(cpuSeconds, echoes),
    thresholdsOk: s.meta.thresholdsOk !== false,
    sessions: m('ws_sessions').count ?? 0,
  };
}

// ---- wrk ----------------------------------------------------------------------------

const WRK_UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000 };

/** Milliseconds in one of wrk's latency figures ("950.00us", "1.96ms", "1.20s"); NaN when absent. */
function wrkMs(v: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec((v ?? '').trim());
  return m ? Number(m[1]) * WRK_UNIT_MS[m[2]!]! : NaN;
}

/** Socket errors of every kind plus non-2xx/3xx answers. */
function wrkErrors(out: string): number {
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
}

/** The figures of `wrk --latency` output, or undefined when it has none. */
export function parseWrk(
  out: string,
): { rps: number; requests: number; p50: number; p99: number; errors: number } | undefined {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) return undefined;
  return {
    rps,
    requests,
    p50: wrkMs(/^\s+50%\s+(\S+)\s*$/m.exec(out)?.[1]),
    p99: wrkMs(/^\s+99%\s+(\S+)\s*$/m.exec(out)?.[1]),
    errors: wrkErrors(out),
  };
}
