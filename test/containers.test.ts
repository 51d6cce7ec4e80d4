// The images and every compose profile, built and run on a real Docker engine.
//
// For each topology (gateway, proxy, full) this brings the profile up under its
// own compose project, talks to it only through its port published on
// 127.0.0.1, and checks what differs between topologies: who answers /static
// (nginx or the app), what the app believes the client's address and scheme are,
// where the body limit bites (413), that a SIGTERM to the stack lets an in-flight
// request finish, and that nginx follows a backend that was scaled or recreated
// with a new address. Then the Node image alone under `docker run --read-only`.
// Last, the project as a template: the images built around examples/express and
// nginx configured for another server name and backend by variables alone, under
// a compose project, image tag and ports of their own; and a bad nginx variable,
// which must stop the nginx container at start, naming it.
// Every profile is used over HTTPS with its development certificate: nginx's own
// (HTTP/2, HSTS, plain HTTP redirected) in proxy and full, the gateway's own TLS
// in the gateway profile; /ws echoes through each, and stopping the backend
// closes an open WebSocket with 1001 "going away", through nginx too.
//
// Needs `docker info` to answer (.ci/docker-engine.sh starts an engine) and the
// base images present (.ci/base-images.sh builds stand-ins where no registry is
// reachable). Without an engine the suite is skipped with the reason, unless
// REQUIRE_DOCKER=1, which turns that into a failure. Everything it creates is
// removed at the end, also on failure.
//
// Environment: COMPOSE_CLI ("docker compose" or "docker-compose"; default: the
// first that works), REQUIRE_DOCKER=1, KEEP_STACK=1 (leave the last profile up).
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  composeCli,
  dockerAnswers,
  freePort,
  type Ran,
  renderNginxTemplates,
  run,
  runAsync,
  pollFor as waitFor,
} from '@gw/harness';
import { WebSocket } from 'ws';
import { Load, ok } from '../reliability/lib/measure.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const limits = JSON.parse(readFileSync(join(ROOT, 'config/limits.json'), 'utf8')) as { bodyLimitBytes: number };
const PROJECT = 'stacktest';
const IMAGE = 'node-gateway-stack';
const TAG = 'containertest';
const NODE_IMAGE = `${IMAGE}:${TAG}`;
const NGINX_IMAGE = `${IMAGE}-nginx:${TAG}`;
const RO_CONTAINER = `${PROJECT}-readonly`;
const PLACEHOLDER = `${PROJECT}-placeholder`;
const log = (line: string): void => {
  process.stdout.write(`# containers: ${line}\n`);
};

// ---- running commands (every one bounded in time) ---------------------------------

const docker = (args: string[], opts?: Parameters<typeof run>[2]): Ran => run('docker', args, opts);

const engineAnswers = dockerAnswers();
const requireDocker = process.env.REQUIRE_DOCKER === '1';
const cli = engineAnswers ? composeCli() : undefined;
const skip =
  engineAnswers && cli
    ? false
    : requireDocker
      ? false
      : engineAnswers
        ? 'no compose CLI (neither `docker compose` nor `docker-compose`): install docker-compose'
        : '`docker info` failed: no Docker engine answers (run .ci/docker-engine.sh, or set REQUIRE_DOCKER=1 to fail instead)';

let hostPorts: Record<string, number> = {};
/** Published ports that speak TLS (requests to them go over HTTPS). */
const TLS_PORTS = new Set<number>();
// The gateway profile runs with TLS: paths under /tmp that do not exist, so the
// image's entrypoint makes a development certificate there.
const GATEWAY_TLS_ENV = { GATEWAY_CERTFILE: '/tmp/tls/tls.crt', GATEWAY_KEYFILE: '/tmp/tls/tls.key' };

/** What compose reads for this test's project: its images, and its own free host ports. */
function composeEnv(): Record<string, string> {
  return {
    STACK_IMAGE: IMAGE,
    STACK_TAG: TAG,
    HOST_BIND: '127.0.0.1',
    HOST_PORT_GATEWAY: String(hostPorts.gateway),
    HOST_PORT_PROXY: String(hostPorts.proxy),
    HOST_PORT_FULL: String(hostPorts.full),
    HOST_PORT_PROXY_TLS: String(hostPorts.proxyTls),
    HOST_PORT_FULL_TLS: String(hostPorts.fullTls),
    ...GATEWAY_TLS_ENV,
  };
}

function compose(profiles: string[], args: string[], opts: Parameters<typeof run>[2] = {}): Ran {
  assert.ok(cli);
  const env: Record<string, string> = { ...composeEnv(), ...opts.env };
  const full = [...cli.slice(1), '-p', PROJECT, ...profiles.flatMap((p) => ['--profile', p]), ...args];
  return run(cli[0] as string, full, { ...opts, env });
}

/**
 * `compose` without blocking this process: for commands during which a client in
 * this process must keep talking (a WebSocket answering the server's close frame
 * while its server stops: under spawnSync it could not, and the server would wait
 * for its graceful timeout).
 */
function composeAsync(profiles: string[], args: string[], timeoutMs = 180_000): Promise<Ran> {
  assert.ok(cli);
  const full = [...cli.slice(1), '-p', PROJECT, ...profiles.flatMap((p) => ['--profile', p]), ...args];
  return runAsync(cli[0] as string, full, { env: composeEnv(), timeoutMs }).then((r) => {
    if (r.status !== 0)
      throw new Error(`${cli.join(' ')} ${full.join(' ')} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
    return r;
  });
}

const ALL_PROFILES = ['gateway', 'proxy', 'full', 'loadtest'];

function teardown(): void {
  docker(['rm', '-f', RO_CONTAINER, PLACEHOLDER], { allowFail: true });
  if (cli)
    compose(ALL_PROFILES, ['down', '--volumes', '--remove-orphans', '--timeout', '10'], {
      allowFail: true,
      timeoutMs: 180_000,
    });
  docker(['rmi', `${IMAGE}:${ROLLOUT_TAG}`], { allowFail: true });
}

// ---- talking to the published ports -------------------------------------------------

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body as received (not decoded): for compressed answers. */
  bytes: Buffer;
}

function request(
  port: number,
  path: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer;
    timeoutMs?: number;
    servername?: string;
  } = {},
): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const secure = TLS_PORTS.has(port);
    // Over TLS: SNI localhost (what the development certificates are made for) unless
    // told otherwise, not verified.
    const req = (secure ? https : http).request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        agent: false,
        headers: opts.headers,
        ...(secure ? { servername: opts.servername ?? 'localhost', rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString(), bytes });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${path}`)));
    // A 413 may come before the whole oversized body is written, and the write then
    // fails: give the response a moment to arrive before calling it an error.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') setTimeout(() => reject(error), 2000);
      else reject(error);
    });
    req.end(opts.body);
  });
}

