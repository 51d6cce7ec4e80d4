// The project's nginx config (nginx/templates/ rendered, plus nginx/includes) run
// by the distribution's nginx, outside Docker. The templates are rendered into a
// temp prefix as the image renders them at start (nginx-templates.ts: the image's
// own check script, then envsubst), with `template` for the variables a
// deployment sets, NGINX_BACKEND from `upstreams` and NGINX_PLAIN_HTTP from
// `plainHttp`. Then only what is the container's own is rewritten: `listen 8080`
// -> a loopback port, `listen 8443` (HTTPS) -> another, /tmp/nginx* -> the
// prefix, /srv/www -> a static root holding a copy of `staticDir`,
// /etc/nginx/certs -> a directory with a certificate (given, or a development one
// from scripts/dev-certificate.sh), and the upstream's one `server` line -> one
// line per upstream (same parameters). Every other line runs as rendered. By
// default the plain-HTTP port serves the site (`plainHttp: 'site'`, i.e.
// NGINX_PLAIN_HTTP=site), because the comparison runner measures plain HTTP;
// `plainHttp: 'redirect'` keeps the shipped 301 to HTTPS. Used by the native
// topologies (topologies.ts) and by test/nginx.test.ts.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { devCertificate } from './cert.ts';
import { httpStatus } from './http.ts';
import { type NginxTemplateVars, nginxConfigTree } from './nginx-templates.ts';
import { freePort } from './ports.ts';
import { launch } from './process.ts';
import { cpuCounter } from './procstat.ts';
import type { Serving } from './serving.ts';
import { NGINX_BIN } from './tools.ts';

export interface NativeNginxOptions {
  /** Upstream servers, `HOST:PORT` each, in place of `backend:8000`. */
  upstreams: string[];
  /** Port to listen on (127.0.0.1); 0 or absent: a free one. */
  port?: number;
  /** Copied to `<root>/static`, i.e. what nginx serves under /static/. */
  staticDir?: string;
  /** Where the JSON access log goes: a file in the prefix (default), or off (the directive rewritten to `access_log off`). */
  accessLog?: 'file' | 'off' | undefined;
  /** `worker_processes`: as shipped (`auto`) unless given. */
  workerProcesses?: number | 'auto' | undefined;
  /** Pin nginx (master and workers inherit it) to these CPUs with `taskset -c`. */
  cpus?: string | undefined;
  /** nginx binary; default NGINX_BIN or /usr/sbin/nginx. */
  nginxBin?: string;
  /** Keep the temp prefix after stop (to read logs). */
  keepPrefix?: boolean;
  /** HTTPS port (127.0.0.1) in place of `listen 8443`; 0 or absent: a free one. */
  tlsPort?: number;
  /**
   * A directory with tls.crt and tls.key, in place of /etc/nginx/certs; absent: a development certificate for
   * localhost/127.0.0.1 is made (scripts/dev-certificate.sh).
   */
  certDir?: string;
  /**
   * What the plain-HTTP port does with the site's requests: serve them ('site', default) or redirect them to HTTPS
   * as shipped ('redirect').
   */
  plainHttp?: 'site' | 'redirect';
  /** The HTTPS port the redirect names (what the image's entrypoint writes from NGINX_HTTPS_PORT); absent: none, i.e. 443. */
  httpsRedirectPort?: number;
  /** More rewrites of the rendered files, applied last; each must match at least once (a benchmark's one-change variants). */
  rewrites?: Array<[RegExp, string]>;
  /** Template variables (docs/containers.md); unset: the defaults. The backend and plain HTTP come from the options above. */
  template?: Omit<NginxTemplateVars, 'NGINX_BACKEND' | 'NGINX_PLAIN_HTTP'>;
}

/** nginx as a Serving: baseUrl is its plain-HTTP port. */
export interface NativeNginx extends Serving {
  port: number;
  /** The HTTPS (and HTTP/2) port. */
  tlsPort: number;
  /** Where tls.crt and tls.key are. */
  certDir: string;
  /** The temp prefix: conf/, run/, www/. */
  prefix: string;
  /** The access log file ('' when off). */
  accessLogPath: string;
  /** `nginx -v`. */
  version: string;
  /** The master and its workers. */
  pids(): number[];
  /** The tail of what nginx wrote on stderr (its error log). */
  stderr(): string;
  /** SIGQUIT (graceful), SIGKILL after 5 s; removes the prefix unless keepPrefix. */
  stop(): Promise<void>;
}

export function nginxVersion(bin = NGINX_BIN): string {
  if (!existsSync(bin)) return '';
  return spawnSync(bin, ['-v'], { encoding: 'utf8' })
    .stderr.trim()
    .replace(/^nginx version: /, '');
}

