// The topologies, started natively as local processes (no Docker): the gateway,
// Debian's nginx with the project's config in front of the app's own server or of
// the gateway, and the Python reference (gunicorn + Flask), alone or behind nginx;
// the Node ones also with TLS at the entry. Every serving process of a topology
// can be pinned to the same CPUs (`taskset -c`, inherited by children), so each
// gets the same CPU budget, nginx included; pids() lists all of them for CPU
// accounting. The comparison runner, the reliability faults and the cross-package
// tests start them here.
//
//   const t = await startTopology('full', { workers: 2, cpus: '1' });
//   // … load t.baseUrl …
//   await t.stop();
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedDevCertDir } from './cert.ts';
import { Gateway } from './gateway.ts';
import { httpStatus } from './http.ts';
import { startNativeNginx } from './nginx.ts';
import { freePort } from './ports.ts';
import { launch } from './process.ts';
import { type Serving, servingOf, vanished } from './serving.ts';
import { GUNICORN_BIN, missingBuild, NGINX_BIN, onPath, ROOT } from './tools.ts';
import { nginxWorkerGid, socketDir } from './unix-socket.ts';

/** The plain-HTTP topologies (the comparison's default run). */
export const TOPOLOGIES = ['gateway', 'proxy', 'full', 'gunicorn', 'nginx-gunicorn'] as const;
/** The Node topologies with TLS at the entry: the gateway itself (--certfile/--keyfile), or nginx (its 8443 server). */
export const TLS_TOPOLOGIES = ['gateway-tls', 'full-tls', 'proxy-tls'] as const;
/** `full` with nginx → gateway over a unix socket instead of loopback TCP (unix-socket.ts has the permissions). */
export const UDS_TOPOLOGIES = ['full-uds'] as const;
export const ALL_TOPOLOGIES = [...TOPOLOGIES, ...TLS_TOPOLOGIES, ...UDS_TOPOLOGIES] as const;
export type TopologyName = (typeof ALL_TOPOLOGIES)[number];
export const isTls = (name: string): boolean => name.endsWith('-tls');
const isPython = (name: TopologyName): boolean => name === 'gunicorn' || name === 'nginx-gunicorn';
const hasNginx = (name: TopologyName): boolean => name !== 'gateway' && name !== 'gateway-tls' && name !== 'gunicorn';

export interface TopologyOptions {
  /** Gateway/gunicorn workers, or app processes behind nginx in `proxy`. Default 2. */
  workers?: number;
  /** `taskset -c` list every serving process is pinned to (e.g. '1'); none when absent. */
  cpus?: string | undefined;
  /** Port the topology's entry point listens on (127.0.0.1); default a free one. */
  port?: number;
  /** Keep nginx's JSON access log (to a file) instead of `access_log off`. Default off. */
  nginxAccessLog?: boolean | undefined;
  /** nginx `worker_processes`; default 1 when `cpus` names one CPU, else as shipped (auto). */
  nginxWorkers?: number | 'auto';
  /**
   * The gateway's --log-level: 'warning' (default) logs nothing per worker, as measurements want;
   * 'info' logs every worker's boot, readiness and exit, which `gateway` and crashes() read.
   */
  gatewayLogLevel?: 'debug' | 'info' | 'warning' | 'error';
  /** More gateway options, e.g. ['--timeout', '2']. */
  gatewayArgs?: string[];
}

/** A native topology: a Serving on 127.0.0.1 whose processes are all children of this one. */
export interface Topology extends Serving {
  readonly name: TopologyName;
  /** The entry port (baseUrl's). */
  readonly port: number;
  /** The gateway's master where the topology has one: its log lines, its workers, signals. */
  readonly gateway?: Gateway;
  /** Crash evidence: the gateway's log lines about a worker that exited or was killed, and processes of the starting set that are gone. */
  crashes(): string[];
  stop(): Promise<void>;
}

/** Why a topology cannot run here, or undefined when it can. */
export function unavailable(name: TopologyName): string | undefined {
  if (isTls(name) && !onPath('openssl')) return 'no openssl (for the self-signed certificate)';
  if (!isPython(name) && missingBuild()) return 'app/server not built (npm run build)';
  if (hasNginx(name) && !existsSync(NGINX_BIN)) return `no nginx at ${NGINX_BIN} (apt-get install -y nginx)`;
  if (isPython(name)) {
    if (!existsSync(GUNICORN_BIN)) return `no gunicorn at ${GUNICORN_BIN} (apt-get install -y gunicorn python3-flask)`;
    if (spawnSync('python3', ['-c', 'import flask'], { stdio: 'ignore' }).status !== 0)
      return 'python3 cannot import flask (apt-get install -y python3-flask)';
  }
  return undefined;
}

