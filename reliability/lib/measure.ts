/**
 * What the fault scripts and the slow-client matrix share: an open-model load generator (requests
 * start on a clock, not when the previous one ends, so a stall shows up as latency and failures
 * instead of silently lowering the offered load), percentiles, and the result line the runner
 * collects. Normal clients bind their own loopback source address, apart from any attacker's.
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';

export interface Sample {
  /** ms since the load started */
  start: number;
  end: number;
  status: number;
  error?: string;
  pid?: number;
  body?: string;
  /** The value of LoadOptions.captureHeader in the answer. */
  header?: string | undefined;
}

export interface LoadOptions {
  baseUrl: string;
  /** Requests per second, started on a fixed clock. */
  rate: number;
  /** Path(s), or a function of the request's index; default '/'. */
  path?: string | ((i: number) => { path: string; method?: string; body?: string });
  localAddress?: string;
  /** Keep-alive (default) as browsers and nginx do; false opens a connection per request. */
  keepAlive?: boolean;
  /** Bound on the run, whatever happens. */
  maxSeconds: number;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  keepBody?: boolean;
  captureHeader?: string;
}

/** A running load; stop() resolves with every sample once all started requests have ended. */
export class Load {
  readonly samples: Sample[] = [];
  readonly t0 = performance.now();
  private timer: NodeJS.Timeout;
  private pending = new Set<Promise<void>>();
  private stopped = false;
  private agent: http.Agent;
  private tls: boolean;
  private hardStop: NodeJS.Timeout;

  constructor(private readonly o: LoadOptions) {
    const agentOptions = {
      keepAlive: o.keepAlive ?? true,
      maxSockets: 256,
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    };
    // https:// for the nginx topologies as shipped: their development certificate is self-signed.
    this.tls = o.baseUrl.startsWith('https:');
    this.agent = this.tls
      ? new https.Agent({ ...agentOptions, rejectUnauthorized: false })
      : new http.Agent(agentOptions);
    let sent = 0;
    const tickMs = 5;
    this.timer = setInterval(() => {
      // However late the timer fires, catch up to the clock: the offered rate stays the rate.
      const due = Math.floor(((performance.now() - this.t0) / 1000) * o.rate);
      while (sent < due && !this.stopped) this.fire(sent++);
    }, tickMs);
    this.hardStop = setTimeout(() => void this.stop(), o.maxSeconds * 1000);
    this.hardStop.unref();
  }

  now(): number {
    return performance.now() - this.t0;
  }

  private fire(i: number): void {
    const spec = typeof this.o.path === 'function' ? this.o.path(i) : { path: this.o.path ?? '/' };
    const s: Sample = { start: this.now(), end: 0, status: 0 };
    const p = new Promise<void>((resolve) => {
      const done = () => {
        s.end = this.now();
        this.samples.push(s);
        resolve();
      };
      const req = (this.tls ? https : http).request(
        `${this.o.baseUrl}${spec.path}`,
        {
          method: spec.method ?? 'GET',
          agent: this.agent,
          headers: spec.body
            ? { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(spec.body) }
            : {},
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => {
            s.status = res.statusCode ?? 0;
            if (this.o.captureHeader) s.header = res.headers[this.o.captureHeader] as string | undefined;
            const m = /"pid":(\d+)/.exec(body);
            if (m) s.pid = Number(m[1]);
            if (this.o.keepBody) s.body = body;
            done();
          });
          res.on('error', (e) => {
            s.error = (e as NodeJS.ErrnoException).code ?? e.message;
            done();
          });
        },
      );
      // A deadline from the moment the request is due, not an idle timer on its socket: a request
      // still queued for a connection (the server accepts nothing) must time out too.
      const deadline = setTimeout(() => req.destroy(new Error('timeout')), this.o.timeoutMs ?? 30_000);
      req.on('close', () => clearTimeout(deadline));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (s.end === 0) {
          s.error = e.code ?? e.message;
          done();
        }
      });
      req.end(spec.body);
    });
    this.pending.add(p);
    void p.then(() => this.pending.delete(p));
  }

  inFlight(): number {
    return this.pending.size;
  }

  async stop(): Promise<Sample[]> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.hardStop);
    await Promise.all([...this.pending]);
    this.agent.destroy();
    return this.samples;
  }
}

export const ok = (s: Sample) => s.error === undefined && s.status >= 200 && s.status < 400;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Summary {
  requests: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  p50: number;
  p99: number;
  rps: number;
}

/** Samples that started within [from, to) ms. */
/** A summary's failures as one phrase: "3× ECONNRESET, 1× 502", or "none". */
export function failureKinds(failures: Record<string, number>): string {
  return (
    Object.entries(failures)
      .map(([k, n]) => `${n}× ${k}`)
      .join(', ') || 'none'
  );
}

export function summarize(samples: Sample[], from = 0, to = Infinity): Summary {
  const win = samples.filter((s) => s.start >= from && s.start < to);
  const good = win.filter(ok);
  const failures: Record<string, number> = {};
  for (const s of win)
    if (!ok(s)) {
      const k = s.error ?? String(s.status);
      failures[k] = (failures[k] ?? 0) + 1;
    }
  const span = Math.max(1, Math.min(to, Math.max(...win.map((s) => s.end), 0)) - from) / 1000;
  return {
    requests: win.length,
    ok: good.length,
    failed: win.length - good.length,
    failures,
    p50: round(
      percentile(
        good.map((s) => s.end - s.start),
        50,
      ),
    ),
    p99: round(
      percentile(
        good.map((s) => s.end - s.start),
        99,
      ),
    ),
    rps: round(good.length / (Number.isFinite(to) ? (to - from) / 1000 : span)),
  };
}

export const round = (x: number, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function machine(): string {
  let model = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  return `${os.hostname()}: ${os.cpus().length} × ${model.trim()}, ${memory}, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** One row of the reliability table, printed as the last line of a script for reliability/run.ts. */
export interface CaseResult {
  case: string;
  topology: string;
  /** Met the target/claim. undefined: a measurement without a pass/fail target. */
  pass: boolean | undefined;
  /** One line: the figures that matter. */
  result: string;
  figures: Record<string, unknown>;
}

export function report(rows: CaseResult[]): void {
  for (const r of rows) {
    console.log(`${r.pass === undefined ? '    ' : r.pass ? 'PASS' : 'FAIL'}  ${r.case} [${r.topology}]: ${r.result}`);
  }
  console.log(`RESULT ${JSON.stringify(rows)}`);
}
