/**
 * A worker process: receives its configuration and the master's listening handles, loads the app,
 * serves HTTP, beats its heartbeat from its event loop, and stops as the master (or a signal) says.
 * Signals, as in Gunicorn's workers: TERM graceful, INT/QUIT quick, USR1 reopen the logs.
 * Everything a worker holds is one Worker, built from the boot message; the process-level wiring at
 * the bottom only hands it the master's messages and the signals.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Logger } from 'pino';
import { type HostedApp, loadApp } from './app-loader.js';
import { ClientShare } from './client-share.js';
import { ConnectionGuard } from './connection-guard.js';
import { ConnectionDrain } from './drain.js';
import { EXIT, exitCodeOf, GatewayError } from './errors.js';
import { fetchListener } from './fetch-adapter.js';
import { compileTrust } from './forwarded.js';
import { attachRequestPath, createPipeline } from './http-handler.js';
import { Http2Sessions, http2Enabled } from './http2-server.js';
import { guardListen, ownServer } from './listen-guard.js';
import { type AccessLog, createAccessLog, createErrorLog, type ReopenableLogger } from './logger.js';
import type { BootMessage, Heartbeat, MasterMessage, RecycleReason, WorkerMessage } from './protocol.js';
import { acceptProxyProtocol, proxyProtocolOptions } from './proxy-protocol.js';
import { type ListenTarget, listenOn } from './reuse-port.js';
import type { Config } from './settings.js';
import { tlsEnabled, tlsOptions } from './tls.js';
import { UpgradeGuard } from './upgrades.js';
import { WorkerStats } from './worker-stats.js';

/** Resolves once the message is written to the channel, or at once if the master is gone ('disconnect' handles that). */
function sendNow(msg: WorkerMessage): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!(msg, undefined, undefined, () => resolve()));
}

function send(msg: WorkerMessage): void {
  void sendNow(msg);
}

class Worker {
  private readonly config: Config;
  private readonly errorLog: ReopenableLogger;
  private readonly accessLog: AccessLog | undefined;
  private readonly stats = new WorkerStats();
  private readonly connections = new ConnectionDrain();
  private readonly servers: http.Server[] = [];
  /** The master's bound sockets (raw TCP or Pipe handles), or where to bind one of its own (--reuse-port). */
  private readonly handles = new Map<number, ListenTarget>();
  /** After how many requests this worker asks to be recycled (max_requests plus its jitter); 0: never. */
  private readonly maxRequests: number;
  private hosted: HostedApp | undefined;
  /** HTTP/2 sessions, made from the connections of the servers below that speak it (http2-server.ts). */
  private http2: Http2Sessions | undefined;
  private listening = false;
  private recycleReason: RecycleReason | undefined;

  constructor(private readonly boot: BootMessage) {
    const { config } = boot;
    this.config = config;
    this.errorLog = createErrorLog(config.errorlog, config.loglevel, 'worker');
    if (config.metrics_bind) this.stats.collectDefaults();
    this.accessLog = config.accesslog ? createAccessLog(config.accesslog) : undefined;
    const jitter = Math.floor(Math.random() * (config.max_requests_jitter + 1));
    this.maxRequests = config.max_requests > 0 ? config.max_requests + jitter : 0;
    // A timer on this event loop: if the loop blocks, the beats stop and the master notices.
    setInterval(() => this.beat(), Math.min(1000, (config.timeout * 1000) / 4));
  }

  private get log(): Logger {
    return this.errorLog.logger;
  }

  private get draining(): boolean {
    return this.connections.draining;
  }