/** The TLS handshake a client gets on 127.0.0.1:port (SNI localhost, offering h2 and http/1.1). */
function handshake(port: number): Promise<{ cn: string; alpn: string | false | null; protocol: string | null }> {
  return new Promise((resolvePromise, reject) => {
    const socket = tls.connect(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ALPNProtocols: ['h2', 'http/1.1'],
      },
      () => {
        resolvePromise({
          cn: String(socket.getPeerCertificate().subject?.CN),
          alpn: socket.alpnProtocol,
          protocol: socket.getProtocol(),
        });
        socket.destroy();
      },
    );
    socket.setTimeout(10_000, () => socket.destroy(new Error('handshake: timeout')));
    socket.on('error', reject);
  });
}

/** GET over HTTP/2 (TLS, not verified): status and headers. */
function h2get(port: number, path: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders }> {
  return new Promise((resolvePromise, reject) => {
    const session = http2.connect(`https://localhost:${port}`, {
      host: '127.0.0.1',
      rejectUnauthorized: false,
    } as http2.SecureClientSessionOptions);
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    stream.on('response', (headers) => {
      stream.resume();
      stream.on('end', () => {
        session.close();
        resolvePromise({ status: Number(headers[':status']), headers });
      });
    });
    stream.on('error', reject);
    stream.setTimeout(20_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
  });
}

/** A WebSocket to /ws on a TLS port: resolves with the socket and its first message (the hello). */
function openWs(port: number): Promise<{
  ws: WebSocket;
  hello: { hello: string; pid: number };
  next: () => Promise<string>;
  closed: Promise<{ code: number; reason: string }>;
}> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(`wss://localhost:${port}/ws`, { rejectUnauthorized: false });
    const queue: string[] = [];
    const waiters: Array<(m: string) => void> = [];
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    const next = (): Promise<string> =>
      new Promise((r) => {
        const m = queue.shift();
        if (m !== undefined) r(m);
        else waiters.push(r);
      });
    ws.on('message', (data) => {
      const m = data.toString();
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    // After the hello, an error (e.g. a reset) shows as the close code instead.
    ws.on('error', reject);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('ws: no hello within 15 s'));
    }, 15_000);
    void next().then((first) => {
      clearTimeout(timer);
      resolvePromise({ ws, hello: JSON.parse(first) as { hello: string; pid: number }, next, closed });
    });
  });
}

/**
 * The `Uid:` line of every process in a container. A process can end between the shell's glob and
 * its read (a health check, a finished exec), so a vanished /proc entry is skipped, not an error:
 * CI's run on 2970752 failed on `grep: /proc/32/status: No such file or directory`.
 */
function processUids(container: string): string[] {
  const script = 'for f in /proc/[0-9]*/status; do grep -h "^Uid:" "$f" 2>/dev/null; done; true';
  return docker(['exec', container, 'sh', '-c', script]).stdout.trim().split('\n').filter(Boolean);
}

function containerOf(service: string, index = 1): string {
  const ids = compose(ALL_PROFILES, ['ps', '-q', service]).stdout.trim().split('\n').filter(Boolean);
  assert.ok(ids.length >= index, `no container for ${service}`);
  return ids[index - 1] as string;
}

function ipOn(container: string, networkSuffix: string): string {
  const out = docker([
    'inspect',
    '-f',
    '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}',
    container,
  ]).stdout;
  const hit = out
    .trim()
    .split(' ')
    .find((kv) => kv.split('=')[0]?.endsWith(networkSuffix));
  assert.ok(hit, `${container} is not on *${networkSuffix}: ${out}`);
  return hit.split('=')[1] as string;
}

