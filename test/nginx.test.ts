// nginx/templates/ (+ nginx/includes), run for real by the distribution's nginx
// (Debian 12: 1.22), proxying to a local upstream that records what it receives.
//
// The templates are rendered into a temp prefix as the image renders them
// (harness/src/nginx-templates.ts: the image's own check script, then envsubst),
// the backend being the local upstream, and then only the container's own values
// are rewritten (harness/src/nginx.ts, shared with the comparison runner):
// `listen 8080` -> a free loopback port, /tmp/nginx* -> the temp dir, /srv/www ->
// a temp static root. Every other line is exercised as it ships, with the
// defaults and with a set of other values (a balancer in front, other names and
// limits). The rendering itself is checked against GNU envsubst, and the refusal
// of bad values, without nginx. The same templates run in the nginx image in
// test/containers.test.ts.
//
// Skipped (with the reason) when there is no nginx binary: NGINX_BIN, default
// /usr/sbin/nginx (`apt-get install -y nginx`).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  envsubst,
  freePort,
  type NativeNginx,
  NGINX_BIN as NGINX,
  NGINX_ENVSUBST_FILTER,
  NGINX_TEMPLATE_DIR,
  NginxTemplateError,
  type NginxTemplateVars,
  nginxConfigTree,
  nginxTemplateEnv,
  nginxVersion,
  renderNginxTemplates,
  startNativeNginx,
} from '@gw/harness';
import { WebSocket, WebSocketServer } from 'ws';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const limits = JSON.parse(readFileSync(join(ROOT, 'config/limits.json'), 'utf8')) as { bodyLimitBytes: number };
const VERSION = nginxVersion();
const skip = existsSync(NGINX) ? false : `no nginx at ${NGINX} (apt-get install -y nginx, or set NGINX_BIN)`;

// ---- the local upstream ---------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  remotePort: number;
  /** When the request's headers reached the upstream (performance.now()). */
  arrivedAt: number;
  bodyBytes: number;
}

const seen: Seen[] = [];
let releaseStream: (() => void) | undefined;
let bigFinishedAt = 0;
const BIG_BYTES = 24 * 1024 * 1024;

function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const record: Seen = {
    method: req.method ?? '',
    url: req.url ?? '',
    httpVersion: req.httpVersion,
    headers: req.headers,
    remotePort: req.socket.remotePort ?? 0,
    arrivedAt: performance.now(),
    bodyBytes: 0,
  };
  seen.push(record);
  req.on('data', (chunk: Buffer) => {
    record.bodyBytes += chunk.length;
  });
  req.on('end', () => {
    const path = (req.url ?? '').split('?')[0];
    // The first part now; the second only once the test has seen the first (or after limitMs).
    const inTwoParts = (headers: http.OutgoingHttpHeaders, first: string, second: string, limitMs: number): void => {
      res.writeHead(200, headers);
      res.write(first);
      const timer = setTimeout(() => releaseStream?.(), limitMs);
      releaseStream = () => {
        clearTimeout(timer);
        releaseStream = undefined;
        res.end(second);
      };
    };
    if (path === '/stream') {
      inTwoParts(
        { 'content-type': 'text/plain' },
        'first line of the stream, long enough to be worth compressing if gzip were on\n',
        'second\n',
        5000,
      );
      return;
    }
    if (path === '/big') {
      // As fast as the socket takes it; 'finish' = all of it handed to nginx.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG_BYTES });
      res.on('finish', () => {
        bigFinishedAt = performance.now();
      });
      res.end(Buffer.alloc(BIG_BYTES, 0x61));
      return;
    }
    if (path === '/events') {
      // Server-Sent Events through `location /`. X-Accel-Buffering: no, as an app should send.
      inTwoParts(
        { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
        'data: first\n\n',
        'data: second\n\n',
        3000,
      );
      return;
    }
    const body = JSON.stringify({ ok: true, bodyBytes: record.bodyBytes });
    res.writeHead(200, { 'content-type': 'application/json', 'x-content-type-options': 'from-upstream' });
    res.end(body);
  });
}

// ---- a client that sends exactly what it is told ---------------------------------

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let port = 0;

function request(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | Buffer[]; gapMs?: number } = {},
): Promise<Reply & { lastWriteAt: number }> {
  return new Promise((resolvePromise, reject) => {
    let lastWriteAt = 0;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        agent: false,
        headers: { host: 'localhost', ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            lastWriteAt,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`timeout: ${path}`)));
    // A 413 may come before the whole oversized body is written, and the write then
    // fails: give the response a moment to arrive before calling it an error.
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') setTimeout(() => reject(error), 2000);
      else reject(error);
    });
    const parts = opts.body === undefined ? [] : Array.isArray(opts.body) ? opts.body : [opts.body];
    void (async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && opts.gapMs) await sleep(opts.gapMs);
        req.write(part);
        lastWriteAt = performance.now();
      }
      req.end();
    })();
  });
}

/** Sends raw bytes, returns everything the server sent before closing. */
function raw(bytes: string): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw: timeout')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolvePromise(Buffer.concat(chunks)));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
  });
}

const SECURITY_HEADERS = ['x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy'];

// ---- the nginx under test -------------------------------------------------------

