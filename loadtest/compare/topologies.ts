// The topologies of the comparison, started natively as local processes (no
// Docker): the gateway, the app's own server, Debian's nginx with the project's
// config, and the Python reference (gunicorn + Flask). Every serving process of a
// topology can be pinned to the same CPUs (`taskset -c`, inherited by children),
// so each gets the same CPU budget, nginx included; pids() lists all of them for
// CPU accounting.
//
//   const t = await startTopology('full', { workers: 2, cpus: '1' });
//   // … load t.baseUrl …
//   await t.stop();
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, makeSelfSignedCert, NGINX_BIN, nginxVersion, startNativeNginx } from './native-nginx.ts';
import { cpuCounter, tree } from './procstat.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The default run's topologies (plain HTTP). */
export const TOPOLOGIES = ['gateway', 'proxy', 'full', 'gunicorn', 'nginx-gunicorn'] as const;
/** The same Node topologies with TLS at the entry: the gateway itself (--certfile/--keyfile), or nginx (its 8443 server). Only when named. */
export const TLS_TOPOLOGIES = ['gateway-tls', 'full-tls', 'proxy-tls'] as const;
export const ALL_TOPOLOGIES = [...TOPOLOGIES, ...TLS_TOPOLOGIES] as const;
export type TopologyName = (typeof ALL_TOPOLOGIES)[number];
export const isTls = (name: string): boolean => name.endsWith('-tls');
export const GUNICORN_BIN = process.env.GUNICORN_BIN ?? '/usr/bin/gunicorn';

/** One line per topology: the path of a request, and its Python analogue. */
export const DESCRIPTIONS: Record<TopologyName, string> = {
  gateway: 'client → gateway (N workers) → app',
  proxy: "client → nginx → N × app's own server (one process each)",
  full: 'client → nginx → gateway (N workers) → app',
  gunicorn: 'client → gunicorn (N sync workers) → Flask',
  'nginx-gunicorn': 'client → nginx → gunicorn (N sync workers) → Flask',
  'gateway-tls': 'client —TLS→ gateway (N workers, --certfile/--keyfile) → app',
  'full-tls': 'client —TLS→ nginx → gateway (N workers) → app',
  'proxy-tls': "client —TLS→ nginx → N × app's own server (one process each)",
};

let certDir: string | undefined;
/** One self-signed certificate (tls.crt, tls.key; P-256, localhost and 127.0.0.1) per process, shared by every TLS topology. */
export function devCertDir(): string {
  if (!certDir) {
    certDir = mkdtempSync(join(tmpdir(), 'gw-compare-cert-'));
    makeSelfSignedCert(certDir);
  }
  return certDir;
}

export interface TopologyOptions {
  /** Gateway/gunicorn workers, or app processes behind nginx in `proxy`. Default 2. */
  workers?: number;
  /** `taskset -c` list every serving process is pinned to (e.g. '1'); none when absent. */
  cpus?: string | undefined;
  /** Port the topology's entry point listens on (127.0.0.1); default a free one. */
  port?: number;
  /** Keep nginx's JSON access log (to a file) instead of `access_log off`. Default off. */
  nginxAccessLog?: boolean;
  /** nginx `worker_processes`; default 1 when `cpus` names one CPU, else as shipped (auto). */
  nginxWorkers?: number | 'auto';
}

export interface Topology {
  name: TopologyName;
  /** http://127.0.0.1:PORT (https:// for the -tls topologies), no trailing slash. */
  baseUrl: string;
  port: number;
  /** Every serving process (nginx master+workers, gateway master+workers, apps, gunicorn master+workers), fresh from /proc. */
  pids(): number[];
  /** CPU seconds every serving process has used since the topology started serving (cumulative; take differences). */
  cpuSeconds(): number;
  /** Graceful stop of everything, front to back. */
  stop(): Promise<void>;
}

