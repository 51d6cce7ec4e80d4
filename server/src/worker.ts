/**
 * A worker process: receives its configuration and the master's listening handles, loads the app,
 * serves HTTP, beats its heartbeat from its event loop, and stops as the master (or a signal) says.
 * Signals, as in Gunicorn's workers: TERM graceful, INT/QUIT quick, USR1 reopen the logs.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { type HostedApp, loadApp } from './app-loader.js';
import { ConnectionDrain } from './drain.js';
import { EXIT, exitCodeOf, GatewayError } from './errors.js';
import { fetchListener } from './fetch-adapter.js';
import { compileTrust, type TrustFn } from './forwarded.js';
import { createPipeline, mayContinue, rawRefusal, vetUpgrade } from './http-handler.js';
import { type AccessLog, createAccessLog, createErrorLog, type ReopenableLogger } from './logger.js';
import type { BootMessage, Heartbeat, MasterMessage, WorkerMessage } from './protocol.js';
import { tlsEnabled, tlsOptions } from './tls.js';
import { WorkerStats } from './worker-stats.js';

let boot: BootMessage | undefined;
let errorLog: ReopenableLogger | undefined;
let accessLog: AccessLog | undefined;
let hosted: HostedApp | undefined;
const servers: http.Server[] = [];
/** The master's bound sockets (raw TCP or Pipe handles), listened on here. */
const handles = new Map<number, object>();
let listening = false;
let recycleReason: 'max_requests' | 'memory' | 'error' | undefined;
let maxRequests = 0;
const stats = new WorkerStats();
const connections = new ConnectionDrain();
const draining = () => connections.draining;

/** Resolves once the message is written to the channel, or at once if the master is gone ('disconnect' handles that). */
function sendNow(msg: WorkerMessage): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => process.send!(msg, undefined, undefined, () => resolve()));
}

function send(msg: WorkerMessage): void {
  void sendNow(msg);
}

function heartbeatMessage(): Heartbeat {
  const rss = process.memoryUsage.rss();
  return boot?.config.metrics_bind ? { t: 'hb', rss, counts: stats.counts() } : { t: 'hb', rss };
}

// The heartbeat is a timer on this event loop: if the loop blocks, the beats stop and the master notices.
let heartbeat = setInterval(beat, 1000);
function beat(): void {
  const hb = heartbeatMessage();
  send(hb);
  if (draining() || !boot) return;
  const limitMb = boot.config.max_worker_memory;
  if (limitMb > 0 && hb.rss > limitMb * 1024 * 1024) recycleReason ??= 'memory';
  // Asked again every beat until granted: the master may have been busy with another recycle.
  if (recycleReason) send({ t: 'recycle', reason: recycleReason });
}

function askRecycle(reason: 'max_requests' | 'memory' | 'error'): void {
  if (recycleReason === undefined || reason === 'error') {
    recycleReason = reason;
    send({ t: 'recycle', reason });
  }
}

function log() {
  return errorLog?.logger;
}

async function onBoot(msg: BootMessage): Promise<void> {
  boot = msg;
  const { config } = msg;
  errorLog = createErrorLog(config.errorlog, config.loglevel, 'worker');
  if (config.metrics_bind) stats.collectDefaults();
  if (config.accesslog) accessLog = createAccessLog(config.accesslog);
  clearInterval(heartbeat);
  heartbeat = setInterval(beat, Math.min(1000, (config.timeout * 1000) / 4));
  if (config.max_requests > 0) {
    maxRequests = config.max_requests + Math.floor(Math.random() * (config.max_requests_jitter + 1));
  }
  try {
    hosted = await loadApp(msg.app, { trustProxy: true, workerId: msg.workerId, generation: msg.generation });
  } catch (err) {
    const detail =
      err instanceof GatewayError ? { code: err.code, msg: err.message } : { code: 'GW_ERR_APP_LOAD', err };
    errorLog.logger.error(detail, `Worker failed to load app ${msg.app}`);
    errorLog.flush();
    // The master tells an app that cannot load from a worker that cannot boot by this status.
    process.exit(exitCodeOf('GW_ERR_APP_LOAD'));
  }
  const listener = hosted.kind === 'fetch' ? fetchListener(hosted.handle) : hosted.handle;
  const trust = compileTrust(config.forwarded_allow_ips);
  const pipeline = createPipeline({
    config,
    trust,
    app: listener,
    stats,
    errorLog: errorLog.logger,
    accessLog,
    // Asked once; the heartbeat repeats the request until the master grants it.
    maxRequests,
    onMaxRequests: () => askRecycle('max_requests'),
  });
  try {
    // TLS files are read here, once per worker boot: a HUP reload serves a renewed certificate.
    const tls = tlsEnabled(config) ? tlsOptions(config) : undefined;
    for (let i = 0; i < msg.listeners; i++) servers.push(createServer(pipeline, trust, tls));
  } catch (err) {
    // A certificate replaced by a bad one before a HUP: this worker cannot boot, the reload is
    // aborted and the old workers keep serving.
    errorLog.logger.error({ err }, `Worker cannot create its server: ${(err as Error).message}`);
    quickStop(exitCodeOf('GW_ERR_WORKER_BOOT'));
  }
  maybeListen();
}