describe('nginx config (defaults) on the distribution nginx', { skip }, () => {
  let tmp = '';
  let upstream: http.Server;
  let upstreamPort = 0;
  let nginx: NativeNginx | undefined;
  let accessLog = '';

  before(async () => {
    upstream = http.createServer(upstreamHandler);
    upstream.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as AddressInfo).port;
    port = await freePort();

    // The static root nginx serves under /static/.
    tmp = mkdtempSync('/tmp/nginx-test-');
    chmodSync(tmp, 0o755);
    writeFileSync(join(tmp, 'hello.txt'), 'static hello from disk\n'.repeat(200));
    // A file precompressed at build time, as app/scripts/precompress.mjs leaves it (level 9; on-the-fly is 5).
    writeFileSync(join(tmp, 'packed.txt'), 'precompressed at build time\n'.repeat(400));
    writeFileSync(join(tmp, 'packed.txt.gz'), gzipSync(readFileSync(join(tmp, 'packed.txt')), { level: 9 }));
    // The shared launcher (also used by the comparison runner) rewrites only the
    // deployment values: listen, upstream, /tmp/nginx*, /srv/www.
    nginx = await startNativeNginx({ upstreams: [`127.0.0.1:${upstreamPort}`], port, staticDir: tmp });
    accessLog = nginx.accessLogPath;
  });

  after(async () => {
    await nginx?.stop();
    await new Promise<void>((r) => upstream?.close(() => r()));
    upstream?.closeAllConnections();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(`passes nginx -t and serves (${VERSION})`, async () => {
    const r = await request('/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.server, 'nginx', 'server_tokens off: no version in Server');
  });

  it('overwrites X-Forwarded-* and Forwarded, talks HTTP/1.1 without Connection: close', async () => {
    const before = seen.length;
    const r = await request('/whoami', {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'x-real-ip': '6.6.6.6',
        forwarded: 'for=6.6.6.6;proto=https',
      },
    });
    assert.equal(r.status, 200);
    const got = seen[before];
    assert.ok(got);
    assert.equal(got.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(got.headers['x-forwarded-proto'], 'http');
    assert.equal(got.headers['x-forwarded-host'], 'localhost');
    assert.equal(got.headers['x-real-ip'], '127.0.0.1');
    assert.equal(got.headers.host, 'localhost');
    assert.equal(got.headers.forwarded, undefined);
    assert.match(String(got.headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(got.httpVersion, '1.1');
    assert.notEqual(String(got.headers.connection ?? '').toLowerCase(), 'close');
  });

  it('reuses upstream connections (keep-alive pool)', async () => {
    const before = seen.length;
    for (let i = 0; i < 20; i++) assert.equal((await request('/')).status, 200);
    const ports = new Set(seen.slice(before).map((s) => s.remotePort));
    // At most one idle connection per nginx worker is needed for sequential requests.
    assert.ok(ports.size <= Math.max(2, availableParallelism()), `20 requests used ${ports.size} upstream connections`);
  });

  it("adds the security headers once, replacing the backend's copies", async () => {
    const r = await request('/');
    for (const name of SECURITY_HEADERS) assert.ok(r.headers[name], `missing ${name}`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  });

  it('serves /static/ itself, with caching headers and gzip, without touching the backend', async () => {
    const before = seen.length;
    const plain = await request('/static/hello.txt');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['x-served-by'], 'nginx-static');
    assert.match(String(plain.headers['cache-control']), /max-age=\d+/);
    assert.ok(plain.headers.etag && plain.headers['last-modified']);
    for (const name of SECURITY_HEADERS) assert.ok(plain.headers[name], `static: missing ${name}`);
    const zipped = await request('/static/hello.txt', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'Accept-Encoding');
    assert.deepEqual(gunzipSync(zipped.body), plain.body);
    const missing = await request('/static/nope.txt');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-served-by'], 'nginx-static');
    assert.equal(seen.length, before, 'the backend saw a static request');
  });

  it('sends FILE.gz from disk as it is (gzip_static) to a client that takes gzip, the file to one that does not', async () => {
    const plain = readFileSync(join(tmp, 'packed.txt'));
    const packed = readFileSync(join(tmp, 'packed.txt.gz'));
    for (const accept of ['gzip', 'br, gzip', 'gzip, deflate, br, zstd']) {
      const r = await request('/static/packed.txt', { headers: { 'accept-encoding': accept } });
      assert.equal(r.status, 200, accept);
      assert.equal(r.headers['content-encoding'], 'gzip', accept);
      assert.equal(r.headers['content-length'], String(packed.length), `${accept}: the file's length, not chunked`);
      assert.match(String(r.headers['content-type']), /^text\/plain/, accept);
      // The bytes on disk (compressed on the fly, they would differ), and they decode to the file.
      assert.deepEqual(r.body, packed, accept);
      assert.deepEqual(gunzipSync(r.body), plain, accept);
      assert.equal(r.headers.vary, 'Accept-Encoding', accept);
    }
    // No brotli in nginx: `br` alone, or no gzip, gets the file itself; Vary still says it depends.
    for (const accept of ['identity', 'br', undefined]) {
      const r = await request(
        '/static/packed.txt',
        accept === undefined ? {} : { headers: { 'accept-encoding': accept } },
      );
      assert.equal(r.headers['content-encoding'], undefined, String(accept));
      assert.deepEqual(r.body, plain, String(accept));
      assert.equal(r.headers.vary, 'Accept-Encoding', String(accept));
    }
  });

  it(`accepts a body of exactly ${limits.bodyLimitBytes} bytes and refuses one byte more with 413 before the backend sees it`, async () => {
    const atLimit = await request('/upload', { method: 'POST', body: Buffer.alloc(limits.bodyLimitBytes, 1) });
    assert.equal(atLimit.status, 200);
    assert.equal(JSON.parse(atLimit.body.toString()).bodyBytes, limits.bodyLimitBytes);
    const before = seen.length;
    const over = await request('/upload', { method: 'POST', body: Buffer.alloc(limits.bodyLimitBytes + 1, 1) });
    assert.equal(over.status, 413);
    assert.equal(JSON.parse(over.body.toString()).statusCode, 413);
    assert.equal(seen.length, before, 'the backend saw the oversized request');
  });

  it("buffers a slow client's request body: the backend gets the request only when it is complete", async () => {
    const before = seen.length;
    const parts = [Buffer.alloc(1000, 1), Buffer.alloc(1000, 2), Buffer.alloc(1000, 3)];
    const r = await request('/upload', {
      method: 'POST',
      body: parts,
      gapMs: 150,
      headers: { 'transfer-encoding': 'chunked' },
    });
    assert.equal(r.status, 200);
    const got = seen[before];
    assert.ok(got);
    assert.equal(got.bodyBytes, 3000);
    assert.ok(got.arrivedAt >= r.lastWriteAt, 'the backend saw the request before the client finished sending it');
    // Buffered, the body goes upstream with a Content-Length, not chunked.
    assert.equal(got.headers['content-length'], '3000');
  });

  it('buffers the response: the backend is done while the client has not read it yet', async () => {
    bigFinishedAt = 0;
    const result = await new Promise<{ readWhenBackendDone: number; total: number }>((resolvePromise, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path: '/big', agent: false, headers: { host: 'localhost' } },
        (res) => {
          res.pause();
          let total = 0;
          let readWhenBackendDone = -1;
          void (async () => {
            for (let i = 0; i < 100 && bigFinishedAt === 0; i++) await sleep(100);
            readWhenBackendDone = bigFinishedAt === 0 ? -1 : total;
            res.on('data', (c: Buffer) => {
              total += c.length;
            });
            res.on('end', () => resolvePromise({ readWhenBackendDone, total }));
            res.resume();
          })();
        },
      );
      req.on('error', reject);
    });
    assert.notEqual(result.readWhenBackendDone, -1, 'the backend could not finish while the client was not reading');
    assert.equal(result.readWhenBackendDone, 0);
    assert.equal(result.total, BIG_BYTES);
  });

  it('passes /stream through unbuffered (even with gzip asked for)', async () => {
    let releasedByClient = false;
    const body = await new Promise<string>((resolvePromise, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path: '/stream',
          agent: false,
          headers: { host: 'localhost', 'accept-encoding': 'gzip' },
        },
        (res) => {
          assert.equal(res.headers['content-encoding'], undefined);
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (text.includes('\n') && releaseStream) {
              releasedByClient = true;
              releaseStream();
            }
          });
          res.on('end', () => resolvePromise(text));
        },
      );
      req.on('error', reject);
    });
    assert.ok(releasedByClient, 'the first chunk reached the client only with the rest of the response');
    assert.match(body, /second\n$/);
  });

  it('rate-limits /api/ per client with 429 (JSON), and leaves other paths alone', async () => {
    const statuses = new Map<number, number>();
    let bodyOf429 = '';
    const queue = Array.from({ length: 300 }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (queue.shift() !== undefined) {
          const r = await request('/api/items');
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 429) bodyOf429 = r.body.toString();
        }
      }),
    );
    assert.ok((statuses.get(200) ?? 0) > 0, `no request passed: ${[...statuses]}`);
    assert.ok((statuses.get(429) ?? 0) > 0, `300 quick requests were never limited: ${[...statuses]}`);
    assert.deepEqual([...statuses.keys()].sort(), [200, 429]);
    assert.equal(JSON.parse(bodyOf429).statusCode, 429);
    assert.equal((await request('/')).status, 200, 'the limit leaked outside /api/');
  });

  it('refuses unknown Host names without a response, but answers its health location for any Host', async () => {
    const refused = await raw('GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.equal(refused.length, 0, `unknown Host got an answer: ${refused.toString().slice(0, 80)}`);
    const health = await raw('GET /nginx-health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.match(health.toString(), /^HTTP\/1\.1 200 /);
    assert.match(health.toString(), /\r\n\r\nok\n$/);
  });

  it('logs one JSON object per request to stdout, with upstream timing', async () => {
    await request('/logged');
    await sleep(200);
    const lines = readFileSync(accessLog, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.ok(lines.length > 0, 'no access log on stdout');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const logged = entries.find((e) => e.uri === '/logged');
    assert.ok(logged, 'the request is not in the log');
    assert.equal(logged.status, 200);
    assert.equal(logged.upstream_addr, `127.0.0.1:${upstreamPort}`);
    assert.match(String(logged.upstream_response_time), /^\d+\.\d{3}$/);
    assert.match(String(logged.upstream_connect_time), /^\d+\.\d{3}$/);
    assert.equal(typeof logged.request_time, 'number');
    assert.ok(!entries.some((e) => e.uri === '/nginx-health'), 'health checks are logged');
  });

  it('never retries non-idempotent requests, nor after a timeout', () => {
    const proxyConf = readFileSync(join(ROOT, 'nginx/templates/includes/proxy.conf.template'), 'utf8').replace(
      /#.*$/gm,
      '',
    );
    const nextUpstream = /proxy_next_upstream\s+([^;]+);/.exec(proxyConf)?.[1] ?? '';
    assert.ok(nextUpstream, 'proxy_next_upstream is not set');
    assert.doesNotMatch(nextUpstream, /non_idempotent|timeout/);
  });
});

// ---- TLS, HTTP/2, the redirect, WebSockets and streaming ----------------------------

/** The certificate and protocol a TLS client gets from 127.0.0.1:port (SNI localhost). */
function handshake(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolvePromise, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ...opts },
      () => resolvePromise(socket),
    );
    socket.setTimeout(10_000, () => socket.destroy(new Error('handshake: timeout')));
    socket.on('error', reject);
  });
}

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  alpn: string | false | null | undefined;
}

