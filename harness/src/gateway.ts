// The gateway CLI (server/dist/cli.js) as a child process whose JSON log lines are
// followed: the port it listens on, its workers (booted, ready, alive), reloads,
// and a wait for any line. Tests, benches and reliability faults drive it through
// this, and it is a Serving like every other launcher's result. Waits are bounded,
// so a broken gateway fails its caller instead of hanging it; nothing here times
// anything.
//
//   const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', 'app/dist/app.js']);
//   gw.signal('SIGHUP');
//   await gw.waitFor(/Reload complete/);
//   await gw.stop();
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { request } from './http.ts';
import { cpuCounter, tree } from './procstat.ts';
import type { Serving } from './serving.ts';
import { pinned, ROOT } from './tools.ts';

export const CLI = join(ROOT, 'server/dist/cli.js');

export interface LogLine {
  level?: string;
  msg?: string;
  pid?: number;
  role?: string;
  [k: string]: unknown;
}

export interface GatewayOptions {
  /** `taskset -c` list the master (and so every worker) is pinned to. */
  cpus?: string | undefined;
  /** Its working directory; default this process's. */
  cwd?: string;
  /** The program: default this tree's server/dist/cli.js; an installed package's bin, say. */
  cli?: string;
}

export class Gateway implements Serving {
  readonly name = 'gateway';
  readonly proc: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stdout: string[] = [];
  stderrText = '';
  /** From the master's "Listening at:" line (info level); 0 until then. */
  port = 0;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;
  readonly exited: Promise<number | null>;
  readonly cpuSeconds: () => number;
  private scheme = 'http';
  private waiters: Array<() => void> = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}, o: GatewayOptions = {}) {
    const argv = pinned([process.execPath, o.cli ?? CLI, ...args], o.cpus);
    this.proc = spawn(argv[0]!, argv.slice(1), {
      ...(o.cwd ? { cwd: o.cwd } : {}),
      env: { ...process.env, WEB_CONCURRENCY: '', PORT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Counting from the spawn: the workers forked later count from zero.
    this.cpuSeconds = cpuCounter(() => this.pids());
    this.cpuSeconds();
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
        const m = /Listening at: (https?):\/\/[^ ]*:(\d+) /.exec(parsed.msg ?? '');
        if (m && this.port === 0) {
          this.scheme = m[1]!;
          this.port = Number(m[2]);
        }
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

  /** Log lines that mean a worker crashed or was killed (the master logs each). */
  crashes(): string[] {
    return this.lines.filter((l) => /exited|was sent|WORKER TIMEOUT|uncaught/i.test(l.msg ?? '')).map((l) => l.msg!);
  }

  /** The master and every worker, now (from /proc: any log level). */
  pids(): number[] {
    return this.proc.pid ? tree(this.proc.pid) : [];
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Like url, with https when the gateway terminates TLS (--certfile). */
  get baseUrl(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** The metrics endpoint, from the master's "Metrics at:" line (start with --metrics-bind). */
  get metricsUrl(): string {
    const m = this.lines.map((l) => /^Metrics at: (\S+)$/.exec(l.msg ?? '')?.[1]).find(Boolean);
    if (!m) throw new Error(`no "Metrics at:" line; log:\n${this.stderrText.slice(-2000)}`);
    return m;
  }

  /** The health checks' base URL, from the master's "Health checks at:" line (start with --health-bind). */
  get healthUrl(): string {
    const m = this.lines.map((l) => /^Health checks at: (\S+)\/livez /.exec(l.msg ?? '')?.[1]).find(Boolean);
    if (!m) throw new Error(`no "Health checks at:" line; log:\n${this.stderrText.slice(-2000)}`);
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

  /** TERM (graceful), KILL after 15 s; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Starts the gateway and waits for its "workers ready" line (info level); rejects if it exits first. */
export async function startGateway(args: string[], env?: NodeJS.ProcessEnv, o?: GatewayOptions): Promise<Gateway> {
  const gw = new Gateway(args, env, o);
  try {
    await gw.until('the gateway to be ready', () => gw.count(/workers? ready$/) > 0 || gw.exitCode !== undefined);
  } catch (err) {
    gw.proc.kill('SIGKILL');
    throw err;
  }
  if (gw.exitCode !== undefined) throw new Error(`gateway exited with ${gw.exitCode}:\n${gw.stderrText}`);
  return gw;
}