  /** Loads the app and makes one server a listening handle; they listen once every handle is here. */
  async start(): Promise<void> {
    const { config, boot, log, stats } = this;
    let hosted: HostedApp;
    // Before the app's code runs: a listen() of its own, at import time or later, is reported.
    guardListen(log);
    try {
      hosted = await loadApp(boot.app, { trustProxy: true, workerId: boot.workerId, generation: boot.generation });
    } catch (err) {
      const detail =
        err instanceof GatewayError ? { code: err.code, reason: err.message } : { code: 'GW_ERR_APP_LOAD', err };
      log.error(detail, `Worker failed to load app ${boot.app}`);
      this.errorLog.flush();
      // The master tells an app that cannot load from a worker that cannot boot by this status.
      process.exit(exitCodeOf('GW_ERR_APP_LOAD'));
    }
    this.hosted = hosted;
    // Told once, by the first worker the master forks (not once per worker).
    if (boot.workerId === 1) for (const note of hosted.notes ?? []) log.info(`Note: ${note}`);
    const trust = compileTrust(config.forwarded_allow_ips);
    const pipeline = createPipeline({
      config,
      trust,
      app: hosted.kind === 'fetch' ? fetchListener(hosted.handle) : hosted.handle,
      stats,
      errorLog: log,
      accessLog: this.accessLog,
      share: new ClientShare({
        limit: config.max_in_flight_per_client,
        waitMs: config.timeout * 1000,
        onWait: (outcome) => stats.clientWait(outcome),
      }),
      maxRequests: this.maxRequests,
      // Asked once; the heartbeat repeats the request until the master grants it.
      onMaxRequests: () => this.askRecycle('max_requests'),
    });
    if (http2Enabled(config)) this.http2 = new Http2Sessions({ config, trust, pipeline, errorLog: log });
    const upgrades = new UpgradeGuard({
      ...{ config, trust, stats, errorLog: log, accessLog: this.accessLog, upgrade: hosted.upgrade },
      draining: () => this.draining,
    });
    const path = { config, trust, stats, errorLog: log, upgrades };
    const guard = this.connectionGuard();
    try {
      // TLS files are read here, once per worker boot: a HUP reload serves a renewed certificate.
      const tls = tlsEnabled(config) ? tlsOptions(config) : undefined;
      for (let i = 0; i < boot.listeners; i++) {
        const server = this.createServer(tls);
        attachRequestPath(server, pipeline, path);
        if (config.proxy_protocol) acceptProxyProtocol(server, proxyProtocolOptions(config, stats, log));
        // Last, so it runs first: a connection over the ceiling is closed before anything reads it.
        guard.attach(server, tls !== undefined);
        this.servers.push(server);
      }
    } catch (err) {
      // A certificate replaced by a bad one before a HUP: this worker cannot boot, the reload is
      // aborted and the old workers keep serving.
      log.error({ err }, `Worker cannot create its server: ${(err as Error).message}`);
      this.quickStop(exitCodeOf('GW_ERR_WORKER_BOOT'));
    }
    this.maybeListen();
  }

