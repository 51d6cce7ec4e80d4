// h2load (Debian's nghttp2-client), the HTTP/2 load generator: one bounded run of it,
// pinned to the load CPUs, its summary parsed, and the per-request latencies read from
// its --log-file (h2load prints min/max/mean only; the percentiles come from the log).
// The comparison runner's h2 scenario (loadtest/compare/h2.ts) and `npm run bench:h2`
// (server/bench/h2.ts) both load through here, so a window is run, parsed and checked
// the same way in both.
//
//   const w = await runH2load({ url: `${t.baseUrl}/`, protocol: 'h2', clients: 20, streams: 10, requests: 18_000 });
//   console.log(w.figures.rps, percentile(w.latenciesMs, 0.99));
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath, pinned, ROOT } from './tools.ts';

export const H2LOAD_BIN = process.env.H2LOAD_BIN ?? 'h2load';

/** Why h2load cannot run here, or undefined when it can. */
export function h2loadUnavailable(): string | undefined {
  return onPath(H2LOAD_BIN) ? undefined : `no ${H2LOAD_BIN} on PATH (apt-get install -y nghttp2-client)`;
}

/** The protocol h2load is told to speak: h2 (ALPN h2, `streams` at once a connection) or HTTP/1.1 (--h1, one at a time). */
export type H2loadProtocol = 'h2' | 'http/1.1';

export interface H2loadOptions {
  /** The full URL, e.g. https://127.0.0.1:8443/ (its authority is the :authority / Host sent). */
  url: string;
  protocol: H2loadProtocol;
  /** Connections (-c). */
  clients: number;
  /** Requests in all (-n): h2load spreads them over the connections, so a window is a fixed count, not a time. */
  requests: number;
  /** Concurrent streams a connection on h2 (-m); ignored for HTTP/1.1. Default 10. */
  streams?: number;
  /** `taskset -c` list h2load runs on; none: not pinned. */
  cpus?: string | undefined;
  /** HOST:PORT to connect to instead of the URL's authority (a name only the harness resolves). */
  connectTo?: string | undefined;
  /** Killed (SIGKILL) after this long; default 120 s. Every load is bounded. */
  timeoutMs?: number;
  /** Read the per-request latencies from h2load's --log-file. Default true. */
  latencies?: boolean;
}

/** What h2load's summary says. */
export interface H2loadFigures {
  /** The protocol negotiated ("Application protocol:"), e.g. 'h2' or 'http/1.1'; undefined when not printed. */
  protocol: string | undefined;
  seconds: number;
  rps: number;
  total: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  /** Responses by status class. */
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
}

export interface H2loadWindow {
  /** h2load's output, whole. */
  text: string;
  /** Its exit status (h2load exits 0 even with failed requests: read `figures`). */
  code: number;
  /** The summary; undefined when the output has none (h2load could not connect, or was killed). */
  figures: H2loadFigures | undefined;
  /** Milliseconds of every completed request (status ≥ 0 in the log), in log order; empty without `latencies`. */
  latenciesMs: number[];
  /** Wall clock (ms since the epoch) when h2load was started and when it exited: the window of the load. */
  startedAt: number;
  endedAt: number;
}

const TIME_UNIT_S: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60 };

/** The figures of h2load's summary, or undefined when `text` has none. */
export function parseH2load(text: string): H2loadFigures | undefined {
  const finished = /finished in ([\d.]+)(us|ms|s|m), ([\d.]+) req\/s/.exec(text);
  const req =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      text,
    );
  if (!finished || !req) return undefined;
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const n = (m: RegExpExecArray | null, i: number) => Number(m?.[i] ?? 0);
  return {
    protocol: /Application protocol: (\S+)/.exec(text)?.[1],
    seconds: Number(finished[1]) * TIME_UNIT_S[finished[2]!]!,
    rps: Number(finished[3]),
    total: n(req, 1),
    started: n(req, 2),
    done: n(req, 3),
    succeeded: n(req, 4),
    failed: n(req, 5),
    errored: n(req, 6),
    timeout: n(req, 7),
    status: { '2xx': n(status, 1), '3xx': n(status, 2), '4xx': n(status, 3), '5xx': n(status, 4) },
  };
}

/**
 * The per-request lines of an h2load --log-file (start µs since the epoch, status, µs to the end
 * of the response, tab-separated): the durations in ms of the requests that completed, and the
 * count of failed streams (status -1).
 */
export function parseH2loadLog(text: string): { latenciesMs: number[]; failed: number } {
  const latenciesMs: number[] = [];
  let failed = 0;
  for (const line of text.split('\n')) {
    const [, status, us] = line.split('\t');
    if (status === undefined || us === undefined) continue;
    if (Number(status) < 0) failed++;
    else latenciesMs.push(Number(us) / 1000);
  }
  return { latenciesMs, failed };
}

/** h2load's command line for `o` (without the pinning). */
export function h2loadArgs(o: H2loadOptions, logFile?: string): string[] {
  return [
    ...['-n', String(o.requests), '-c', String(o.clients)],
    ...(o.protocol === 'h2' ? ['-m', String(o.streams ?? 10)] : ['--h1']),
    ...(o.connectTo ? ['--connect-to', o.connectTo] : []),
    ...(logFile ? ['--log-file', logFile] : []),
    o.url,
  ];
}

/** One h2load run: pinned, bounded in time, its summary and (by default) its per-request latencies. */
export async function runH2load(o: H2loadOptions): Promise<H2loadWindow> {
  const latencies = o.latencies !== false;
  const dir = latencies ? mkdtempSync(join(tmpdir(), 'h2load-')) : undefined;
  const logFile = dir ? join(dir, 'requests.tsv') : undefined;
  try {
    const argv = pinned([H2LOAD_BIN, ...h2loadArgs(o, logFile)], o.cpus);
    const startedAt = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    const code: number = await new Promise((resolve) => {
      child.on('error', (e) => {
        text += `${e.message}\n`;
        resolve(127);
      });
      child.on('close', (c) => resolve(c ?? 1));
    });
    clearTimeout(limit);
    const endedAt = Date.now();
    let latenciesMs: number[] = [];
    if (logFile) {
      try {
        latenciesMs = parseH2loadLog(readFileSync(logFile, 'utf8')).latenciesMs;
      } catch {
        // No log: h2load never got as far as a request; the summary (or its absence) says why.
      }
    }
    return { text, code, figures: parseH2load(text), latenciesMs, startedAt, endedAt };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The value at quantile `q` (0..1) of `xs` (nearest rank); NaN for none. Sorts a copy. */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A seeded shuffle (mulberry32): the order of a round's windows, told and repeatable. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