/** What a readiness wait needs of a process that is starting. */
interface Starting {
  exited(): boolean;
  tree(): number[];
  stderr(): string;
  stop(): Promise<unknown>;
}

/**
 * Waits until `path` answers 200 and the process tree has `minProcs` processes (a master and
 * its workers: the first worker up is not the whole pool); stops the process on failure.
 */
async function ready(
  p: Starting,
  port: number,
  path: string,
  minProcs: number,
  what: string,
  tls = false,
  socket?: string,
) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (p.exited()) break;
    const probe = { tls, ...(socket ? { socketPath: socket } : {}) };
    if ((await httpStatus(port, path, probe)) === 200 && p.tree().length >= minProcs) {
      // Workers booting after the first answered: a moment for the rest to listen.
      await sleep(300);
      return;
    }
    await sleep(100);
  }
  await p.stop();
  throw new Error(`${what} did not become ready on ${socket ?? `127.0.0.1:${port}`} within 20 s:\n${p.stderr()}`);
}

const NODE_ENV = { NODE_ENV: 'production', LOG_LEVEL: 'warn' };

interface GatewaySpec {
  workers: number;
  port: number;
  cpus: string | undefined;
  /** Behind nginx on the same host: believe its X-Forwarded-* (what compose does with private ranges). */
  behindProxy: boolean;
  tlsDir?: string | undefined;
  /** Listen on this unix socket (its default mode, 660) instead of 127.0.0.1:port. */
  unixSocket?: string;
  logLevel: string;
  extraArgs: string[];
}

async function gateway(g: GatewaySpec): Promise<Gateway> {
  const args = [
    ...['-w', String(g.workers), '-b', g.unixSocket ? `unix:${g.unixSocket}` : `127.0.0.1:${g.port}`],
    ...['--log-level', g.logLevel],
    ...(g.tlsDir ? ['--certfile', join(g.tlsDir, 'tls.crt'), '--keyfile', join(g.tlsDir, 'tls.key')] : []),
    ...(g.behindProxy ? ['--forwarded-allow-ips', '127.0.0.1'] : []),
    ...g.extraArgs,
    'app/dist/app.js',
  ];
  const gw = new Gateway(args, NODE_ENV, { cpus: g.cpus, cwd: ROOT });
  const starting: Starting = {
    exited: () => gw.exitCode !== undefined,
    tree: () => gw.pids(),
    stderr: () => gw.stderrText.slice(-32 * 1024),
    stop: () => gw.stop(),
  };
  await ready(starting, g.port, '/healthz', g.workers + 1, 'gateway', g.tlsDir !== undefined, g.unixSocket);
  // With the workers' lines logged, wait until each has said it is ready.
  if (g.logLevel === 'info' || g.logLevel === 'debug')
    await gw.until('all workers ready', () => gw.readyWorkers().length === g.workers);
  return gw;
}

async function standalone(port: number, cpus: string | undefined): Promise<Starting> {
  const env = { ...NODE_ENV, HOST: '127.0.0.1', PORT: String(port), TRUST_PROXY: 'loopback' };
  const p = launch([process.execPath, 'app/dist/standalone.js'], { env, cpus });
  await ready(p, port, '/healthz', 1, 'standalone app');
  return p;
}

async function gunicorn(workers: number, port: number, cpus: string | undefined): Promise<Starting> {
  // Sync workers (Gunicorn's default), as the seed's stack ships; no access log (Gunicorn's default).
  const argv = [
    ...[GUNICORN_BIN, '-w', String(workers), '-k', 'sync', '-b', `127.0.0.1:${port}`],
    ...['--graceful-timeout', '5', '--log-level', 'warning', '--chdir', join(ROOT, 'loadtest/reference')],
    'flask_app:app',
  ];
  const p = launch(argv, { env: { PYTHONDONTWRITEBYTECODE: '1' }, cpus });
  await ready(p, port, '/healthz', workers + 1, 'gunicorn');
  return p;
}

