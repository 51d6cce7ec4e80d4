// nginx/minimal.conf run by the distribution's nginx: the least nginx can do as a reverse proxy
// (one worker, upstream keep-alive, HTTP/1.1, no log), the yardstick the shipped config is priced
// against (the `minimal` and `minimal-uds` topologies, topologies.ts). Three rewrites, each of
// which must apply: `listen 8080` -> a loopback port, the upstream's `server 127.0.0.1:8000` ->
// the given upstream (HOST:PORT or unix:PATH), /tmp/nginx-minimal -> a temp prefix.
//
//   const n = await startMinimalNginx({ upstream: '127.0.0.1:9000', cpus: '1' });
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpStatus } from './http.ts';
import { freePort } from './ports.ts';
import { launch } from './process.ts';
import { cpuCounter } from './procstat.ts';
import type { Serving } from './serving.ts';
import { NGINX_BIN, ROOT } from './tools.ts';

export const MINIMAL_NGINX_CONF = join(ROOT, 'nginx/minimal.conf');

export interface MinimalNginxOptions {
  /** The gateway: `HOST:PORT` or `unix:PATH`. */
  upstream: string;
  /** Port to listen on (127.0.0.1); 0 or absent: a free one. */
  port?: number;
  /** `taskset -c` list nginx is pinned to. */
  cpus?: string | undefined;
  nginxBin?: string;
  /**
   * When it counts as up: 'proxying' (default), the gateway's /healthz answers through it; 'listening', its port
   * accepts connections and a worker runs (minimal-uds starts nginx first, to give its workers the socket's directory).
   */
  readyWhen?: 'proxying' | 'listening';
}

export interface MinimalNginx extends Serving {
  port: number;
  prefix: string;
  pids(): number[];
  stderr(): string;
}

/** nginx/minimal.conf with the three rewrites applied; throws when one of them no longer matches. */
export function renderMinimalConf(text: string, o: { port: number; upstream: string; prefix: string }): string {
  const rewrites: Array<[RegExp, string]> = [
    // The prefix first: the upstream's path may itself be under /tmp/nginx-minimal-*.
    [/\/tmp\/nginx-minimal/g, o.prefix],
    [/listen 8080;/g, `listen 127.0.0.1:${o.port};`],
    [/server 127\.0\.0\.1:8000;/g, `server ${o.upstream};`],
  ];
  for (const [re, to] of rewrites) {
    if (!re.test(text)) throw new Error(`nginx/minimal.conf no longer contains ${re}: update harness/src/minimal.ts`);
    text = text.replace(re, to);
  }
  return text;
}

/** `nginx -t` of the rendered config: the status and nginx's message. */
export function checkMinimalConf(conf: string, prefix: string, bin = NGINX_BIN): { ok: boolean; stderr: string } {
  const r = spawnSync(bin, ['-p', `${prefix}/`, '-c', conf, '-t'], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

export async function startMinimalNginx(o: MinimalNginxOptions): Promise<MinimalNginx> {
  const bin = o.nginxBin ?? NGINX_BIN;
  const port = o.port || (await freePort());
  const prefix = mkdtempSync('/tmp/nginx-minimal-');
  // Workers run as `nobody` when nginx starts as root: they must reach the temp paths.
  chmodSync(prefix, 0o755);
  const conf = join(prefix, 'nginx.conf');
  try {
    writeFileSync(
      conf,
      renderMinimalConf(readFileSync(MINIMAL_NGINX_CONF, 'utf8'), { port, upstream: o.upstream, prefix }),
    );
    const check = checkMinimalConf(conf, prefix, bin);
    if (!check.ok) throw new Error(`nginx -t failed on nginx/minimal.conf:\n${check.stderr}`);
  } catch (error) {
    rmSync(prefix, { recursive: true, force: true });
    throw error;
  }
  const nginx = launch([bin, '-p', `${prefix}/`, '-c', conf, '-g', 'daemon off;'], {
    cpus: o.cpus,
    stopSignal: 'SIGQUIT',
    killAfterMs: 5000,
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= nginx.stop().then(() => rmSync(prefix, { recursive: true, force: true })));
  // No location of nginx's own: ready when the gateway's /healthz answers through it (or when it listens).
  const up = async () =>
    o.readyWhen === 'listening'
      ? nginx.tree().length >= 2 && (await accepts(port))
      : (await httpStatus(port, '/healthz')) === 200;
  for (let i = 0; i < 100; i++) {
    if (nginx.exited()) break;
    if (await up()) {
      const cpuSeconds = cpuCounter(nginx.tree);
      cpuSeconds();
      return {
        name: 'nginx-minimal',
        baseUrl: `http://127.0.0.1:${port}`,
        port,
        prefix,
        pids: nginx.tree,
        cpuSeconds,
        stderr: nginx.stderr,
        stop,
      };
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`nginx (minimal.conf) was not up within 10 s:\n${nginx.stderr()}`);
}

/** A TCP connection to 127.0.0.1:port opens within 1 s. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.destroy();
      resolve(true);
    });
    c.setTimeout(1000, () => {
      c.destroy();
      resolve(false);
    });
    c.on('error', () => resolve(false));
  });
}