/** Why a topology cannot run here, or undefined when it can. */
export function unavailable(name: TopologyName): string | undefined {
  const nodeBuilt = ['app/dist/app.js', 'app/dist/standalone.js', 'server/dist/cli.js'].every((f) =>
    existsSync(join(ROOT, f)),
  );
  if (isTls(name) && spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status !== 0)
    return 'no openssl (for the self-signed certificate)';
  if (name !== 'gunicorn' && name !== 'nginx-gunicorn' && !nodeBuilt) return 'app/server not built (npm run build)';
  if (
    (name === 'proxy' || name === 'full' || name === 'nginx-gunicorn' || name === 'full-tls' || name === 'proxy-tls') &&
    !existsSync(NGINX_BIN)
  )
    return `no nginx at ${NGINX_BIN} (apt-get install -y nginx)`;
  if (name === 'gunicorn' || name === 'nginx-gunicorn') {
    if (!existsSync(GUNICORN_BIN)) return `no gunicorn at ${GUNICORN_BIN} (apt-get install -y gunicorn python3-flask)`;
    if (spawnSync('python3', ['-c', 'import flask'], { stdio: 'ignore' }).status !== 0)
      return 'python3 cannot import flask (apt-get install -y python3-flask)';
  }
  return undefined;
}

/** Versions of what serves, for the report. */
export function versions(): Record<string, string> {
  const out = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : '';
  };
  return {
    node: process.version,
    nginx: nginxVersion(),
    gunicorn: existsSync(GUNICORN_BIN)
      ? out(GUNICORN_BIN, ['--version']).replace(/^gunicorn \(version ([^)]+)\)$/, '$1')
      : '',
    flask: out('python3', ['-c', 'import importlib.metadata as m; print(m.version("flask"))']),
    python: out('python3', ['--version']).replace(/^Python /, ''),
  };
}

function hasTaskset(): boolean {
  return spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
}

interface Proc {
  proc: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Spawns a serving process (pinned when `cpus`), keeping the tail of its stderr for error messages. */
function serve(argv: string[], env: NodeJS.ProcessEnv, cpus?: string): Proc {
  const full = cpus && hasTaskset() ? ['taskset', '-c', cpus, ...argv] : argv;
  const proc = spawn(full[0]!, full.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-32 * 1024);
  });
  return {
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

function get(port: number, path: string, tls = false): Promise<number> {
  return new Promise((r) => {
    const opts = { host: '127.0.0.1', port, path, agent: false as const, rejectUnauthorized: false };
    const req = (tls ? https : http).get(opts, (res) => {
      res.resume();
      res.on('end', () => r(res.statusCode ?? 0));
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => r(0));
  });
}

/**
 * Waits until `path` answers 200 and the process tree has `minProcs` processes
 * (a master and its workers: the first worker up is not the whole pool).
 */
async function ready(p: Proc, port: number, path: string, minProcs: number, what: string, tls = false): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (p.proc.exitCode !== null) break;
    if ((await get(port, path, tls)) === 200 && p.proc.pid && tree(p.proc.pid).length >= minProcs) {
      // Workers booting after the first answered: a moment for the rest to listen.
      await sleep(300);
      return;
    }
    await sleep(100);
  }
  await p.stop();
  throw new Error(
    `${what} did not become ready on 127.0.0.1:${port} within 20 s (exit ${p.proc.exitCode}):\n${p.stderr()}`,
  );
}

const NODE_ENV = { NODE_ENV: 'production', LOG_LEVEL: 'warn' };

async function gateway(
  workers: number,
  port: number,
  cpus: string | undefined,
  behindProxy: boolean,
  tlsDir?: string,
): Promise<Proc> {
  const argv = [
    process.execPath,
    'server/dist/cli.js',
    '-w',
    String(workers),
    '-b',
    `127.0.0.1:${port}`,
    '--log-level',
    'warning',
    ...(tlsDir ? ['--certfile', join(tlsDir, 'tls.crt'), '--keyfile', join(tlsDir, 'tls.key')] : []),
    // Behind nginx on the same host: believe its X-Forwarded-* (what compose does with private ranges).
    ...(behindProxy ? ['--forwarded-allow-ips', '127.0.0.1'] : []),
    'app/dist/app.js',
  ];
  const p = serve(argv, NODE_ENV, cpus);
  await ready(p, port, '/healthz', workers + 1, 'gateway', tlsDir !== undefined);
  return p;
}