/** JSON access-log lines of an nginx service. */
function nginxLog(service: string): Array<Record<string, unknown>> {
  const text = compose(ALL_PROFILES, ['logs', '--no-color', service]).stdout;
  return text
    .split('\n')
    .map((l) => l.slice(l.indexOf('{')))
    .filter((l) => l.startsWith('{"time"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// ---- rollouts ----------------------------------------------------------------------

/** Every compose CLI that answers here: the rollout is run with each (Compose v2 and 1.29). */
const ROLLOUT_CLIS = [['docker', 'compose'], ['docker-compose']].filter(
  (c) => engineAnswers && run(c[0] as string, [...c.slice(1), 'version'], { allowFail: true }).status === 0,
);
const ROLLOUT_TAG = `${TAG}-next`;

interface Rollout {
  ran: Ran;
  requests: number;
  failed: string[];
  before: string[];
  after: string[];
  /** When there were failures: when each came (s after the command started), and nginx's complaints meanwhile. */
  trouble: string;
}

/**
 * scripts/rollout SERVICE with `rolloutCli`, under constant load through nginx's HTTPS port (GET /
 * and POST /upload alternating, keep-alive, 50 req/s), from 2 s before the command until 5 s after
 * it returned. `env` is what changes for the new containers (a new image tag, or a broken app).
 */
async function rolloutUnderLoad(
  profile: string,
  service: string,
  tlsPort: number,
  rolloutCli: string[],
  env: Record<string, string>,
): Promise<Rollout> {
  const ids = (): string[] => compose(ALL_PROFILES, ['ps', '-q', service]).stdout.trim().split('\n').filter(Boolean);
  const before = ids();
  const load = new Load({
    baseUrl: `https://127.0.0.1:${tlsPort}`,
    rate: 50,
    maxSeconds: 240,
    timeoutMs: 15_000,
    path: (i) => (i % 2 ? { path: '/upload', method: 'POST', body: 'x'.repeat(4096) } : { path: '/' }),
  });
  await sleep(2000);
  const ran = await runAsync(join(ROOT, 'scripts/rollout'), ['-p', PROJECT, service], {
    env: { ...composeEnv(), COMPOSE: rolloutCli.join(' '), COMPOSE_PROFILES: profile, ...env },
    timeoutMs: 5 * 60_000,
  });
  await sleep(5000);
  const samples = await load.stop();
  const bad = samples.filter((s) => !ok(s));
  const failed = bad.map((s) => s.error ?? `status ${s.status}`);
  let trouble = '';
  if (bad.length > 0) {
    // What the next failure needs to be explained: its moment against the script's steps, and what
    // nginx said about its upstreams (the access log's 5xx lines name the upstream address).
    const at = bad.map((s) => `${((s.start - 2000) / 1000).toFixed(1)} s`).join(', ');
    const edge = compose(ALL_PROFILES, ['logs', '--no-color', '--tail', '400', `nginx-${profile}`]).stdout;
    const lines = edge.split('\n').filter((l) => /\[(alert|crit|emerg|error)\]|"status":5\d\d/.test(l));
    trouble =
      `\nfailed at ${at} after the command started\nscripts/rollout:\n${ran.stdout}${ran.stderr}` +
      `\nnginx-${profile}:\n${lines.slice(-15).join('\n')}`;
  }
  return { ran, requests: samples.length, failed, before, after: ids(), trouble };
}

// ---- the profiles -----------------------------------------------------------------

interface Profile {
  profile: 'gateway' | 'proxy' | 'full';
  /** The service behind the published ports, and the backend service(s). */
  edge: string;
  backend: string;
  nginx: boolean;
  upArgs: string[];
}

const PROFILES: Profile[] = [
  { profile: 'gateway', edge: 'gateway', backend: 'gateway', nginx: false, upArgs: [] },
  // deploy.replicas (APP_REPLICAS, default 2) gives the proxy profile its replicas.
  { profile: 'proxy', edge: 'nginx-proxy', backend: 'app', nginx: true, upArgs: [] },
  { profile: 'full', edge: 'nginx-full', backend: 'gateway-full', nginx: true, upArgs: [] },
];

describe('images and compose profiles on a real Docker engine', { skip, timeout: 30 * 60_000 }, () => {
  const timings: string[] = [];

  before(async () => {
    assert.ok(engineAnswers, 'REQUIRE_DOCKER=1 but `docker info` failed: no Docker engine answers');
    assert.ok(cli, 'REQUIRE_DOCKER=1 but there is no compose CLI');
    log(
      `engine ${docker(['version', '--format', '{{.Server.Version}}']).stdout.trim()}, compose CLI: ${cli.join(' ')}`,
    );
    hostPorts = {
      gateway: await freePort(),
      proxy: await freePort(),
      full: await freePort(),
      proxyTls: await freePort(),
      fullTls: await freePort(),
    };
    // The site of each profile: HTTPS everywhere (the gateway's own TLS in the gateway profile).
    for (const p of [hostPorts.gateway, hostPorts.proxyTls, hostPorts.fullTls]) TLS_PORTS.add(p as number);
    teardown(); // leftovers of an interrupted run
  });

  after(() => {
    if (process.env.KEEP_STACK !== '1') teardown();
    for (const t of timings) log(t);
  });

  it('validates the compose file with every compose CLI available (Compose v2 and/or 1.29)', () => {
    let validated = 0;
    for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
      if (
        run(candidate[0] as string, [...candidate.slice(1), 'version'], { allowFail: true, timeoutMs: 20_000 })
          .status !== 0
      )
        continue;
      run(candidate[0] as string, [
        ...candidate.slice(1),
        ...ALL_PROFILES.flatMap((p) => ['--profile', p]),
        'config',
        '-q',
      ]);
      validated++;
    }
    assert.ok(validated > 0);
  });

  it('has every base image the Dockerfile and compose file name (pulled, or built by .ci/base-images.sh)', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1] as string).filter((b) => b.includes(':'));
    for (const base of new Set(bases)) {
      const present = (): boolean => docker(['image', 'inspect', base], { allowFail: true }).status === 0;
      if (!present()) docker(['pull', base], { allowFail: true, timeoutMs: 300_000 });
      assert.ok(present(), `base image ${base} is missing and cannot be pulled: run .ci/base-images.sh`);
    }
  });

  it('builds the Node image and the nginx image with the compose file, from this working tree', () => {
    const t0 = Date.now();
    compose(['gateway', 'proxy', 'full'], ['build'], { timeoutMs: 20 * 60_000 });
    timings.push(`build (all profiles): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Images of these tags may be left from an earlier build: what they hold must be this tree's.
    const inImage = (image: string, entrypoint: string, ...args: string[]): string =>
      docker(['run', '--rm', '--network', 'none', '--entrypoint', entrypoint, image, ...args]).stdout;
    const here = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
    const copied: Array<[string, string, string]> = [
      [NGINX_IMAGE, '/etc/nginx/templates/nginx.conf.template', 'nginx/templates/nginx.conf.template'],
      [NGINX_IMAGE, '/etc/nginx/templates/includes/site.conf.template', 'nginx/templates/includes/site.conf.template'],
      [NGINX_IMAGE, '/etc/nginx/includes/tls.conf', 'nginx/includes/tls.conf'],
      [NGINX_IMAGE, '/etc/nginx/limits.json', 'config/limits.json'],
      [
        NGINX_IMAGE,
        '/docker-entrypoint.d/15-check-template-env.envsh',
        'nginx/docker-entrypoint.d/15-check-template-env.envsh',
      ],
      [NGINX_IMAGE, '/docker-entrypoint.d/30-tls-certificate.sh', 'nginx/docker-entrypoint.d/30-tls-certificate.sh'],
      [NGINX_IMAGE, '/usr/local/bin/dev-certificate.sh', 'scripts/dev-certificate.sh'],
      [NODE_IMAGE, '/usr/local/bin/gateway-entrypoint.sh', 'docker/gateway-entrypoint.sh'],
      [NODE_IMAGE, '/usr/local/bin/dev-certificate.sh', 'scripts/dev-certificate.sh'],
      [NODE_IMAGE, '/app/config/limits.json', 'config/limits.json'],
    ];
    for (const [image, inside, path] of copied)
      assert.equal(inImage(image, 'cat', inside), here(path), `${inside} in ${image} is not this tree's ${path}`);
    // nginx reads its config where it always does: links to what the templates render to on the tmpfs.
    assert.equal(
      inImage(NGINX_IMAGE, 'readlink', '/etc/nginx/nginx.conf', '/etc/nginx/includes/site.conf'),
      '/tmp/nginx-conf/nginx.conf\n/tmp/nginx-conf/includes/site.conf\n',
    );
    // The gateway built in the image is this tree's version, and loads the app it was built with.
    const version = (JSON.parse(here('server/package.json')) as { version: string }).version;
    assert.equal(inImage(NODE_IMAGE, 'node', 'server/dist/cli.js', '--version'), `nodicorn ${version}\n`);
    assert.match(
      inImage(NODE_IMAGE, 'node', 'server/dist/cli.js', '--check-config', 'app/dist/app.js'),
      /configuration OK; .*app\.js is a fastify app/,
    );
  });

  it('sizes the worker pool from the container CPU quota (--cpus 1 -> 1 worker) when nothing else says', () => {
    const printed = (cpus: string): string =>
      docker([
        'run',
        '--rm',
        '--network',
        'none',
        '--cpus',
        cpus,
        NODE_IMAGE,
        'node',
        'server/dist/cli.js',
        '--print-config',
      ]).stdout;
    const one = printed('1');
    assert.match(one, /^workers += 1$/m);
    assert.match(one, /^workers_source += "the cgroup CPU quota/m);
    // The control: the same image with a quota of two CPUs runs two (the machine has two).
    assert.match(printed('2'), /^workers += 2$/m);
  });

  it('answers /livez and /readyz from the master on its health address, and /readyz turns 503 on TERM', async () => {
    const name = `${RO_CONTAINER}-health`;
    docker(['rm', '-f', name], { allowFail: true });
    try {
      docker([
        'run',
        '-d',
        '--name',
        name,
        '-e',
        'GATEWAY_HEALTH_BIND=127.0.0.1:9465',
        '-e',
        // Long enough for the probes after TERM: each is a `docker exec` of node, up to ~2 s on a
        // busy machine. The container is removed at the end, so the delay costs nothing.
        'GATEWAY_SHUTDOWN_DELAY=30',
        NODE_IMAGE,
      ]);
      const probe = (path: string): string =>
        docker(
          ['exec', name, 'node', '-e', `fetch('http://127.0.0.1:9465${path}').then((r) => console.log(r.status))`],
          {
            allowFail: true,
          },
        ).stdout.trim();
      await waitFor('the gateway to be ready', async () => (probe('/readyz') === '200' ? true : undefined), 30_000);
      assert.equal(probe('/livez'), '200');
      docker(['kill', '-s', 'TERM', name]);
      // Inside the shutdown delay: not ready, still alive and still serving.
      await waitFor('/readyz to say 503', async () => (probe('/readyz') === '503' ? true : undefined), 15_000, 200);
      assert.equal(probe('/livez'), '200');
    } finally {
      docker(['rm', '-f', name], { allowFail: true });
    }
  });

  it('runs the Node image with a read-only root filesystem, as a non-root user, healthy', async () => {
    const port = await freePort();
    docker(['rm', '-f', RO_CONTAINER], { allowFail: true });
    docker([
      'run',
      '-d',
      '--name',
      RO_CONTAINER,
      '--read-only',
      '--tmpfs',
      '/tmp',
      '-p',
      `127.0.0.1:${port}:8000`,
      NODE_IMAGE,
    ]);
    try {
      const reply = await waitFor(
        'the read-only gateway',
        async () => {
          const r = await request(port, '/');
          return r.status === 200 ? r : undefined;
        },
        60_000,
      );
      assert.match(reply.body, /"hello":"world"/);
      const uids = processUids(RO_CONTAINER);
      assert.ok(uids.length >= 3, `expected tini, the master and its workers: ${uids.join(' | ')}`);
      for (const line of uids) assert.doesNotMatch(line, /^Uid:\s+0\s/, 'a process runs as root');
      assert.equal(
        docker(['exec', RO_CONTAINER, 'cat', '/proc/1/comm']).stdout.trim(),
        'tini',
        'PID 1 is not the init process',
      );
      const health = await waitFor(
        'the image HEALTHCHECK to report healthy',
        async () => {
          const s = docker(['inspect', '-f', '{{.State.Health.Status}}', RO_CONTAINER]).stdout.trim();
          return s === 'healthy' ? s : undefined;
        },
        60_000,
        1000,
      );
      assert.equal(health, 'healthy');
      // The control socket the image turns on (GATEWAY_CONTROL_SOCKET, on the /tmp tmpfs), asked by the CLI inside.
      const ctl = JSON.parse(docker(['exec', RO_CONTAINER, 'node', 'server/dist/cli.js', 'ctl', 'workers']).stdout) as {
        ok: boolean;
        workers: Array<{ pid: number; state: string }>;
      };
      assert.equal(ctl.ok, true, JSON.stringify(ctl));
      assert.ok(ctl.workers.length >= 1 && ctl.workers.every((w) => w.state === 'ready'), JSON.stringify(ctl));
      assert.equal(docker(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', RO_CONTAINER]).stdout.trim(), 'true');
    } finally {
      docker(['rm', '-f', RO_CONTAINER], { allowFail: true });
    }
  });

  for (const topo of PROFILES) {
    describe(`profile ${topo.profile}`, () => {
      // The site (HTTPS) and, for nginx, the plain-HTTP port that redirects to it.
      const port = (): number => hostPorts[topo.nginx ? `${topo.profile}Tls` : topo.profile] as number;
      const plainPort = (): number => hostPorts[topo.profile] as number;
      let frontGateway = '';

      before(async () => {
        const t0 = Date.now();
        compose([topo.profile], ['up', '-d', ...topo.upArgs], { timeoutMs: 5 * 60_000 });
        await waitFor(
          `${topo.profile} on 127.0.0.1:${port()}`,
          async () => {
            const r = await request(port(), '/');
            return r.status === 200 ? r : undefined;
          },
          120_000,
        );
        timings.push(`profile ${topo.profile}: up and answering in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        frontGateway = docker([
          'network',
          'inspect',
          '-f',
          '{{range .IPAM.Config}}{{.Gateway}}{{end}}',
          `${PROJECT}_front`,
        ]).stdout.trim();
        assert.match(frontGateway, /^\d+\.\d+\.\d+\.\d+$/);
      });

      after(() => {
        if (process.env.KEEP_STACK === '1' && topo.profile === 'full') return;
        docker(['rm', '-f', PLACEHOLDER], { allowFail: true });
        compose([topo.profile], ['down', '--volumes', '--remove-orphans', '--timeout', '10'], {
          allowFail: true,
          timeoutMs: 180_000,
        });
      });

      it('GET / answers through the published port', async () => {
        const r = await request(port(), '/');
        assert.equal(r.status, 200);
        assert.match(r.body, /"hello":"world"/);
        assert.equal(r.headers.server === 'nginx', topo.nginx, `Server: ${r.headers.server}`);
      });

      const byWhom = topo.nginx ? ', HTTP/2 and HSTS at nginx' : " by the gateway's own TLS";
      it(`serves HTTPS with the development certificate (CN=localhost)${byWhom}`, async () => {
        const hs = await handshake(port());
        assert.equal(hs.cn, 'localhost');
        assert.match(String(hs.protocol), /^TLSv1\.[23]$/);
        // Both offer HTTP/2 by ALPN: nginx, and the gateway's own TLS (--http-protocols h1,h2 by default).
        assert.equal(hs.alpn, 'h2');
        if (topo.nginx) {
          const r = await h2get(port(), '/');
          assert.equal(r.status, 200);
          assert.match(String(r.headers['strict-transport-security']), /^max-age=\d+/);
        }
        const edgeLog = compose(ALL_PROFILES, ['logs', '--no-color', topo.edge]).stdout;
        assert.match(
          edgeLog,
          /WARNING: .*DEVELOPMENT certificate/,
          'no warning about the development certificate in the log',
        );
      });

      if (topo.nginx) {
        it('plain HTTP answers the health check and redirects the rest to HTTPS on the published port (301)', async () => {
          const moved = await request(plainPort(), '/whoami?x=1', { headers: { host: 'localhost' } });
          assert.equal(moved.status, 301, moved.body);
          assert.equal(moved.headers.location, `https://localhost:${port()}/whoami?x=1`);
          assert.equal(moved.headers['strict-transport-security'], undefined);
          const followed = await request(port(), '/whoami?x=1');
          assert.equal(followed.status, 200);
          assert.equal((await request(plainPort(), '/nginx-health')).status, 200);
        });
      }

      if (!topo.nginx || topo.backend === 'gateway-full') {
        it('metrics: served inside on their own port, never on the published one', async () => {
          assert.equal((await request(port(), '/metrics')).status, 404, '/metrics on the public port');
          const text = compose(
            [topo.profile],
            [
              'exec',
              '-T',
              topo.backend,
              'node',
              '-e',
              "fetch('http://127.0.0.1:9464/metrics').then(async (r) => { process.stdout.write(await r.text()); " +
                'process.exit(r.ok ? 0 : 1); }, () => process.exit(1))',
            ],
          ).stdout;
          assert.match(text, /^gateway_workers\{state="ready"\} \d+$/m);
          assert.match(text, /^gateway_http_requests_total\{status="200"\} \d+$/m);
        });
      }

      it('GET /ws: a WebSocket echo through the published port', async () => {
        const { ws, hello, next, closed } = await openWs(port());
        assert.equal(hello.hello, 'ws');
        assert.ok(Number.isInteger(hello.pid));
        ws.send('echo through the stack');
        assert.equal(await next(), 'echo through the stack');
        ws.close(1000);
        assert.equal((await closed).code, 1000);
      });

      it('GET /whoami: the app sees the real client and scheme, not what the client claims', async () => {
        const r = await request(port(), '/whoami', {
          headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', forwarded: 'for=6.6.6.6' },
        });
        assert.equal(r.status, 200);
        const who = JSON.parse(r.body) as { ip: string; scheme: string; peer: string };
        // Docker's proxy for 127.0.0.1 ports connects from the front network's gateway.
        assert.equal(who.ip, frontGateway, `client IP as the app sees it (${r.body})`);
        assert.equal(who.scheme, 'https');
        if (topo.nginx) {
          // The TCP peer is nginx on the private network; the client comes from X-Forwarded-For set by nginx.
          assert.notEqual(who.peer, who.ip, 'the app should see nginx as its peer');
          assert.equal(who.peer, ipOn(containerOf(topo.edge), `_back-${topo.profile}`));
        } else {
          assert.equal(who.peer, who.ip, 'the gateway is the edge: the peer is the client');
        }
      });

      it('every process of every container runs as a non-root user', () => {
        const ids = compose(ALL_PROFILES, ['ps', '-q']).stdout.trim().split('\n').filter(Boolean);
        assert.ok(ids.length >= (topo.nginx ? 2 : 1));
        for (const id of ids) {
          const uids = processUids(id);
          assert.ok(uids.length >= 1, `no process found in ${id}`);
          for (const line of uids) assert.doesNotMatch(line, /^Uid:\s+0\s/, `a process of ${id} runs as root`);
          assert.equal(docker(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', id]).stdout.trim(), 'true');
        }
      });

      if (topo.profile === 'gateway')
        it('the gateway at the edge: its network caps unsent bytes per connection (tcp_notsent_lowat 16384)', () => {
          const id = compose([topo.profile], ['ps', '-q', 'gateway']).stdout.trim();
          assert.ok(id, 'no gateway container');
          const v = docker(['exec', id, 'cat', '/proc/sys/net/ipv4/tcp_notsent_lowat']).stdout.trim();
          assert.equal(v, '16384');
        });

      it(`GET /static/1k.txt is served by ${topo.nginx ? 'nginx itself' : 'the app'}`, async () => {
        const r = await request(port(), '/static/1k.txt');
        assert.equal(r.status, 200);
        assert.equal(r.body.length, 1024);
        assert.equal(r.headers['x-served-by'], topo.nginx ? 'nginx-static' : undefined);
      });

      const sender = topo.nginx ? 'nginx' : 'the app';
      it(`GET /static/1m.txt: the image's build precompressed it, and ${sender} sends the variant asked for`, async () => {
        const plain = await request(port(), '/static/1m.txt', { headers: { 'accept-encoding': 'identity' } });
        assert.equal(plain.headers['content-encoding'], undefined);
        assert.equal(plain.bytes.length, 2 ** 20);
        // nginx has no brotli: it answers `br, gzip` with the .gz; the app with the .br.
        const cases: Array<[string, string]> = [
          ['gzip', 'gzip'],
          ['br, gzip', topo.nginx ? 'gzip' : 'br'],
        ];
        for (const [accept, encoding] of cases) {
          const r = await request(port(), '/static/1m.txt', { headers: { 'accept-encoding': accept } });
          assert.equal(r.status, 200, accept);
          assert.equal(r.headers['content-encoding'], encoding, accept);
          assert.equal(r.headers.vary, 'Accept-Encoding', accept);
          // A file's length, not chunked: sent from disk as the build made it, not compressed per request.
          assert.equal(r.headers['content-length'], String(r.bytes.length), accept);
          const decoded = encoding === 'gzip' ? gunzipSync(r.bytes) : brotliDecompressSync(r.bytes);
          assert.ok(decoded.equals(plain.bytes), `${accept}: does not decode to the file`);
        }
      });

      it(`POST /upload: ${limits.bodyLimitBytes} bytes pass, one more is 413`, async () => {
        const ok = await request(port(), '/upload', {
          method: 'POST',
          body: Buffer.alloc(limits.bodyLimitBytes, 7),
          headers: { 'content-type': 'application/octet-stream' },
        });
        assert.equal(ok.status, 200, ok.body);
        assert.equal((JSON.parse(ok.body) as { bytes: number }).bytes, limits.bodyLimitBytes);
        const over = await request(port(), '/upload', {
          method: 'POST',
          body: Buffer.alloc(limits.bodyLimitBytes + 1, 7),
          headers: { 'content-type': 'application/octet-stream' },
        });
        assert.equal(over.status, 413, over.body);
      });

      if (topo.profile === 'gateway') {
        it('signals reach the gateway master: HUP through tini, TTIN via its pid file', async () => {
          const booted = (): number =>
            (compose(ALL_PROFILES, ['logs', '--no-color', 'gateway']).stdout.match(/Booting worker with pid/g) ?? [])
              .length;
          const before = booted();
          // tini ignores TTIN/TTOU rather than forwarding them: send it to the master itself.
          compose(['gateway'], ['exec', '-T', 'gateway', 'sh', '-c', 'kill -TTIN "$(cat /tmp/gateway.pid)"']);
          await waitFor('a worker booted by TTIN', async () => (booted() > before ? true : undefined), 30_000);
          const reloads = (): number =>
            (compose(ALL_PROFILES, ['logs', '--no-color', 'gateway']).stdout.match(/Reload complete/g) ?? []).length;
          const reloadsBefore = reloads();
          compose(['gateway'], ['kill', '-s', 'SIGHUP', 'gateway']);
          // Wait for the whole reload (new generation serving, old one gone), so the
          // next test does not race it.
          await waitFor(
            'the HUP reload to complete',
            async () => (reloads() > reloadsBefore ? true : undefined),
            30_000,
          );
          await sleep(1000);
          assert.equal((await request(port(), '/')).status, 200);
        });
      }

      if (topo.profile === 'proxy') {
        it('nginx balances over the replicas, and picks up a new one when app is scaled to 3', async () => {
          assert.equal(
            compose(ALL_PROFILES, ['ps', '-q', 'app']).stdout.trim().split('\n').filter(Boolean).length,
            2,
            'the proxy profile should start 2 app replicas by default',
          );
          compose(['proxy'], ['up', '-d', '--no-deps', '--scale', 'app=3', 'app'], { timeoutMs: 120_000 });
          const replicas = compose(ALL_PROFILES, ['ps', '-q', 'app'])
            .stdout.trim()
            .split('\n')
            .filter(Boolean)
            .map((id) => `${ipOn(id, '_back-proxy')}:8000`);
          assert.equal(replicas.length, 3);
          await waitFor(
            'nginx to send requests to all 3 replicas',
            async () => {
              for (let i = 0; i < 9; i++) await request(port(), '/');
              const used = new Set(
                nginxLog('nginx-proxy')
                  .slice(-30)
                  .map((e) => e.upstream_addr),
              );
              return replicas.every((r) => used.has(r)) ? true : undefined;
            },
            60_000,
            2000,
          );
        });

        // The other compose CLI where there is one: the rollout works with both.
        const proxyCli = (ROLLOUT_CLIS[1] ?? ROLLOUT_CLIS[0]) as string[];
        it(`scripts/rollout replaces the app replicas with a new image under load: 0 failed (${proxyCli?.join(' ')})`, async () => {
          docker(['tag', NODE_IMAGE, `${IMAGE}:${ROLLOUT_TAG}`]);
          const r = await rolloutUnderLoad('proxy', 'app', port(), proxyCli, { STACK_TAG: ROLLOUT_TAG });
          assert.equal(r.ran.status, 0, `scripts/rollout failed:\n${r.ran.stderr}\n${r.ran.stdout}`);
          assert.equal(r.after.length, r.before.length, 'the count of replicas changed');
          assert.ok(!r.after.some((id) => r.before.includes(id)), 'an old replica is still there');
          assert.deepEqual(
            r.failed,
            [],
            `${r.failed.length} of ${r.requests} requests failed during the rollout${r.trouble}`,
          );
          timings.push(
            `profile proxy: rollout of ${r.after.length} app replicas (${proxyCli.join(' ')}), ${r.requests} requests, 0 failed`,
          );
        });

        it('scripts/rollout refuses a service that publishes a host port, before changing anything', () => {
          const r = run(join(ROOT, 'scripts/rollout'), ['-p', PROJECT, 'nginx-proxy'], {
            allowFail: true,
            env: { ...composeEnv(), COMPOSE: proxyCli.join(' '), COMPOSE_PROFILES: 'proxy' },
          });
          assert.equal(r.status, 2, r.stderr);
          assert.match(r.stderr, /ROLLOUT_PUBLISHED_PORT/);
          assert.equal(compose(ALL_PROFILES, ['ps', '-q', 'nginx-proxy']).stdout.trim().split('\n').length, 1);
        });
      }

      if (topo.profile === 'full') {
        it('nginx follows the gateway to a new address when it is recreated (no lasting 502)', async () => {
          const old = ipOn(containerOf('gateway-full'), '_back-full');
          compose(['full'], ['rm', '--stop', '--force', 'gateway-full'], { timeoutMs: 120_000 });
          // Take the freed address, so the new gateway must get another one.
          docker([
            'run',
            '-d',
            '--name',
            PLACEHOLDER,
            '--network',
            `${PROJECT}_back-full`,
            '--read-only',
            '--cap-drop',
            'ALL',
            '--entrypoint',
            'node',
            NODE_IMAGE,
            '-e',
            'setTimeout(() => {}, 600000)',
          ]);
          const t0 = Date.now();
          compose(['full'], ['up', '-d', '--no-deps', 'gateway-full'], { timeoutMs: 120_000 });
          const fresh = ipOn(containerOf('gateway-full'), '_back-full');
          assert.notEqual(fresh, old, 'the recreated gateway kept its address; the test proves nothing');
          await waitFor(
            'nginx to answer 200 again',
            async () => {
              const r = await request(port(), '/');
              return r.status === 200 ? r : undefined;
            },
            60_000,
          );
          timings.push(
            `profile full: 200 again ${((Date.now() - t0) / 1000).toFixed(1)} s after recreating the gateway (${old} -> ${fresh})`,
          );
          // nginx re-resolved the name by itself (upstream `resolve`): no reload, no restart. Its
          // access line reaches `compose logs` through the engine's log driver, a moment later.
          await waitFor(
            `nginx's log to show a request sent to the new gateway at ${fresh}`,
            async () => (nginxLog('nginx-full').some((e) => e.upstream_addr === `${fresh}:8000`) ? true : undefined),
            10_000,
          );
          docker(['rm', '-f', PLACEHOLDER], { allowFail: true });
        });

        const fullCli = ROLLOUT_CLIS[0] as string[];
        it(`scripts/rollout replaces the gateway with a new image under load: 0 failed (${fullCli?.join(' ')})`, async () => {
          docker(['tag', NODE_IMAGE, `${IMAGE}:${ROLLOUT_TAG}`]);
          const r = await rolloutUnderLoad('full', 'gateway-full', port(), fullCli, { STACK_TAG: ROLLOUT_TAG });
          assert.equal(r.ran.status, 0, `scripts/rollout failed:\n${r.ran.stderr}\n${r.ran.stdout}`);
          assert.equal(r.after.length, r.before.length, 'the count of gateways changed');
          assert.ok(!r.after.some((id) => r.before.includes(id)), 'an old gateway container is still there');
          const image = docker(['inspect', '-f', '{{.Config.Image}}', r.after[0] as string]).stdout.trim();
          assert.equal(image, `${IMAGE}:${ROLLOUT_TAG}`);
          assert.deepEqual(
            r.failed,
            [],
            `${r.failed.length} of ${r.requests} requests failed during the rollout${r.trouble}`,
          );
          timings.push(
            `profile full: rollout of gateway-full (${fullCli.join(' ')}), ${r.requests} requests, 0 failed`,
          );
        });

        it('scripts/rollout to a gateway whose app cannot load exits 3; the old one kept serving, 0 failed', async () => {
          const r = await rolloutUnderLoad('full', 'gateway-full', port(), fullCli, {
            STACK_TAG: ROLLOUT_TAG,
            APP_MODULE: 'app/dist/no-such-module.js',
          });
          assert.equal(r.ran.status, 3, `expected exit 3 (rolled back):\n${r.ran.stderr}\n${r.ran.stdout}`);
          assert.match(r.ran.stderr, /ROLLOUT_UNHEALTHY/);
          // Caught by the trial, outside the balancer: no new container was put behind nginx.
          assert.match(r.ran.stderr, /failed its trial/);
          assert.doesNotMatch(r.ran.stdout, /starting \d+ new beside them/);
          assert.deepEqual(r.after, r.before, 'the old gateway must be the one still running, alone');
          assert.deepEqual(r.failed, [], `${r.failed.length} of ${r.requests} requests failed${r.trouble}`);
        });

        it('the loadtest profile runs k6 (smoke) against this topology', (t) => {
          const k6Image =
            /image:\s*(grafana\/k6:\S+)/.exec(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'))?.[1] ??
            'grafana/k6';
          const present = (): boolean => docker(['image', 'inspect', k6Image], { allowFail: true }).status === 0;
          if (!present()) docker(['pull', k6Image], { allowFail: true, timeoutMs: 300_000 });
          if (!present()) {
            t.skip(
              `no ${k6Image} image (no registry, no k6 binary for .ci/base-images.sh): ` +
                'the loadtest profile is only validated by `config`',
            );
            return;
          }
          const results = mkdtempSync('/tmp/stacktest-k6-');
          chmodSync(results, 0o777);
          try {
            const r = compose(['full', 'loadtest'], ['run', '--rm', 'k6'], {
              timeoutMs: 180_000,
              allowFail: true,
              env: {
                TOPOLOGY: 'full',
                BASE_URL: 'https://nginx-full:8443',
                K6_SCRIPT: 'scenarios/smoke.js',
                LOADTEST_RESULTS: results,
              },
            });
            assert.equal(r.status, 0, `k6 smoke failed:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
            assert.ok(
              readdirSync(results).includes('smoke-full.json'),
              `no summary in the results folder: ${readdirSync(results).join(', ')}`,
            );
          } finally {
            rmSync(results, { recursive: true, force: true });
          }
        });
      }

      const sigtermTitle =
        'SIGTERM to the stack lets an in-flight request finish and closes an open WebSocket with 1001' +
        `${topo.nginx ? ' through nginx' : ''}; nothing is killed`;
      it(sigtermTitle, async () => {
        const { closed } = await openWs(port());
        const inFlight = request(port(), '/slow?ms=3000');
        await sleep(800);
        const t0 = Date.now();
        // The backend first (SIGTERM): it drains, finishing the request and sending
        // the WebSocket a close frame, which nginx passes through. Then the rest
        // (nginx: SIGQUIT). nginx alone first would wait for the open WebSocket.
        const stopBackend = composeAsync([topo.profile], ['stop', '--timeout', '45', topo.backend]);
        const ws = await Promise.race([closed, sleep(15_000).then(() => undefined)]);
        await stopBackend;
        assert.ok(ws, 'the WebSocket was still open after the backend stopped');
        assert.equal(ws.code, 1001, `close code ${ws.code} (${ws.reason}); 1006 would mean the TCP connection was cut`);
        assert.equal(ws.reason, 'going away');
        compose([topo.profile], ['stop', '--timeout', '45'], { timeoutMs: 180_000 });
        const stopS = (Date.now() - t0) / 1000;
        const r = await inFlight;
        assert.equal(r.status, 200, r.body);
        assert.match(r.body, /"ms":3000/);
        const ids = compose(ALL_PROFILES, ['ps', '-a', '-q']).stdout.trim().split('\n').filter(Boolean);
        for (const id of ids) {
          const [name, code] = docker(['inspect', '-f', '{{.Name}} {{.State.ExitCode}}', id]).stdout.trim().split(' ');
          if (name?.includes(PLACEHOLDER)) continue;
          assert.notEqual(code, '137', `${name} was killed (exit 137), not stopped gracefully`);
        }
        timings.push(`profile ${topo.profile}: stopped in ${stopS.toFixed(1)} s with a 3 s request in flight`);
      });
    });
  }
  // ---- the project as a template: another app and nginx configured by variables alone ----
  describe('the template applied to examples/express, by variables alone', () => {
    // Its own compose project, image tag and host ports: nothing is shared with the profiles above.
    const project = `${PROJECT}tpl`;
    const tag = `${TAG}-template`;
    const nginxImage = `${IMAGE}-nginx:${tag}`;
    const badContainer = `${project}-bad-variable`;
    const serverName = 'express.example.test';
    const vars = { NGINX_SERVER_NAMES: serverName, NGINX_BACKEND: 'gateway-full:8000' };
    let tlsPort = 0;
    const templateCompose = (args: string[], timeoutMs = 180_000, allowFail = false): Ran => {
      assert.ok(cli);
      const env: Record<string, string> = {
        STACK_IMAGE: IMAGE,
        STACK_TAG: tag,
        HOST_BIND: '127.0.0.1',
        HOST_PORT_FULL: String(hostPorts.templateHttp),
        HOST_PORT_FULL_TLS: String(tlsPort),
        // The build arguments: the examples workspace, no build step, the Express app.
        APP_DIR: 'examples',
        APP_BUILD: '',
        APP_MODULE: 'examples/express/app.mjs',
        // It has no /healthz; GET / answers 200.
        APP_HEALTH_PATH: '/',
        ...vars,
      };
      return run(cli[0] as string, [...cli.slice(1), '-p', project, '--profile', 'full', ...args], {
        env,
        timeoutMs,
        allowFail,
      });
    };
    const cleanUp = (): void => {
      docker(['rm', '-f', badContainer], { allowFail: true });
      templateCompose(['down', '--volumes', '--remove-orphans', '--timeout', '10'], 180_000, true);
      docker(['image', 'rm', '-f', `${IMAGE}:${tag}`, nginxImage], { allowFail: true });
    };

    before(async () => {
      hostPorts.templateHttp = await freePort();
      tlsPort = await freePort();
      TLS_PORTS.add(tlsPort);
      cleanUp(); // leftovers of an interrupted run
      const t0 = Date.now();
      templateCompose(['build'], 20 * 60_000);
      templateCompose(['up', '-d'], 5 * 60_000);
      await waitFor(
        `the template's full profile on 127.0.0.1:${tlsPort}`,
        async () => {
          const r = await request(tlsPort, '/', { headers: { host: serverName }, servername: serverName });
          return r.status === 200 ? r : undefined;
        },
        120_000,
      );
      timings.push(`template (examples/express): built and answering in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    // Everything it made, also when a test failed: containers, networks, the bad-variable container, images.
    after(() => {
      if (process.env.KEEP_STACK !== '1') cleanUp();
    });

    it(`serves the Express example through nginx for Host ${serverName}, HTTPS and the scheme passed on`, async () => {
      const r = await request(tlsPort, '/', { headers: { host: serverName }, servername: serverName });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers.server, 'nginx');
      assert.equal((JSON.parse(r.body) as { framework: string }).framework, 'express');
      const who = await request(tlsPort, '/whoami', { headers: { host: serverName }, servername: serverName });
      assert.equal((JSON.parse(who.body) as { protocol: string }).protocol, 'https');
      // No static files in that app: nginx's own 404, never the backend.
      const missing = await request(tlsPort, '/static/1k.txt', {
        headers: { host: serverName },
        servername: serverName,
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['x-served-by'], 'nginx-static');
    });

    it('refuses a Host that is not the configured server name (localhost, the default, included)', async () => {
      for (const host of ['localhost', 'evil.example']) {
        await assert.rejects(
          request(tlsPort, '/', { headers: { host }, servername: host }),
          `Host ${host} got an answer`,
        );
      }
    });

    it('runs the config the native renderer makes of the same variables, and says what it rendered', () => {
      const nginxContainer = templateCompose(['ps', '-q', 'nginx-full']).stdout.trim();
      assert.ok(nginxContainer, 'no nginx-full container');
      const dir = mkdtempSync('/tmp/stacktest-template-');
      try {
        // What the container has that this machine may not: its nginx's version (1.30 knows upstream
        // `resolve`) and its resolver (Docker's DNS). The same two facts, given to the native renderer.
        const version = /nginx\/(\S+)/.exec(docker(['exec', nginxContainer, 'nginx', '-v']).stderr)?.[1];
        assert.ok(version, 'nginx -v in the container said no version');
        const resolver = /^nameserver\s+(\S+)/m.exec(
          docker(['exec', nginxContainer, 'cat', '/etc/resolv.conf']).stdout,
        )?.[1];
        mkdirSync(join(dir, '.bin'));
        writeFileSync(join(dir, '.bin/nginx'), `#!/bin/sh\necho "nginx version: nginx/${version}" >&2\n`, {
          mode: 0o755,
        });
        const path = `${join(dir, '.bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`;
        const { files } = renderNginxTemplates(join(dir, 'out'), {
          ...vars,
          ...(resolver ? { NGINX_RESOLVER: resolver } : {}),
          PATH: path,
        } as typeof vars);
        for (const f of files) {
          const inside = docker(['exec', nginxContainer, 'cat', `/tmp/nginx-conf/${f}`]).stdout;
          assert.equal(
            inside,
            readFileSync(join(dir, 'out', f), 'utf8'),
            `/tmp/nginx-conf/${f} differs from the native rendering`,
          );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const logs = templateCompose(['logs', '--no-color', 'nginx-full']).stdout;
      assert.match(logs, new RegExp(`server_name ${serverName.replace(/\./g, '\\.')}; backend gateway-full:8000 `));
      assert.match(
        logs,
        /backend gateway-full:8000 \(re-resolved every 2 s via 127\.0\.0\.11\)/,
        'nginx 1.30 re-resolves NGINX_BACKEND',
      );
    });

    it('a bad variable (NGINX_RATE=fast) stops nginx at start with a line naming it, before anything is rendered', () => {
      const r = docker(
        [
          'run',
          '--name',
          badContainer,
          '--read-only',
          '--tmpfs',
          '/tmp',
          '--cap-drop',
          'ALL',
          '-e',
          'NGINX_RATE=fast',
          nginxImage,
        ],
        { allowFail: true, timeoutMs: 60_000 },
      );
      const code = docker(['inspect', '-f', '{{.State.ExitCode}}', badContainer]).stdout.trim();
      assert.notEqual(code, '0', `the container exited ${code}`);
      assert.equal(r.status, Number(code), 'docker run reports the container exit code');
      const logs = docker(['logs', badContainer]);
      const all = `${logs.stdout}${logs.stderr}`;
      assert.match(all, /15-check-template-env\.envsh: ERROR: NGINX_RATE="fast" is not a rate like 50r\/s/);
      // Nothing after the check ran: no template rendered, no certificate made, no nginx started.
      assert.doesNotMatch(all, /Running envsubst|30-tls-certificate|start worker process|ready for start up/);
    });
  });
});
