/**
 * The master's control socket (`--control-socket PATH`, Gunicorn 26's control socket that its
 * `gunicornc` talks to): a unix socket of mode 0600, so only the master's user (or root) can
 * connect, where the master answers JSON requests, one a line, each with one JSON line:
 *
 *   {"command":"scale","args":[3]}   →   {"ok":true,"command":"scale","previous":2,"target":3}
 *   {"command":"nope"}               →   {"ok":false,"error":{"code":"GW_ERR_CTL_UNKNOWN_COMMAND","message":"..."}}
 *
 * `nodicorn ctl` (ctl.ts) is the client. The figures are the metrics' own (master-metrics.ts): `stats`
 * is the scrape /metrics answers, as JSON, and `workers` each worker's share of it.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { removeStaleSocket } from './binds.js';
import { type ErrorCode, GatewayError } from './errors.js';
import type { HealthView } from './health.js';
import type { MasterMetrics } from './master-metrics.js';
import type { WorkerProcess } from './worker-process.js';

export const CONTROL_COMMANDS = ['workers', 'stats', 'reload', 'scale', 'kill', 'drain'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

/** A request line longer than this is refused and its connection closed: requests are a few bytes. */
const MAX_LINE = 64 * 1024;

type ControlWorker = Pick<
  WorkerProcess,
  'pid' | 'id' | 'slot' | 'generation' | 'state' | 'retire' | 'startedAt' | 'lastBeat' | 'rss' | 'counts' | 'inFlight'
> & { stop(signal: NodeJS.Signals): void };

/** What the control socket needs of the master: a read-only view and four verbs (the arbiter is one). */
export interface ControlledMaster {
  readonly phase: 'booting' | 'running' | 'stopping';
  readonly generation: number;
  readonly target: number;
  readonly workers: ReadonlyMap<number, ControlWorker>;
  /** Queues a master signal (HUP: the zero-downtime reload). */
  signal(sig: 'HUP'): void;
  scale(n: number): void;
  /** Out of rotation from now on: /readyz 503, the workers keep serving; a TERM then stops at once. */
  drain(): void;
}

type Answer = Record<string, unknown>;

class ControlError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const fail = (code: ErrorCode, message: string): never => {
  throw new ControlError(code, message);
};

/** An integer argument in [min, max], given as a number or its decimal text. */
function intArg(args: unknown[], what: string, min: number, max: number): number {
  const raw = args[0];
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    fail('GW_ERR_CTL_BAD_ARGUMENT', `${what} (got ${JSON.stringify(raw)})`);
  return n;
}