async function standalone(port: number, cpus: string | undefined): Promise<Proc> {
  const p = serve(
    [process.execPath, 'app/dist/standalone.js'],
    { ...NODE_ENV, HOST: '127.0.0.1', PORT: String(port), TRUST_PROXY: 'loopback' },
    cpus,
  );
  await ready(p, port, '/healthz', 1, 'standalone app');
  return p;
}

async function gunicorn(workers: number, port: number, cpus: string | undefined): Promise<Proc> {
  // Sync workers (Gunicorn's default), as the seed's stack ships; no access log (Gunicorn's default).
  const argv = [
    GUNICORN_BIN,
    '-w',
    String(workers),
    '-k',
    'sync',
    '-b',
    `127.0.0.1:${port}`,
    '--graceful-timeout',
    '5',
    '--log-level',
    'warning',
    '--chdir',
    join(ROOT, 'loadtest/reference'),
    'flask_app:app',
  ];
  const p = serve(argv, { PYTHONDONTWRITEBYTECODE: '1' }, cpus);
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
    port,
    cpus,
    staticDir: join(ROOT, 'app/static'),
    accessLog: opts.nginxAccessLog ? ('file' as const) : ('off' as const),
    // `auto` means one worker per core; the budget here is `cpus`, not the machine.
    workerProcesses: opts.nginxWorkers ?? (oneCpu ? 1 : undefined),
  };
  const backends: Proc[] = [];
  const stopAll = async (front?: { stop(): Promise<void> }) => {
    await front?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  };
  const result = (pids: () => number[], front?: { stop(): Promise<void> }, at = port): Topology => ({
    name,
    port: at,
    baseUrl: `${isTls(name) ? 'https' : 'http'}://127.0.0.1:${at}`,
    pids,
    cpuSeconds: cpuCounter(pids),
    stop: () => stopAll(front),
  });
  const backendPids = () => backends.flatMap((b) => (b.proc.pid ? tree(b.proc.pid) : []));
  try {
    switch (name) {
      case 'gateway':
      case 'gateway-tls':
        backends.push(await gateway(workers, port, cpus, false, name === 'gateway-tls' ? devCertDir() : undefined));
        return result(backendPids);
      case 'gunicorn':
        backends.push(await gunicorn(workers, port, cpus));
        return result(backendPids);
      case 'full':
      case 'full-tls':
      case 'nginx-gunicorn': {
        const bport = await freePort();
        backends.push(
          name === 'nginx-gunicorn' ? await gunicorn(workers, bport, cpus) : await gateway(workers, bport, cpus, true),
        );
        if (name === 'full-tls') {
          // nginx terminates TLS on its 8443 server (the shipped tls.conf), plain HTTP to the gateway; the entry is the TLS port.
          const tlsPort = opts.port || (await freePort());
          const nginx = await startNativeNginx({
            ...nginxOpts,
            port: await freePort(),
            tlsPort,
            certDir: devCertDir(),
            upstreams: [`127.0.0.1:${bport}`],
          });
          return result(() => [...nginx.pids(), ...backendPids()], nginx, nginx.tlsPort);
        }
        const nginx = await startNativeNginx({ ...nginxOpts, upstreams: [`127.0.0.1:${bport}`] });
        return result(() => [...nginx.pids(), ...backendPids()], nginx);
      }
      case 'proxy':
      case 'proxy-tls': {
        const ports: number[] = [];
        for (let i = 0; i < workers; i++) {
          const p = await freePort();
          ports.push(p);
          backends.push(await standalone(p, cpus));
        }
        if (name === 'proxy-tls') {
          const tlsPort = opts.port || (await freePort());
          const nginx = await startNativeNginx({
            ...nginxOpts,
            port: await freePort(),
            tlsPort,
            certDir: devCertDir(),
            upstreams: ports.map((p) => `127.0.0.1:${p}`),
          });
          return result(() => [...nginx.pids(), ...backendPids()], nginx, nginx.tlsPort);
        }
        const nginx = await startNativeNginx({ ...nginxOpts, upstreams: ports.map((p) => `127.0.0.1:${p}`) });
        return result(() => [...nginx.pids(), ...backendPids()], nginx);
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export { GUNICORN_BIN as gunicornBin, NGINX_BIN as nginxBin };