/** One HTTP/2 GET over TLS; with `onData`, each DATA chunk as it arrives. */
function h2get(port: number, path: string, onData?: (text: string) => void): Promise<H2Reply> {
  return new Promise((resolvePromise, reject) => {
    const session = http2.connect(`https://localhost:${port}`, {
      rejectUnauthorized: false,
      host: '127.0.0.1',
    } as http2.SecureClientSessionOptions);
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':authority': 'localhost', 'accept-encoding': 'gzip' });
    let headers: http2.IncomingHttpHeaders = {};
    let body = '';
    stream.on('response', (h) => {
      headers = h;
    });
    stream.on('data', (c: Buffer) => {
      body += c.toString();
      onData?.(body);
    });
    stream.on('end', () => {
      const alpn = (session.socket as tls.TLSSocket | undefined)?.alpnProtocol;
      session.close();
      resolvePromise({ status: Number(headers[':status']), headers, body, alpn });
    });
    stream.on('error', reject);
    stream.setTimeout(20_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
  });
}

/** HTTP/1.1 over TLS. */
function httpsGet(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'localhost',
        rejectUnauthorized: false,
        agent: false,
        headers: { host: 'localhost', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
  });
}

describe('nginx config (defaults): TLS, HTTP/2, redirect, WebSockets, streaming (distribution nginx)', { skip }, () => {
  let upstream: http.Server;
  let wss: WebSocketServer;
  const upgrades: IncomingHttpHeaders[] = [];
  // The site on both ports (as the comparison runner runs it) ...
  let site: NativeNginx | undefined;
  // ... and as shipped: plain HTTP only redirects.
  let shipped: NativeNginx | undefined;
  let tmp = '';

  before(async () => {
    upstream = http.createServer(upstreamHandler);
    upstream.keepAliveTimeout = 65_000;
    // WebSocket echo on the upstream, like the app's /ws: a hello, then every message back.
    wss = new WebSocketServer({ noServer: true });
    upstream.on('upgrade', (req: IncomingMessage, socket, head) => {
      upgrades.push(req.headers);
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.send(JSON.stringify({ hello: 'ws' }));
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreams = [`127.0.0.1:${(upstream.address() as AddressInfo).port}`];
    tmp = mkdtempSync('/tmp/nginx-tls-test-');
    chmodSync(tmp, 0o755);
    writeFileSync(join(tmp, 'hello.txt'), 'static hello\n');
    site = await startNativeNginx({ upstreams, staticDir: tmp });
    const tlsPort = await freePort();
    shipped = await startNativeNginx({
      upstreams,
      staticDir: tmp,
      plainHttp: 'redirect',
      tlsPort,
      httpsRedirectPort: tlsPort,
    });
  });

  after(async () => {
    await site?.stop();
    await shipped?.stop();
    for (const client of wss?.clients ?? []) client.terminate();
    await new Promise<void>((r) => upstream?.close(() => r()));
    upstream?.closeAllConnections();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('passes nginx -t with TLS and OCSP stapling on a self-signed certificate (a warning, not an error)', () => {
    assert.ok(site && shipped);
    // The launcher ran `nginx -t` (it throws on failure); stapling only warned.
    assert.match(site.stderr(), /\[warn\].*"ssl_stapling" ignored/);
    assert.doesNotMatch(site.stderr(), /\[emerg\]|\[error\]/);
  });

  it('presents the certificate over TLS 1.3 and 1.2, and refuses TLS 1.1', async () => {
    assert.ok(site);
    const v13 = await handshake(site.tlsPort);
    assert.equal(v13.getProtocol(), 'TLSv1.3');
    assert.equal(v13.getPeerCertificate().subject.CN, 'localhost');
    v13.destroy();
    const v12 = await handshake(site.tlsPort, { maxVersion: 'TLSv1.2' });
    assert.equal(v12.getProtocol(), 'TLSv1.2');
    assert.match(String(v12.getCipher().name), /^ECDHE-(ECDSA|RSA)-(AES\d+-GCM|CHACHA20)/);
    v12.destroy();
    // The client must lower its own floor (and security level) even to try.
    await assert.rejects(
      handshake(site.tlsPort, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    );
  });

  it('negotiates HTTP/2 with ALPN, and still speaks HTTP/1.1 to clients that ask for it', async () => {
    assert.ok(site);
    const h2 = await handshake(site.tlsPort, { ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(h2.alpnProtocol, 'h2');
    h2.destroy();
    const h1 = await handshake(site.tlsPort, { ALPNProtocols: ['http/1.1'] });
    assert.equal(h1.alpnProtocol, 'http/1.1');
    h1.destroy();
    const before = seen.length;
    const r = await h2get(site.tlsPort, '/whoami');
    assert.equal(r.status, 200);
    assert.equal(r.alpn, 'h2');
    // The upstream hop stays HTTP/1.1 (keep-alive), and the app learns the scheme.
    const got = seen[before];
    assert.ok(got);
    assert.equal(got.httpVersion, '1.1');
    assert.equal(got.headers['x-forwarded-proto'], 'https');
    assert.equal(
      got.headers.connection,
      undefined,
      'no Connection header upstream: the connection goes back to the pool',
    );
  });

  it('resumes TLS sessions from the shared cache (no tickets), TLS 1.2 and 1.3', async () => {
    assert.ok(site);
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await handshake(site.tlsPort, { maxVersion });
      const session = await new Promise<Buffer>((r) => {
        const got = first.getSession();
        // TLS 1.3 delivers the session after the handshake, in a 'session' event.
        if (got && maxVersion === 'TLSv1.2') r(got);
        else first.once('session', r);
        first.write('GET /nginx-health HTTP/1.1\r\nHost: localhost\r\n\r\n');
      });
      first.destroy();
      const second = await handshake(site.tlsPort, { maxVersion, session });
      assert.ok(second.isSessionReused(), `${maxVersion}: the session was not resumed`);
      second.destroy();
    }
  });

  it('sends Strict-Transport-Security on HTTPS responses only (also /static/ and errors), never on plain HTTP', async () => {
    assert.ok(site);
    const hsts = /^max-age=\d{7,}$/;
    assert.match(String((await h2get(site.tlsPort, '/')).headers['strict-transport-security']), hsts);
    assert.match(String((await h2get(site.tlsPort, '/static/hello.txt')).headers['strict-transport-security']), hsts);
    assert.match(String((await h2get(site.tlsPort, '/static/nope.txt')).headers['strict-transport-security']), hsts);
    // Plain HTTP of this instance (which serves the site there): no HSTS.
    const r = await new Promise<IncomingHttpHeaders>((resolvePromise, reject) => {
      http
        .get(
          { host: '127.0.0.1', port: site!.port, path: '/', agent: false, headers: { host: 'localhost' } },
          (res) => {
            res.resume();
            resolvePromise(res.headers);
          },
        )
        .on('error', reject);
    });
    assert.equal(r['strict-transport-security'], undefined);
  });

  it('as shipped, plain HTTP answers /nginx-health and redirects everything else to the same URL on HTTPS (301)', async () => {
    assert.ok(shipped);
    const get = (
      path: string,
      host = 'localhost',
    ): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> =>
      new Promise((resolvePromise, reject) => {
        http
          .get({ host: '127.0.0.1', port: shipped!.port, path, agent: false, headers: { host } }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body }));
          })
          .on('error', reject);
      });
    const health = await get('/nginx-health');
    assert.equal(health.status, 200);
    assert.equal(health.body, 'ok\n');
    const before = seen.length;
    const moved = await get('/whoami?x=1');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, `https://localhost:${shipped.tlsPort}/whoami?x=1`);
    assert.equal(moved.headers['strict-transport-security'], undefined);
    assert.equal(seen.length, before, 'a plain-HTTP request reached the backend');
    // Following it lands on the site.
    const followed = await h2get(shipped.tlsPort, '/whoami?x=1');
    assert.equal(followed.status, 200);
    // Unknown names are still refused on plain HTTP (444: no response at all).
    await assert.rejects(get('/', 'evil.example'));
  });

  it('refuses unknown Host names on HTTPS too, after the handshake', async () => {
    assert.ok(site);
    await assert.rejects(httpsGet(site.tlsPort, '/', { host: 'evil.example' }));
    assert.equal((await httpsGet(site.tlsPort, '/nginx-health', { host: 'evil.example' })).status, 200);
  });

  it('passes a WebSocket through (/ws echo over wss), and keeps the upstream keep-alive for everything else', async () => {
    assert.ok(site);
    const tlsPort = site.tlsPort;
    const upgradesBefore = upgrades.length;
    const ws = new WebSocket(`wss://localhost:${tlsPort}/ws`, {
      rejectUnauthorized: false,
      headers: { host: 'localhost' },
    } as WebSocket.ClientOptions);
    const messages: string[] = [];
    const echoed = new Promise<void>((resolvePromise, reject) => {
      ws.on('message', (data) => {
        messages.push(data.toString());
        if (messages.length === 1) ws.send('ping over nginx');
        if (messages.length === 2) resolvePromise();
      });
      ws.on('error', reject);
    });
    await echoed;
    assert.deepEqual(JSON.parse(messages[0] as string), { hello: 'ws' });
    assert.equal(messages[1], 'ping over nginx');
    const up = upgrades[upgradesBefore];
    assert.ok(up, 'the upstream saw no upgrade request');
    assert.equal(String(up.connection).toLowerCase(), 'upgrade');
    assert.equal(String(up.upgrade).toLowerCase(), 'websocket');
    assert.equal(up['x-forwarded-proto'], 'https');
    // Ordinary requests meanwhile: no Connection header upstream, a handful of reused connections.
    const before = seen.length;
    for (let i = 0; i < 20; i++) assert.equal((await httpsGet(tlsPort, '/')).status, 200);
    const later = seen.slice(before);
    assert.ok(
      later.every((r) => r.headers.connection === undefined && r.headers.upgrade === undefined),
      'Connection/Upgrade leaked into ordinary requests',
    );
    const ports = new Set(later.map((r) => r.remotePort));
    assert.ok(ports.size <= Math.max(2, availableParallelism()), `20 requests used ${ports.size} upstream connections`);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.close(1000, 'done');
    assert.equal(await closed, 1000);
  });

  it('drops a client\'s Upgrade outside /ws: the backend sees an ordinary request, never "Connection: upgrade"', async () => {
    assert.ok(site);
    // nginx used to pass any Upgrade on with "Connection: upgrade"; a backend that then answered
    // non-101 and closed left nginx a dead pooled connection, and the next request on it a 502.
    const upgradesBefore = upgrades.length;
    const before = seen.length;
    for (const upgrade of ['websocket', 'h2c']) {
      const headers = {
        upgrade,
        connection: 'Upgrade',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      };
      assert.equal((await httpsGet(site.tlsPort, '/', headers)).status, 200);
    }
    assert.equal(upgrades.length, upgradesBefore, 'an Upgrade outside /ws reached the upstream as an upgrade');
    const later = seen.slice(before);
    assert.equal(later.length, 2);
    assert.ok(
      later.every((r) => r.headers.connection === undefined && r.headers.upgrade === undefined),
      JSON.stringify(later.map((r) => r.headers)),
    );
  });

  it('passes /stream unbuffered over HTTP/2 and TLS', async () => {
    assert.ok(site);
    let releasedByClient = false;
    const r = await h2get(site.tlsPort, '/stream', (text) => {
      if (text.includes('\n') && releaseStream) {
        releasedByClient = true;
        releaseStream();
      }
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], undefined);
    assert.ok(releasedByClient, 'the first chunk reached the client only with the rest of the response');
    assert.match(r.body, /second\n$/);
  });

  it('passes Server-Sent Events through location / as they are written (uncompressed)', async () => {
    assert.ok(site);
    let releasedByClient = false;
    const r = await h2get(site.tlsPort, '/events', (text) => {
      if (text.includes('first') && releaseStream) {
        releasedByClient = true;
        releaseStream();
      }
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/event-stream');
    assert.equal(r.headers['content-encoding'], undefined, 'gzip must leave event streams alone');
    assert.ok(releasedByClient, 'the first event reached the client only with the rest of the stream');
  });
});

// ---- the templates: rendering, checks, and non-default values --------------------------

/** One plain-HTTP request to 127.0.0.1:port, with exactly these headers (Host included). */
function plainRequest(
  port: number,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', agent: false, headers },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A 413 may come before the whole body is written (see request() above).
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') setTimeout(() => reject(error), 2000);
      else reject(error);
    });
    req.end(body);
  });
}