export class ControlSocket {
  private readonly server = net.createServer((socket) => this.serve(socket));
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly path: string,
    private readonly master: ControlledMaster,
    private readonly metrics: MasterMetrics,
    private readonly health: () => HealthView,
    private readonly log: Logger,
  ) {}

  /** Binds the socket, 0600 from its creation (umask), or throws GW_ERR_BIND. */
  async start(): Promise<void> {
    await removeStaleSocket(this.path);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new GatewayError(
            'GW_ERR_BIND',
            `cannot serve the control socket on ${this.path}: ${err.code ?? err.message}`,
          ),
        ),
      );
      // The file is created by bind(), inside listen(): under this umask it is never wider than 0600.
      const umask = process.umask(0o177);
      try {
        this.server.listen(this.path, resolve);
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(this.path, 0o600);
  }

  /** Closes it, and every connection on it, and removes the file. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = '';
    // One request at a time per connection, answered in order.
    let queue = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line !== '')
          queue = queue.then(() => this.answer(line).then((a) => void socket.write(`${JSON.stringify(a)}\n`)));
      }
      if (buf.length > MAX_LINE) {
        buf = '';
        const error = { code: 'GW_ERR_CTL_BAD_REQUEST', message: `a request line is over ${MAX_LINE} bytes` };
        queue = queue.then(() => void socket.end(`${JSON.stringify({ ok: false, error })}\n`));
      }
    });
  }

  /** One request line to its answer; never throws. */
  async answer(line: string): Promise<Answer> {
    let command = '';
    try {
      let request: unknown;
      try {
        request = JSON.parse(line);
      } catch {
        fail('GW_ERR_CTL_BAD_REQUEST', 'the request is not JSON: send {"command":"workers"} and a newline');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request))
        fail('GW_ERR_CTL_BAD_REQUEST', 'the request is not a JSON object');
      const { command: c, args = [] } = request as { command?: unknown; args?: unknown };
      if (typeof c !== 'string') fail('GW_ERR_CTL_BAD_REQUEST', 'the request has no "command" string');
      if (!Array.isArray(args)) fail('GW_ERR_CTL_BAD_REQUEST', '"args" is not an array');
      command = c as string;
      if (!(CONTROL_COMMANDS as readonly string[]).includes(command))
        fail('GW_ERR_CTL_UNKNOWN_COMMAND', `unknown command "${command}"; commands: ${CONTROL_COMMANDS.join(', ')}`);
      const result = await this.run(command as ControlCommand, args as unknown[]);
      this.log.debug(`Control socket: ${command}`);
      return { ok: true, command, ...result };
    } catch (err) {
      const known = err instanceof ControlError;
      if (!known) this.log.error({ err }, `Control socket: ${command || 'a request'} failed`);
      const error = known
        ? { code: err.code, message: err.message }
        : { code: 'GW_ERR_CTL_STATE', message: String(err) };
      return { ok: false, ...(command ? { command } : {}), error };
    }
  }

  private async run(command: ControlCommand, args: unknown[]): Promise<Answer> {
    const { master } = this;
    const notNow = (why: string) => fail('GW_ERR_CTL_STATE', `cannot ${command} now: ${why}`);
    switch (command) {
      case 'workers':
        return this.workers();
      case 'stats':
        return this.stats();
      case 'reload': {
        if (master.phase !== 'running') notNow(`the master is ${master.phase}`);
        if (this.health().stopping) notNow('the gateway is draining');
        master.signal('HUP');
        return { from_generation: master.generation };
      }
      case 'scale': {
        const n = intArg(args, 'scale needs a worker count from 1 to 1024', 1, 1024);
        if (master.phase === 'stopping') notNow('the master is stopping');
        const previous = master.target;
        master.scale(n);
        return { previous, target: n };
      }
      case 'kill': {
        const pid = intArg(args, 'kill needs the pid of a worker', 1, 2 ** 31 - 1);
        if (master.phase !== 'running') notNow(`the master is ${master.phase}`);
        const w = [...master.workers.values()].find((o) => o.pid === pid);
        if (!w || w.state === 'stopping')
          fail(
            'GW_ERR_CTL_NO_WORKER',
            `${pid} is not a live worker of this master (${w ? 'already stopping' : 'no such pid'})`,
          );
        // Gunicorn's `worker kill`: a graceful stop (its in-flight requests finish); the pool is then
        // one short, and the master forks the replacement at its next tick.
        this.log.info(`Control socket: stopping worker (pid:${pid}); it will be replaced`);
        this.metrics.restarted('kill');
        w!.stop('SIGTERM');
        return { pid };
      }
      case 'drain': {
        if (master.phase !== 'running') notNow(`the master is ${master.phase}`);
        const already = this.health().stopping;
        if (!already) {
          this.log.info('Draining (control socket): not ready from now on, still serving; stop it with TERM');
          master.drain();
        }
        return { draining: true, already };
      }
    }
  }

  private async workers(): Promise<Answer> {
    // A scrape first: each worker's requests and in-flight count as of now.
    await this.metrics.snapshot();
    const now = Date.now();
    const seconds = (ms: number) => Math.round(ms) / 1000;
    const workers = [...this.master.workers.values()].map((w) => ({
      pid: w.pid,
      id: w.id,
      slot: w.slot,
      generation: w.generation,
      state: w.state,
      retiring: w.retire,
      age_s: seconds(now - w.startedAt),
      requests: Object.values(w.counts?.status ?? {}).reduce((a, b) => a + b, 0),
      in_flight: w.inFlight ?? 0,
      rss_bytes: w.rss ?? null,
      heartbeat_age_s: seconds(now - w.lastBeat),
    }));
    return { master: this.masterView(), workers };
  }

  private async stats(): Promise<Answer> {
    const metrics = await this.metrics.snapshot();
    const sum = (name: string) => {
      const m = metrics[name] ?? 0;
      return typeof m === 'number' ? m : Object.values(m).reduce((a, b) => a + b, 0);
    };
    return {
      master: this.masterView(),
      requests: sum('gateway_http_requests_total'),
      in_flight: sum('gateway_http_requests_in_flight'),
      metrics,
    };
  }

  private masterView(): Answer {
    const { master } = this;
    const h = this.health();
    return {
      pid: process.pid,
      phase: master.phase,
      generation: master.generation,
      target: master.target,
      ready: h.ready,
      draining: h.stopping,
    };
  }
}