export async function startNativeNginx(opts: NativeNginxOptions): Promise<NativeNginx> {
  const bin = opts.nginxBin ?? NGINX_BIN;
  if (!existsSync(bin)) throw new Error(`no nginx at ${bin} (apt-get install -y nginx, or set NGINX_BIN)`);
  if (opts.upstreams.length === 0) throw new Error('startNativeNginx: at least one upstream');
  const port = opts.port || (await freePort());
  const tlsPort = opts.tlsPort || (await freePort());
  const prefix = mkdtempSync('/tmp/nginx-native-');
  // nginx's workers run as `nobody` when started as root: they must be able to
  // traverse the prefix and read the static files.
  chmodSync(prefix, 0o755);
  mkdirSync(join(prefix, 'run'));
  mkdirSync(join(prefix, 'www/static'), { recursive: true });
  if (opts.staticDir) cpSync(opts.staticDir, join(prefix, 'www/static'), { recursive: true });
  const certDir = join(prefix, 'certs');
  if (opts.certDir) cpSync(opts.certDir, certDir, { recursive: true });
  else devCertificate(certDir);
  if (opts.httpsRedirectPort !== undefined) {
    // What docker-entrypoint.d/30-tls-certificate.sh writes from NGINX_HTTPS_PORT.
    mkdirSync(join(prefix, 'run/nginx-runtime'));
    writeFileSync(join(prefix, 'run/nginx-runtime/https-port.conf'), `set $https_port ":${opts.httpsRedirectPort}";\n`);
  }
  let files: string[];
  try {
    files = nginxConfigTree(join(prefix, 'conf'), {
      ...opts.template,
      NGINX_BACKEND: opts.upstreams[0] as string,
      NGINX_PLAIN_HTTP: (opts.plainHttp ?? 'site') === 'site' ? 'site' : 'redirect-to-https',
    }).files;
  } catch (error) {
    rmSync(prefix, { recursive: true, force: true });
    throw error;
  }

  const accessLogPath = opts.accessLog === 'off' ? '' : join(prefix, 'stdout.log');
  const first = (opts.upstreams[0] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Each rewrite must match at least once: a config that no longer contains the
  // pattern would otherwise run with its container values (port 8080, /tmp).
  const rewrites: Array<[RegExp, string | ((...m: string[]) => string)]> = [
    [/listen 8080/g, `listen 127.0.0.1:${port}`],
    [/listen 8443/g, `listen 127.0.0.1:${tlsPort}`],
    [
      new RegExp(`server ${first}([^;]*);`, 'g'),
      (_m, params = '') => opts.upstreams.map((u) => `server ${u}${params};`).join('\n        '),
    ],
    [/\/tmp\/nginx/g, `${prefix}/run/nginx`],
    [/\/srv\/www/g, `${prefix}/www`],
    // After /tmp/nginx: the replacement is itself under /tmp/nginx-native-*.
    [/\/etc\/nginx\/certs/g, certDir],
  ];
  if (opts.accessLog === 'off') rewrites.push([/access_log \/dev\/stdout json;/g, 'access_log off;']);
  if (opts.workerProcesses !== undefined)
    rewrites.push([/worker_processes auto;/g, `worker_processes ${opts.workerProcesses};`]);
  rewrites.push(...(opts.rewrites ?? []));
  const hits = new Map<RegExp, number>(rewrites.map(([re]) => [re, 0]));
  for (const file of files) {
    let text = readFileSync(join(prefix, 'conf', file), 'utf8');
    for (const [re, to] of rewrites) {
      hits.set(re, (hits.get(re) ?? 0) + (text.match(re)?.length ?? 0));
      text = typeof to === 'string' ? text.replace(re, to) : text.replace(re, to as (...m: string[]) => string);
    }
    writeFileSync(join(prefix, 'conf', file), text);
  }
  for (const [re, n] of hits) {
    if (n === 0) {
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`the nginx config no longer contains ${re}: update harness/src/nginx.ts`);
    }
  }

  const args = ['-p', `${prefix}/`, '-c', join(prefix, 'conf/nginx.conf'), '-e', 'stderr'];
  // The access log goes to /dev/stdout, which nginx opens by path: that works for
  // a file or a pipe (Docker's), not for the socket node would give it.
  const stdoutFd = openSync(accessLogPath || '/dev/null', 'a');
  const check = spawnSync(bin, [...args, '-t'], { encoding: 'utf8', stdio: ['ignore', stdoutFd, 'pipe'] });
  if (check.status !== 0) {
    closeSync(stdoutFd);
    rmSync(prefix, { recursive: true, force: true });
    throw new Error(`nginx -t failed:\n${check.stderr}`);
  }
  // taskset execs nginx: the spawned pid is nginx's master.
  const nginx = launch([bin, ...args, '-g', 'daemon off;'], {
    cpus: opts.cpus,
    stdout: stdoutFd,
    stopSignal: 'SIGQUIT',
    killAfterMs: 5000,
  });
  closeSync(stdoutFd);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= nginx.stop().then(() => {
      if (!opts.keepPrefix) rmSync(prefix, { recursive: true, force: true });
    }));

  for (let i = 0; i < 100; i++) {
    if (nginx.exited()) break;
    // /nginx-health is answered by nginx alone, whatever the upstreams do.
    if ((await httpStatus(port, '/nginx-health', { hostHeader: 'localhost' })) === 200) {
      const cpuSeconds = cpuCounter(nginx.tree);
      cpuSeconds();
      return {
        name: 'nginx',
        baseUrl: `http://127.0.0.1:${port}`,
        port,
        tlsPort,
        certDir,
        prefix,
        accessLogPath,
        version: nginxVersion(bin),
        pids: nginx.tree,
        cpuSeconds,
        stderr: nginx.stderr,
        stop,
      };
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`nginx did not answer within 10 s (exit ${nginx.proc.exitCode}):\n${nginx.stderr()}`);
}