/** Variables the entrypoint derives itself (never set by a deployment). */
const DERIVED = [
  'NGINX_REAL_IP_INCLUDE',
  'NGINX_SET_REAL_IP_FROM',
  'NGINX_TRUSTED_PROXY_GEO',
  'NGINX_FORWARDED_PROTO',
  'NGINX_UPSTREAM_RESOLVE',
];

/** Every `${NGINX_X}` the templates use. */
function templateVariables(): Set<string> {
  const names = new Set<string>();
  for (const f of readdirSync(NGINX_TEMPLATE_DIR, { recursive: true }).map(String)) {
    if (!f.endsWith('.template')) continue;
    for (const m of readFileSync(join(NGINX_TEMPLATE_DIR, f), 'utf8').matchAll(/\$\{(NGINX_\w+)\}/g))
      names.add(m[1] as string);
  }
  return names;
}

const NON_DEFAULT: NginxTemplateVars = {
  NGINX_SERVER_NAMES: 'app.example.test *.example.org',
  NGINX_BACKEND: 'gateway-full:8000',
  NGINX_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.0.0/16 2001:db8::/32',
  NGINX_PLAIN_HTTP: 'site',
  NGINX_RATE: '600r/m',
  NGINX_BURST: '5',
  NGINX_CONN_LIMIT: '4',
  NGINX_BODY_LIMIT: '512k',
  NGINX_RESOLVER: '10.96.0.10 10.96.0.11:5353',
};