function createServer(
  pipeline: http.RequestListener,
  trust: TrustFn,
  tls: https.ServerOptions | undefined,
): http.Server {
  const { config } = boot!;
  const options: http.ServerOptions = {
    maxHeaderSize: config.limit_request_header_size,
    headersTimeout: config.header_timeout * 1000,
    requestTimeout: config.request_timeout * 1000,
    keepAliveTimeout: config.keepalive * 1000,
    // How often the header/request timeouts are checked; Node's 30 s default would let a slow
    // client hold a connection up to 30 s past its deadline.
    connectionsCheckingInterval: 1000,
  };
  const server: http.Server = tls
    ? https.createServer({ ...options, ...tls }, pipeline)
    : http.createServer(options, pipeline);
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    log()?.debug({ code: err.code, peer: socket.remoteAddress }, `TLS handshake failed: ${err.message}`);
  });
  connections.track(server);
  // No truncation: Node would silently drop headers past the count (Host among them); the pipeline
  // counts them and answers 431, and maxHeaderSize bounds the memory.
  server.maxHeadersCount = 0;
  server.maxConnections = config.worker_connections;
  // Expect: 100-continue. Node's default would send "100 Continue" before any check, inviting an
  // oversized upload only to refuse it. Refused heads get their 413/414/431 instead (emitted as a
  // 'request' so the pipeline answers it and the drain still sees it); good ones are invited.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (mayContinue(req, config)) res.writeContinue();
    server.emit('request', req, res);
  });
  // HTTP Upgrade (WebSocket): vetted like any request, then the app takes the connection over.
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refusal = vetUpgrade(req, config, trust) ?? (hosted?.upgrade ? undefined : rawRefusal(501));
    if (refusal || draining()) {
      socket.end(refusal ?? rawRefusal(503));
      return;
    }
    try {
      hosted!.upgrade!(req, socket, head);
    } catch (err) {
      log()?.error({ err }, 'Error handling upgrade');
      socket.destroy();
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const inProgress = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    stats.record(status, 0);
    log()?.debug({ code: err.code, peer: socket.remoteAddress }, `Malformed request: ${err.message}`);
    socket.end(rawRefusal(status));
  });
  return server;
}

function maybeListen(): void {
  if (listening || !boot || !hosted || handles.size < boot.listeners) return;
  listening = true;
  let pending = servers.length;
  servers.forEach((server, i) => {
    server.once('error', (err) => {
      log()?.error({ err }, 'Worker cannot listen on the shared socket');
      quickStop(exitCodeOf('GW_ERR_WORKER_BOOT'));
    });
    server.listen(handles.get(i)!, boot!.config.backlog, () => {
      if (--pending > 0) return;
      log()?.info(`Worker ready (app kind: ${hosted!.kind})`);
      send({ t: 'ready' });
    });
  });
}

async function gracefulStop(exitCode: number = EXIT.OK): Promise<void> {
  if (draining()) return;
  const timeoutS = boot?.config.graceful_timeout ?? 0;
  log()?.info(`Worker draining (graceful timeout ${timeoutS}s)`);
  setTimeout(() => quickStop(exitCode), timeoutS * 1000).unref();
  // WebSockets are closed by their own protocol, 1001 "going away", not by cutting TCP; the
  // drain then waits for their connections like any other, up to the graceful timeout.
  const wss = hosted?.webSockets?.();
  if (wss) for (const client of wss.clients) client.close(1001, 'going away');
  await connections.drain(servers);
  try {
    await hosted?.close?.();
  } catch (err) {
    log()?.warn({ err }, 'App close failed');
  }
  // The final counts, so the master's totals include the requests this drain finished.
  await sendNow(heartbeatMessage());
  quickStop(exitCode);
}

function quickStop(exitCode: number = EXIT.OK): never {
  accessLog?.flush();
  errorLog?.flush();
  process.exit(exitCode);
}

process.on('message', (msg: MasterMessage, handle?: object) => {
  switch (msg.t) {
    case 'boot':
      void onBoot(msg);
      break;
    case 'listener':
      if (handle) handles.set(msg.index, handle);
      maybeListen();
      break;
    case 'metrics':
      void stats
        .defaultMetrics()
        .then((defaults) =>
          send({ t: 'metrics', id: msg.id, counts: stats.counts(), inFlight: stats.inFlight, defaults }),
        );
      break;
  }
});

process.on('SIGTERM', () => void gracefulStop());
process.on('SIGINT', () => quickStop());
process.on('SIGQUIT', () => quickStop());
process.on('SIGUSR1', () => {
  errorLog?.reopen();
  accessLog?.reopen();
});
// Job-control and reload signals are the master's business (a terminal sends them to the whole group).
for (const sig of ['SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGWINCH'] as const) process.on(sig, () => {});
// The master is gone (killed, or crashed): finish what is in flight and leave, like Gunicorn's ppid check.
process.on('disconnect', () => void gracefulStop());

function fatal(err: unknown, what: string): void {
  log()?.fatal({ err }, `${what}; this worker stops accepting and will be replaced`);
  if (!errorLog) console.error(err);
  askRecycle('error');
  void gracefulStop(EXIT.RUNTIME);
}
process.on('uncaughtException', (err) => fatal(err, 'Uncaught exception'));
process.on('unhandledRejection', (err) => fatal(err, 'Unhandled promise rejection'));
