/**
 * What the master binds at start (bindMaster: the public addresses, the pid file, its own
 * servers), and its own HTTP servers, each on an address of its own, never on the public port:
 * --metrics-bind serves /metrics and the health checks, --health-bind the health checks alone
 * (Kubernetes probes often target a port of their own). The master answers them itself, so they
 * work while every worker is busy.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { closeListener, type Listener, listen, parseBind } from './binds.js';
import { type ControlledMaster, ControlSocket } from './control-socket.js';
import { GatewayError } from './errors.js';
import { answerHealth, type HealthView } from './health.js';
import type { MasterMetrics } from './master-metrics.js';
import { removePidfile, writePidfile } from './pidfile.js';
import { useReusePort } from './reuse-port.js';
import type { Config } from './settings.js';
import { tlsEnabled, tlsOptions } from './tls.js';

const notFound = (res: http.ServerResponse) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');

export class MasterEndpoints {
  private readonly servers: http.Server[] = [];
  private control: ControlSocket | undefined;

  constructor(
    private readonly log: Logger,
    private readonly metrics: MasterMetrics,
    private readonly health: () => HealthView,
    /** What --control-socket controls. */
    private readonly master?: ControlledMaster,
  ) {}

  /** Binds what the configuration asks for, or throws GW_ERR_BIND (the caller undoes the rest). */
  async start(config: Pick<Config, 'metrics_bind' | 'health_bind' | 'control_socket'>): Promise<void> {
    if (config.control_socket && this.master) {
      this.control = new ControlSocket(config.control_socket, this.master, this.metrics, this.health, this.log);
      await this.control.start();
      this.log.info(`Control socket at: ${config.control_socket}`);
    }
    if (config.metrics_bind) {
      const url = await this.serve(config.metrics_bind, 'metrics', (req, res) => {
        if (answerHealth(req, res, this.health)) return;
        if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) return notFound(res);
        this.metrics.collect().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
          (err: unknown) => {
            this.log.error({ err }, 'Metrics collection failed');
            res.writeHead(500).end();
          },
        );
      });
      this.log.info(`Metrics at: ${url}/metrics`);
    }
    if (config.health_bind) {
      const url = await this.serve(config.health_bind, 'health checks', (req, res) => {
        if (!answerHealth(req, res, this.health)) notFound(res);
      });
      this.log.info(`Health checks at: ${url}/livez and ${url}/readyz`);
    }
  }

  /** Closes every server and every connection on it (a probe's keep-alive must not hold the exit). */
  async stop(): Promise<void> {
    await this.control?.stop();
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  /** Listens on `address`; the URL as bound (an ephemeral port resolved), or the unix socket given. */
  private async serve(address: string, what: string, handler: http.RequestListener): Promise<string> {
    const bind = parseBind(address);
    const server = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new GatewayError('GW_ERR_BIND', `cannot serve ${what} on ${address}: ${err.code ?? err.message}`)),
      );
      if (bind.kind === 'unix') server.listen(bind.path, resolve);
      else server.listen(bind.port, bind.host, resolve);
    });
    this.servers.push(server);
    const a = server.address();
    return typeof a === 'object' && a
      ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
      : address;
  }
}

/**
 * Binds, in order, the public addresses, the pid file, then the master's own servers, and logs the
 * addresses. Nothing is left half-bound on failure, and a bad certificate stops it before anything
 * binds.
 */
export async function bindMaster(config: Config, endpoints: MasterEndpoints, log: Logger): Promise<Listener[]> {
  if (tlsEnabled(config)) tlsOptions(config);
  const listeners: Listener[] = [];
  try {
    const reusePort = useReusePort(config, log);
    for (const bind of config.bind) {
      // unix: always shared (SO_REUSEPORT balances TCP only).
      const own = reusePort && bind.kind === 'tcp';
      listeners.push(await listen(bind, config.backlog, config.unix_socket_mode, own));
    }
    if (config.pidfile) writePidfile(config.pidfile);
    await endpoints.start(config);
  } catch (err) {
    listeners.forEach(closeListener);
    await endpoints.stop();
    if (config.pidfile) removePidfile(config.pidfile);
    throw err;
  }
  log.info(`Starting gateway (master pid: ${process.pid})`);
  const scheme = tlsEnabled(config) ? 'https' : 'http';
  for (const l of listeners)
    log.info(`Listening at: ${l.bind.kind === 'unix' ? l.address : `${scheme}://${l.address}`} (${process.pid})`);
  return listeners;
}