describe('nginx/templates: the variables, their checks, and envsubst', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync('/tmp/nginx-templates-test-');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the defaults render no variable left, no real_ip, and the shipped values', () => {
    const out = join(dir, 'defaults');
    const { files, env } = nginxConfigTree(out);
    assert.ok(files.includes('nginx.conf') && files.includes('includes/site.conf'), files.join(', '));
    for (const f of files) assert.doesNotMatch(readFileSync(join(out, f), 'utf8'), /\$\{?NGINX_/, f);
    const conf = readFileSync(join(out, 'nginx.conf'), 'utf8').replace(/#.*$/gm, '');
    assert.match(conf, /^\s*server backend:8000 max_fails=1 fail_timeout=10s;$/m);
    assert.match(conf, /rate=50r\/s;/);
    assert.match(conf, /^\s*client_max_body_size 10m;/m);
    assert.equal(conf.match(/server_name localhost 127\.0\.0\.1 nginx-proxy nginx-full;/g)?.length, 2);
    assert.match(conf, /include includes\/redirect-to-https\.conf;/);
    assert.doesNotMatch(conf, /real_ip|real-ip/);
    assert.match(readFileSync(join(out, 'includes/site.conf'), 'utf8'), /burst=100 nodelay;[\s\S]*api_conn 32;/);
    assert.match(readFileSync(join(out, 'includes/proxy.conf'), 'utf8'), /X-Forwarded-Proto \$scheme;/);
    // Debian 12's nginx 1.22 has no upstream `resolve`: the name is resolved at start.
    assert.equal(env.NGINX_UPSTREAM_RESOLVE, '', 'nginx 1.22 does not know `resolve`');
    assert.match(conf, /^\s*resolver \S+ valid=2s ipv6=off;\s*$/m);
  });

  it('every variable a deployment sets is passed by compose and documented in docs/containers.md', () => {
    // NGINX_TRUSTED_PROXIES reaches the templates only through the values derived from it.
    const used = [...templateVariables(), 'NGINX_TRUSTED_PROXIES'].filter((v) => !DERIVED.includes(v)).sort();
    assert.deepEqual(used, Object.keys(NON_DEFAULT).sort(), 'the templates use exactly these variables');
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const docs = readFileSync(join(ROOT, 'docs/containers.md'), 'utf8');
    for (const v of used) {
      assert.match(compose, new RegExp(`^  ${v}: \\$\\{${v}:-\\}$`, 'm'), `docker-compose.yml does not pass ${v}`);
      assert.match(docs, new RegExp(`^\\| \`${v}\` \\|`, 'm'), `docs/containers.md has no table row for ${v}`);
    }
    for (const v of DERIVED) assert.ok(templateVariables().has(v), `${v} is derived but unused`);
  });

  it('refuses a bad value with one line naming the variable and the value', () => {
    const bad: Array<[keyof NginxTemplateVars, string]> = [
      ['NGINX_RATE', 'fast'],
      ['NGINX_RATE', '50r/h'],
      ['NGINX_SERVER_NAMES', 'example.com bad_name'],
      ['NGINX_SERVER_NAMES', 'a;b'],
      ['NGINX_BACKEND', 'backend'],
      ['NGINX_BACKEND', 'backend:70000'],
      ['NGINX_BACKEND', 'unix:relative.sock'],
      ['NGINX_TRUSTED_PROXIES', '10.0.0.0/33'],
      ['NGINX_TRUSTED_PROXIES', '300.1.1.1'],
      ['NGINX_TRUSTED_PROXIES', 'balancer.example.com'],
      ['NGINX_PLAIN_HTTP', 'yes'],
      ['NGINX_BURST', '-1'],
      ['NGINX_CONN_LIMIT', '0'],
      ['NGINX_BODY_LIMIT', '10MB'],
      ['NGINX_RESOLVER', '10.0.0.1;'],
      ['NGINX_RESOLVER', 'dns:xx'],
    ];
    for (const [name, value] of bad) {
      assert.throws(
        () => nginxTemplateEnv({ [name]: value }),
        (error: Error) =>
          error instanceof NginxTemplateError &&
          error.message.includes(`ERROR: ${name}="${value}"`) &&
          error.message.includes('nginx is not started'),
        `${name}=${value} was accepted`,
      );
    }
    // ... and takes good ones in their other forms.
    const env = nginxTemplateEnv({
      NGINX_SERVER_NAMES: '_ .example.com [::1]',
      NGINX_BACKEND: 'unix:/run/app.sock',
      NGINX_TRUSTED_PROXIES: '::1 127.0.0.1',
    });
    assert.equal(env.NGINX_SET_REAL_IP_FROM, 'set_real_ip_from ::1;\nset_real_ip_from 127.0.0.1;');
  });

  it('asks nginx to re-resolve a backend host name only where nginx knows `resolve` (1.27.3+)', () => {
    // A stand-in `nginx` on PATH that reports a version, as `nginx -v` does (on stderr).
    const bin = join(dir, 'fake-nginx');
    mkdirSync(bin, { recursive: true });
    const path = (version: string): Record<string, string> => {
      writeFileSync(join(bin, 'nginx'), `#!/bin/sh\necho "nginx version: nginx/${version}" >&2\n`, { mode: 0o755 });
      return { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    };
    const resolveOf = (vars: NginxTemplateVars, version: string): string | undefined =>
      nginxTemplateEnv({ ...vars, ...path(version) } as NginxTemplateVars).NGINX_UPSTREAM_RESOLVE;
    assert.equal(resolveOf({}, '1.30.6'), ' resolve', 'the image (1.30): backend:8000 is re-resolved');
    assert.equal(resolveOf({}, '1.27.3'), ' resolve');
    assert.equal(resolveOf({}, '1.26.3'), '', '1.26 refuses the parameter');
    assert.equal(resolveOf({}, '1.22.1'), '');
    assert.equal(resolveOf({ NGINX_BACKEND: '10.0.0.5:8000' }, '1.30.6'), '', 'an address has nothing to resolve');
    assert.equal(resolveOf({ NGINX_BACKEND: 'unix:/run/app.sock' }, '1.30.6'), '', 'nor has a socket');
    // The resolver: as given, or the first nameserver of /etc/resolv.conf.
    const env = nginxTemplateEnv({ NGINX_RESOLVER: '127.0.0.11' });
    assert.equal(env.NGINX_RESOLVER, '127.0.0.11');
    const system = /^nameserver\s+(\S+)/m.exec(readFileSync('/etc/resolv.conf', 'utf8'))?.[1];
    if (system) assert.equal(nginxTemplateEnv({}).NGINX_RESOLVER, system.includes(':') ? `[${system}]` : system);
  });

  const gnuEnvsubst = spawnSync('sh', ['-c', 'command -v envsubst'], { encoding: 'utf8' }).stdout.trim();
  it('renders what the official script renders with GNU envsubst (defaults and non-defaults)', {
    skip: gnuEnvsubst ? false : 'no envsubst on PATH (apt-get install gettext-base)',
  }, () => {
    for (const [name, vars] of [
      ['defaults', {}],
      ['non-defaults', NON_DEFAULT],
    ] as const) {
      const out = join(dir, `gnu-${name}`);
      const { files, env } = renderNginxTemplates(out, vars);
      // As 20-envsubst-on-templates.sh: `${NAME} ` for every defined name the filter matches.
      const names = Object.keys(env)
        .filter((n) => new RegExp(NGINX_ENVSUBST_FILTER).test(n))
        .map((n) => `\${${n}}`)
        .join(' ');
      for (const f of files) {
        const template = readFileSync(join(NGINX_TEMPLATE_DIR, `${f}.template`), 'utf8');
        const gnu = spawnSync(gnuEnvsubst, [names], { input: template, env, encoding: 'utf8' });
        assert.equal(gnu.status, 0, gnu.stderr);
        assert.equal(readFileSync(join(out, f), 'utf8'), gnu.stdout, `${name}: ${f} differs from envsubst's`);
      }
    }
    // nginx's own variables are never touched, even ones that look like a filtered name.
    assert.equal(
      envsubst(`$host \${NGINX_X} $NGINX_Y $HOME`, { NGINX_X: 'x', HOME: '/h' }, 'NGINX_'),
      '$host x $NGINX_Y $HOME',
    );
  });
});