export async function startTopology(name: TopologyName, opts: TopologyOptions = {}): Promise<Topology> {
  const why = unavailable(name);
  if (why) throw new Error(`topology ${name} cannot run here: ${why}`);
  const workers = opts.workers ?? 2;
  const cpus = opts.cpus;
  const port = opts.port || (await freePort());
  const oneCpu = cpus !== undefined && /^\d+$/.test(cpus);
  const nginxOpts = {
    cpus,
    staticDir: join(ROOT, 'app/static'),
    accessLog: opts.nginxAccessLog ? ('file' as const) : ('off' as const),
    // `auto` means one worker per core; the budget here is `cpus`, not the machine.
    workerProcesses: opts.nginxWorkers ?? (oneCpu ? 1 : undefined),
  };
  const gatewaySpec = (at: number, behindProxy: boolean, tlsDir?: string): GatewaySpec => ({
    workers,
    port: at,
    cpus,
    behindProxy,
    tlsDir,
    logLevel: opts.gatewayLogLevel ?? 'warning',
    extraArgs: opts.gatewayArgs ?? [],
  });
  const backends: Starting[] = [];
  let gw: Gateway | undefined;
  const stopAll = async (front?: Serving): Promise<void> => {
    await front?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  };
  const backendPids = () => backends.flatMap((b) => b.tree());
  const result = (front?: Serving & { pids(): number[] }, at = port): Topology => {
    const pids = () => [...(front?.pids() ?? []), ...backendPids()];
    const initial = pids();
    const base = servingOf(name, `${isTls(name) ? 'https' : 'http'}://127.0.0.1:${at}`, pids, () => stopAll(front));
    const crashes = () => [...(gw?.crashes() ?? []), ...vanished(initial).map((pid) => `pid ${pid} is gone`)];
    return { ...base, name, port: at, ...(gw ? { gateway: gw } : {}), crashes };
  };
  const addGateway = async (spec: GatewaySpec) => {
    gw = await gateway(spec);
    const g = gw;
    backends.push({
      exited: () => g.exitCode !== undefined,
      tree: () => g.pids(),
      stderr: () => '',
      stop: () => g.stop(),
    });
  };
  try {
    if (name === 'gateway' || name === 'gateway-tls') {
      await addGateway(gatewaySpec(port, false, name === 'gateway-tls' ? sharedDevCertDir() : undefined));
      return result();
    }
    if (name === 'gunicorn') {
      backends.push(await gunicorn(workers, port, cpus));
      return result();
    }
    if (name === 'full-uds') {
      // nginx first: the socket's directory is given to its workers' group, read from a running worker.
      const sock = socketDir();
      backends.push({ exited: () => false, tree: () => [], stderr: () => '', stop: async () => sock.remove() });
      const nginx = await startNativeNginx({ ...nginxOpts, port, upstreams: [`unix:${sock.path}`] });
      try {
        sock.grant(nginxWorkerGid(nginx.pids()));
        await addGateway({ ...gatewaySpec(0, false), unixSocket: sock.path });
      } catch (error) {
        await nginx.stop();
        throw error;
      }
      return result(nginx);
    }
    const upstreams: string[] = [];
    if (name === 'proxy' || name === 'proxy-tls') {
      for (let i = 0; i < workers; i++) {
        const p = await freePort();
        upstreams.push(`127.0.0.1:${p}`);
        backends.push(await standalone(p, cpus));
      }
    } else {
      const bport = await freePort();
      upstreams.push(`127.0.0.1:${bport}`);
      if (name === 'nginx-gunicorn') backends.push(await gunicorn(workers, bport, cpus));
      else await addGateway(gatewaySpec(bport, true));
    }
    if (isTls(name)) {
      // nginx terminates TLS on its 8443 server (the shipped tls.conf), plain HTTP behind it; the entry is the TLS port.
      const tlsPort = opts.port || (await freePort());
      const nginx = await startNativeNginx({
        ...nginxOpts,
        port: await freePort(),
        tlsPort,
        certDir: sharedDevCertDir(),
        upstreams,
      });
      return result(nginx, nginx.tlsPort);
    }
    return result(await startNativeNginx({ ...nginxOpts, port, upstreams }));
  } catch (error) {
    await stopAll();
    throw error;
  }
}
