/**
 * Process-level test harness: starts the real CLI (server/dist/cli.js), follows its JSON log
 * lines, and talks HTTP to it. Waits are bounded so a broken gateway fails a test instead of
 * hanging it; nothing asserts on speed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const fixture = (name: string): string => `${FIXTURES}${name}`;

export interface LogLine {
  level?: string;
  msg?: string;
  pid?: number;
  role?: string;
  [k: string]: unknown;
}

export class Gateway {
  readonly proc: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stdout: string[] = [];
  stderrText = '';
  port = 0;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, WEB_CONCURRENCY: '', PORT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = once(this.proc, 'exit').then(([code, signal]) => {
      this.exitCode = code as number | null;
      this.exitSignal = signal as NodeJS.Signals | null;
      this.notify();
      return code as number | null;
    });
    const follow = (stream: NodeJS.ReadableStream, sink: (line: string) => void) => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
          sink(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    };
    follow(this.proc.stderr!, (line) => {
      this.stderrText += `${line}\n`;
      try {
        const parsed = JSON.parse(line) as LogLine;
        this.lines.push(parsed);
        const m = /Listening at: https?:\/\/[^ ]*:(\d+) /.exec(parsed.msg ?? '');
        if (m && this.port === 0) this.port = Number(m[1]);
      } catch {
        /* not a log line */
      }
      this.notify();
    });
    follow(this.proc.stdout!, (line) => {
      this.stdout.push(line);
      this.notify();
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `test` holds, or rejects after `limitMs` with the log so far. */
  async until(what: string, test: () => boolean, limitMs = 20_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!test()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; log:\n${this.stderrText.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l.msg ?? '')).length;
  }

  async waitFor(re: RegExp, times = 1, limitMs?: number): Promise<LogLine> {
    await this.until(`${times}× ${re}`, () => this.count(re) >= times, limitMs);
    return this.lines.filter((l) => re.test(l.msg ?? ''))[times - 1]!;
  }

  async ready(workers = 1): Promise<this> {
    await this.waitFor(/workers? ready$/);
    void workers;
    return this;
  }

  /** Pids of the workers alive now, from the master's "Booting worker" lines. */
  liveWorkers(): number[] {
    return this.lines
      .map((l) => /^Booting worker with pid: (\d+)$/.exec(l.msg ?? '')?.[1])
      .filter(Boolean)
      .map(Number)
      .filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
  }

  /** Pids of workers that said they are ready and are still alive. */
  readyWorkers(): number[] {
    const live = new Set(this.liveWorkers());
    return this.lines
      .filter((l) => l.role === 'worker' && /^Worker ready/.test(l.msg ?? '') && live.has(l.pid!))
      .map((l) => l.pid!);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The metrics endpoint, from the master's "Metrics at:" line (start with --metrics-bind). */
  get metricsUrl(): string {
    const m = this.lines.map((l) => /^Metrics at: (\S+)$/.exec(l.msg ?? '')?.[1]).find(Boolean);
    if (!m) throw new Error(`no "Metrics at:" line; log:\n${this.stderrText.slice(-2000)}`);
    return m;
  }

  /** One sample of the metrics text: `name{labels} value`, or undefined when absent. */
  async metric(sample: string): Promise<number | undefined> {
    const text = (await request(this.metricsUrl)).body;
    const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
    return line === undefined ? undefined : Number(line.slice(sample.length + 1));
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export async function startGateway(args: string[], env?: NodeJS.ProcessEnv): Promise<Gateway> {
  const gw = new Gateway(args, env);
  try {
    await gw.until('the gateway to be ready', () => gw.count(/workers? ready$/) > 0 || gw.exitCode !== undefined);
  } catch (err) {
    gw.proc.kill('SIGKILL');
    throw err;
  }
  if (gw.exitCode !== undefined) throw new Error(`gateway exited with ${gw.exitCode}:\n${gw.stderrText}`);
  return gw;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export function request(url: string, opts: http.RequestOptions & { body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.end(opts.body);
  });
}

/** Sends raw bytes and returns everything the server writes back until it closes (or `limitMs`). */
export function rawExchange(
  port: number,
  payload: string | Buffer,
  limitMs = 5000,
  host = '127.0.0.1',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      out += c;
    });
    sock.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(out) : reject(err),
    );
    sock.on('close', () => resolve(out));
    sock.setTimeout(limitMs, () => {
      sock.destroy();
      resolve(out);
    });
    sock.write(payload);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bounded stream of requests; returns per-request outcomes. */
export async function loadLoop(
  fn: () => Promise<Reply>,
  opts: { concurrency: number; until: () => boolean; maxRequests: number },
): Promise<{ ok: number; failed: string[] }> {
  let ok = 0;
  let sent = 0;
  const failed: string[] = [];
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (!opts.until() && sent < opts.maxRequests) {
        sent++;
        try {
          const r = await fn();
          if (r.status === 200) ok++;
          else failed.push(`status ${r.status}: ${r.body.slice(0, 200)}`);
        } catch (err) {
          failed.push((err as Error).message);
        }
      }
    }),
  );
  return { ok, failed };
}