  private createServer(tls: https.ServerOptions | undefined): http.Server {
    const { config } = this;
    const options: http.ServerOptions = {
      maxHeaderSize: config.limit_request_header_size,
      headersTimeout: config.header_timeout * 1000,
      requestTimeout: config.request_timeout * 1000,
      keepAliveTimeout: config.keepalive * 1000,
      // How often the header/request timeouts are checked; Node's 30 s default would let a slow
      // client hold a connection up to 30 s past its deadline.
      connectionsCheckingInterval: 1000,
    };
    const server: http.Server = tls ? https.createServer({ ...options, ...tls }) : http.createServer(options);
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      this.log.debug({ code: err.code, peer: socket.remoteAddress }, `TLS handshake failed: ${err.message}`);
    });
    if (tls) this.http2?.attachTls(server as https.Server);
    else this.http2?.attachCleartext(server);
    ownServer(server);
    this.connections.track(server);
    // No truncation: Node would silently drop headers past the count (Host among them); the pipeline
    // counts them and answers 431, and maxHeaderSize bounds the memory.
    server.maxHeadersCount = 0;
    return server;
  }

  /** worker_connections over all of this worker's servers, shedding instead of refusing (connection-guard.ts). */
  private connectionGuard(): ConnectionGuard {
    const { config, stats } = this;
    // A proxy in front carries many clients: no per-client cap on it.
    const proxies = compileTrust([
      ...config.forwarded_allow_ips,
      ...(config.proxy_protocol ? config.proxy_allow_ips : []),
    ]);
    return new ConnectionGuard({
      ceiling: config.worker_connections,
      shed: config.shed_connections,
      perClient: config.max_connections_per_client,
      trusted: proxies,
      onShed: (reason) => stats.shedConnection(reason),
      onRefuse: (reason) => stats.refusedConnection(reason),
    });
  }

  addHandle(index: number, handle: ListenTarget): void {
    this.handles.set(index, handle);
    this.maybeListen();
  }

  private maybeListen(): void {
    if (this.listening || !this.hosted || this.handles.size < this.boot.listeners) return;
    this.listening = true;
    let pending = this.servers.length;
    this.servers.forEach((server, i) => {
      server.once('error', (err) => {
        // A shared handle, or (--reuse-port) its own socket: say which, the fix differs.
        const own = 'port' in (this.handles.get(i) as object);
        this.log.error({ err }, `Worker cannot listen on ${own ? 'its own SO_REUSEPORT socket' : 'the shared socket'}`);
        this.quickStop(exitCodeOf('GW_ERR_WORKER_BOOT'));
      });
      listenOn(server, this.handles.get(i)!, this.config.backlog, () => {
        if (--pending > 0) return;
        this.log.info(`Worker ready (app kind: ${this.hosted!.kind})`);
        // A first beat with it: the master has this worker's memory as soon as it counts it ready.
        send(this.heartbeatMessage());
        send({ t: 'ready' });
      });
    });
  }

  private heartbeatMessage(): Heartbeat {
    const rss = process.memoryUsage.rss();
    return this.config.metrics_bind ? { t: 'hb', rss, counts: this.stats.counts() } : { t: 'hb', rss };
  }

  private beat(): void {
    const hb = this.heartbeatMessage();
    send(hb);
    if (this.draining) return;
    const limitMb = this.config.max_worker_memory;
    if (limitMb > 0 && hb.rss > limitMb * 1024 * 1024) this.recycleReason ??= 'memory';
    // Asked again every beat until granted: the master may have been busy with another recycle.
    if (this.recycleReason) send({ t: 'recycle', reason: this.recycleReason });
  }

  private askRecycle(reason: RecycleReason): void {
    if (this.recycleReason === undefined || reason === 'error') {
      this.recycleReason = reason;
      send({ t: 'recycle', reason });
    }
  }

  /** The master's scrape: this worker's counts, in-flight requests and Node's own figures. */
  scrape(id: number): void {
    const { stats } = this;
    void stats
      .defaultMetrics()
      .then((defaults) => send({ t: 'metrics', id, counts: stats.counts(), inFlight: stats.inFlight, defaults }));
  }

  reopenLogs(): void {
    this.errorLog.reopen();
    this.accessLog?.reopen();
  }

  async gracefulStop(exitCode: number = EXIT.OK): Promise<void> {
    if (this.draining) return;
    const timeoutS = this.config.graceful_timeout;
    this.log.info(`Worker draining (graceful timeout ${timeoutS}s)`);
    setTimeout(() => this.quickStop(exitCode), timeoutS * 1000).unref();
    // WebSockets are closed by their own protocol, 1001 "going away", not by cutting TCP; the
    // drain then waits for their connections like any other, up to the graceful timeout.
    const wss = this.hosted?.webSockets?.();
    if (wss) for (const client of wss.clients) client.close(1001, 'going away');
    // HTTP/2 connections get GOAWAY: their open streams finish, then they close like any other.
    this.http2?.drain();
    // drain() stops accepting at once; the master waits for this before it says a reload is complete.
    const drained = this.connections.drain(this.servers);
    send({ t: 'closed' });
    await drained;
    try {
      await this.hosted?.close?.();
    } catch (err) {
      this.log.warn({ err }, 'App close failed');
    }
    // The final counts, so the master's totals include the requests this drain finished.
    await sendNow(this.heartbeatMessage());
    this.quickStop(exitCode);
  }

  quickStop(exitCode: number = EXIT.OK): never {
    this.accessLog?.flush();
    this.errorLog.flush();
    process.exit(exitCode);
  }

  fatal(err: unknown, what: string): void {
    this.log.fatal({ err }, `${what}; this worker stops accepting and will be replaced`);
    this.askRecycle('error');
    void this.gracefulStop(EXIT.RUNTIME);
  }
}

/** Built when the boot message comes; before it there is nothing to drain. */
let worker: Worker | undefined;

process.on('message', (msg: MasterMessage, handle?: object) => {
  switch (msg.t) {
    case 'boot':
      worker = new Worker(msg);
      void worker.start();
      break;
    case 'listener':
      if (msg.own) worker?.addHandle(msg.index, msg.own);
      else if (handle) worker?.addHandle(msg.index, handle);
      break;
    case 'metrics':
      worker?.scrape(msg.id);
      break;
  }
});

const gracefulStop = (): void => void (worker ? worker.gracefulStop() : process.exit(EXIT.OK));
const quickStop = (): void => void (worker ? worker.quickStop() : process.exit(EXIT.OK));
process.on('SIGTERM', gracefulStop);
process.on('SIGINT', quickStop);
process.on('SIGQUIT', quickStop);
process.on('SIGUSR1', () => worker?.reopenLogs());
// Job-control and reload signals are the master's business (a terminal sends them to the whole group).
for (const sig of ['SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGWINCH'] as const) process.on(sig, () => {});
// The master is gone (killed, or crashed): finish what is in flight and leave, like Gunicorn's ppid check.
process.on('disconnect', gracefulStop);

function fatal(err: unknown, what: string): void {
  if (worker) worker.fatal(err, what);
  else {
    console.error(err);
    process.exit(EXIT.RUNTIME);
  }
}
process.on('uncaughtException', (err) => fatal(err, 'Uncaught exception'));
process.on('unhandledRejection', (err) => fatal(err, 'Unhandled promise rejection'));