describe('nginx/templates with non-default values, on the distribution nginx', { skip }, () => {
  let upstream: http.Server;
  let upstreams: string[] = [];
  let behind: NativeNginx | undefined;
  let untrusted: NativeNginx | undefined;

  before(async () => {
    upstream = http.createServer(upstreamHandler);
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreams = [`127.0.0.1:${(upstream.address() as AddressInfo).port}`];
    // Behind a balancer at 127.0.0.1 (the test client), TLS ending there: plain HTTP serves the site.
    behind = await startNativeNginx({
      upstreams,
      plainHttp: 'site',
      template: {
        NGINX_SERVER_NAMES: 'app.example.test',
        NGINX_TRUSTED_PROXIES: '127.0.0.1, ::1',
        NGINX_RATE: '1r/s',
        NGINX_BURST: '2',
        NGINX_CONN_LIMIT: '8',
        NGINX_BODY_LIMIT: '1k',
      },
    });
    // Trusting a balancer elsewhere: the test client is just a client.
    untrusted = await startNativeNginx({
      upstreams,
      plainHttp: 'site',
      template: { NGINX_TRUSTED_PROXIES: '10.0.0.0/8' },
    });
  });

  after(async () => {
    await behind?.stop();
    await untrusted?.stop();
    await new Promise<void>((r) => upstream?.close(() => r()));
    upstream?.closeAllConnections();
  });

  it('passes nginx -t and serves the configured name only', async () => {
    assert.ok(behind);
    assert.doesNotMatch(behind.stderr(), /\[emerg\]|\[error\]/);
    assert.equal((await plainRequest(behind.port, '/', { host: 'app.example.test' })).status, 200);
    // localhost is no longer one of the site's names: the default server closes the connection.
    await assert.rejects(plainRequest(behind.port, '/', { host: 'localhost' }));
  });

  it("believes the trusted balancer's X-Forwarded-For (the last untrusted address) and X-Forwarded-Proto", async () => {
    assert.ok(behind);
    const before = seen.length;
    const headers = {
      host: 'app.example.test',
      'x-forwarded-for': '6.6.6.6, 203.0.113.7',
      'x-forwarded-proto': 'https',
    };
    assert.equal((await plainRequest(behind.port, '/whoami', headers)).status, 200);
    const got = seen[before];
    assert.ok(got);
    // What the client wrote itself (6.6.6.6) is left of what the balancer appended: never believed.
    assert.equal(got.headers['x-forwarded-for'], '203.0.113.7');
    assert.equal(got.headers['x-real-ip'], '203.0.113.7');
    assert.equal(got.headers['x-forwarded-proto'], 'https');
    await plainRequest(behind.port, '/whoami', { host: 'app.example.test', 'x-forwarded-proto': 'gopher' });
    assert.equal(seen.at(-1)?.headers['x-forwarded-proto'], 'http', 'only http or https is passed on');
  });

  it('from a peer that is not the trusted balancer, X-Forwarded-* are overwritten as at the edge', async () => {
    assert.ok(untrusted);
    const before = seen.length;
    const headers = { host: 'localhost', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };
    assert.equal((await plainRequest(untrusted.port, '/whoami', headers)).status, 200);
    assert.equal(seen[before]?.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen[before]?.headers['x-forwarded-proto'], 'http');
  });

  it('applies NGINX_BODY_LIMIT (1k) and the /api/ rate (1r/s, burst 2)', async () => {
    assert.ok(behind);
    const host = { host: 'app.example.test', 'content-type': 'application/octet-stream' };
    assert.equal((await plainRequest(behind.port, '/upload', host, Buffer.alloc(1024, 1))).status, 200);
    assert.equal((await plainRequest(behind.port, '/upload', host, Buffer.alloc(1025, 1))).status, 413);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await plainRequest(behind.port, '/api/items', host)).status);
    // 1 + a burst of 2 pass at once; ten in quick succession cannot all pass at 1r/s.
    assert.ok(statuses.includes(200) && statuses.includes(429), statuses.join(' '));
    assert.ok(statuses.filter((s) => s === 200).length < 10, statuses.join(' '));
  });
});
