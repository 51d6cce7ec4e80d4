/**
 * HTTP/2 at the gateway, with Node's http2 client against the real CLI: h2 and http/1.1 by ALPN on
 * one TLS port, h2c by prior knowledge from trusted peers only, the three app shapes (listener,
 * fetch handler, Fastify) with bodies and streaming, forwarded headers, the access log and metrics,
 * the limits, rapid reset (CVE-2023-44487's shape), and GOAWAY on TERM and HUP with the streams in
 * flight finished.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import tls, { type TLSSocket } from 'node:tls';
import { devCertificate, ROOT } from '@gw/harness';
import { fixture, request, sleep, startGateway } from './helpers.js';

const cert = devCertificate(mkdtempSync(join(tmpdir(), 'gw-h2-')));
const SAMPLE_APP = join(ROOT, 'app/dist/app.js');
const TLS = ['--certfile', cert.cert, '--keyfile', cert.key];

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** How many DATA chunks the body came in. */
  chunks: number;
}

function connect(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, { rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function h2(
  session: http2.ClientHttp2Session,
  path: string,
  o: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: Buffer | string } = {},
): Promise<H2Reply> {
  const stream = session.request({ ':path': path, ':method': o.method ?? 'GET', ...o.headers });
  if (o.body !== undefined) stream.end(o.body);
  else if ((o.method ?? 'GET') !== 'GET') stream.end();
  return new Promise((resolve, reject) => {
    let headers: http2.IncomingHttpHeaders = {};
    const parts: Buffer[] = [];
    stream.on('response', (h) => {
      headers = h;
    });
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () =>
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(parts), chunks: parts.length }),
    );
    stream.on('error', reject);
  });
}

const json = (r: H2Reply) => JSON.parse(r.body.toString('utf8'));

/** Resolves on the emitter's event (events.once would reject on an 'error' first). */
const on = (emitter: NodeJS.EventEmitter, event: string): Promise<void> =>
  new Promise((resolve) => emitter.once(event, () => resolve()));

/** An HTTPS request by an HTTP/1.1 client offering `alpn`, and the protocol ALPN chose. */
function https1(
  port: number,
  path: string,
  alpn = ['http/1.1'],
): Promise<{ status: number; alpn: string | false | null }> {
  const options: https.RequestOptions & { ALPNProtocols: string[] } = {
    ...{ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false },
    ALPNProtocols: alpn,
  };
  return new Promise((resolve, reject) => {
    https
      .get(options, (res) => {
        const alpn = (res.socket as TLSSocket).alpnProtocol;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, alpn }));
      })
      .on('error', reject);
  });
}

describe('HTTP/2 over TLS, beside HTTP/1.1 on the same port', () => {
  const started = startGateway([
    '-w',
    '1',
    '-b',
    '127.0.0.1:0',
    ...TLS,
    '--forwarded-allow-ips',
    '10.9.9.9',
    fixture('echo.mjs'),
  ]);
  after(async () => void (await (await started).stop()));

  test('ALPN gives h2 to an h2 client and http/1.1 to an HTTP/1.1 client', async () => {
    const gw = await started;
    const session = await connect(gw.baseUrl);
    try {
      assert.equal(session.alpnProtocol, 'h2');
      const r = await h2(session, '/');
      assert.equal(r.status, 200);
      assert.equal(json(r).ok, true);
    } finally {
      session.close();
    }
    const h1 = await https1(gw.port, '/');
    assert.deepEqual(h1, { status: 200, alpn: 'http/1.1' });
  });

  test('a listener app gets request bodies and the forwarded headers of an untrusted client as the socket says', async () => {
    const gw = await started;
    const session = await connect(gw.baseUrl);
    try {
      const body = Buffer.alloc(300_000, 7);
      const up = await h2(session, '/upload', { method: 'POST', body });
      assert.equal(up.status, 200);
      assert.deepEqual(json(up), { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
      const r = await h2(session, '/headers', {
        headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'http', forwarded: 'for=6.6.6.6' },
      });
      const seen = json(r);
      assert.equal(seen.xff, '127.0.0.1', 'a client claim is replaced by the peer');
      assert.equal(seen.proto, 'https');
      assert.equal(seen.host, `127.0.0.1:${gw.port}`, ':authority is the Host');
      assert.equal(seen.forwarded, null);
    } finally {
      session.close();
    }
  });

  test('the limits: concurrent streams advertised, a body without length cut at the limit, an oversized head refused', async () => {
    const gw = await started;
    const session = await connect(gw.baseUrl);
    try {
      if (!session.remoteSettings.maxConcurrentStreams) await once(session, 'remoteSettings');
      assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
      // The pipeline's head checks apply: a field over limit_request_field_size (8190) is a 431.
      const big = await h2(session, '/headers', { headers: { 'x-big': 'a'.repeat(9000) } });
      assert.equal(big.status, 431, 'a field over limit_request_field_size');
      // A header list over limit_request_header_size (16 KiB) in fields each within their limit:
      // Node refuses the stream (RST_STREAM ENHANCE_YOUR_CALM) before the app sees it.
      const fields: http2.OutgoingHttpHeaders = {};
      for (let i = 0; i < 10; i++) fields[`x-f${i}`] = 'a'.repeat(2000);
      const refused = await h2(session, '/headers', { headers: fields }).then(
        (r) => r.status,
        (err: NodeJS.ErrnoException) => err.code,
      );
      assert.ok(refused === 431 || refused === 'ERR_HTTP2_STREAM_ERROR', `refused: ${refused}`);
      const ok = await h2(session, '/');
      assert.equal(ok.status, 200, 'the session goes on serving');
    } finally {
      session.close();
    }
  });
});

test('HTTP/2 limits: a streamed body over --limit-request-body gets 413; the stream ends, the session serves on', async () => {
  const gw = await startGateway([
    '-w',
    '1',
    '-b',
    '127.0.0.1:0',
    ...TLS,
    '--limit-request-body',
    '100000',
    fixture('echo.mjs'),
  ]);
  const session = await connect(gw.baseUrl);
  try {
    const stream = session.request({ ':path': '/upload', ':method': 'POST' });
    const chunk = Buffer.alloc(16_384, 1);
    let status = 0;
    let rstCode: number | undefined;
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('error', () => {});
    stream.resume();
    const ended = on(stream, 'end');
    // The server resets the stream (NO_ERROR) once its 413 is out: the rest of the body is not wanted.
    session.on('frameError', () => {});
    stream.on('aborted', () => {
      rstCode = stream.rstCode;
    });
    // Bounded: at most 1 MiB offered, stopping once the answer came.
    for (let i = 0; i < 64 && status === 0 && !stream.destroyed; i++) {
      if (!stream.write(chunk)) await Promise.race([on(stream, 'drain'), ended, sleep(200)]);
    }
    await Promise.race([ended, sleep(5000)]);
    assert.equal(status, 413);
    rstCode ??= stream.rstCode;
    assert.equal(rstCode, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal((await h2(session, '/')).status, 200);
  } finally {
    session.close();
    await gw.stop();
  }
});

test('HTTP/2 timeouts: a connection with no request gets GOAWAY after --header-timeout, an idle one after --keep-alive', async () => {
  const gw = await startGateway([
    '-w',
    '1',
    '-b',
    '127.0.0.1:0',
    ...TLS,
    '--header-timeout',
    '1',
    '--keep-alive',
    '1',
    fixture('echo.mjs'),
  ]);
  try {
    const silent = await connect(gw.baseUrl);
    const silentGoaway = on(silent, 'goaway');
    const idle = await connect(gw.baseUrl);
    const idleGoaway = on(idle, 'goaway');
    assert.equal((await h2(idle, '/')).status, 200);
    // Bounded waits, not timings: each connection must be told to go away, then closed.
    const closed = (s: http2.ClientHttp2Session) =>
      Promise.race([
        Promise.all([s === silent ? silentGoaway : idleGoaway, on(s, 'close')]).then(() => true),
        sleep(15_000),
      ]);
    assert.equal(await closed(silent), true, 'the connection that sent no request was closed');
    assert.equal(await closed(idle), true, 'the idle connection was closed');
    // A stream in flight holds the connection past the keep-alive.
    const busy = await connect(gw.baseUrl);
    const r = await h2(busy, '/slow?ms=2500');
    assert.equal(r.status, 200);
    busy.close();
  } finally {
    await gw.stop();
  }
});

describe('h2c by prior knowledge', () => {
  test('a trusted peer whose HTTP/1 request arrives a byte at first ("P", then "OST …") is served HTTP/1', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      const socket = net.connect(gw.port, '127.0.0.1');
      await once(socket, 'connect');
      // "P" is also how the HTTP/2 preface (PRI * HTTP/2.0) starts: the gateway must wait for more.
      socket.write('P');
      await sleep(100);
      socket.write('OST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => {
        answer += c;
      });
      await once(socket, 'close');
      assert.match(answer, /^HTTP\/1\.1 200 /, answer.slice(0, 200));
    } finally {
      await gw.stop();
    }
  });

  test('a trusted peer (nginx, a mesh) gets HTTP/2 in clear, and its forwarded headers are believed', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    const session = await connect(gw.url);
    try {
      const r = await h2(session, '/headers', {
        headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
      });
      assert.equal(r.status, 200);
      assert.equal(json(r).xff, '203.0.113.9');
      assert.equal(json(r).proto, 'https');
      const body = Buffer.alloc(200_000, 3);
      assert.equal(json(await h2(session, '/upload', { method: 'POST', body })).bytes, body.length);
    } finally {
      session.close();
    }
    // HTTP/1.1 from the same trusted peer still takes the HTTP/1 path, with keep-alive.
    assert.equal((await request(`${gw.url}/`)).status, 200);
    await gw.stop();
  });

  test('from an untrusted peer the preface is refused, and HTTP/1.1 still works', async () => {
    const gw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--forwarded-allow-ips',
      '10.9.9.9',
      fixture('echo.mjs'),
    ]);
    try {
      const session = http2.connect(gw.url);
      session.on('error', () => {});
      const stream = session.request({ ':path': '/' });
      stream.on('error', () => {});
      const outcome = await Promise.race([
        on(stream, 'response').then(() => 'response'),
        on(session, 'close').then(() => 'closed'),
        on(stream, 'close').then(() => 'closed'),
      ]);
      session.destroy();
      assert.equal(outcome, 'closed', 'no HTTP/2 response for an untrusted peer');
      assert.equal((await request(`${gw.url}/`)).status, 200);
      assert.deepEqual(gw.crashes(), []);
    } finally {
      await gw.stop();
    }
  });

  test('--http-protocols h1 turns HTTP/2 off: ALPN offers http/1.1 only, trusted h2c is refused', async () => {
    const clear = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--http-protocols', 'h1', fixture('echo.mjs')]);
    try {
      const session = http2.connect(clear.url);
      session.on('error', () => {});
      const stream = session.request({ ':path': '/' });
      stream.on('error', () => {});
      const outcome = await Promise.race([
        on(stream, 'response').then(() => 'response'),
        on(session, 'close').then(() => 'closed'),
      ]);
      session.destroy();
      assert.equal(outcome, 'closed', 'a trusted peer gets no HTTP/2 either');
    } finally {
      await clear.stop();
    }
    const gw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      ...TLS,
      '--http-protocols',
      'h1',
      fixture('echo.mjs'),
    ]);
    try {
      assert.deepEqual(await https1(gw.port, '/', ['h2', 'http/1.1']), { status: 200, alpn: 'http/1.1' });
      const session = http2.connect(gw.baseUrl, { rejectUnauthorized: false });
      const err = await once(session, 'error').then(([e]) => e as Error);
      assert.ok(err, 'an h2-only client cannot connect');
      session.destroy();
    } finally {
      await gw.stop();
    }
  });
});

test('fetch handler and Fastify over HTTP/2: bodies, cookies, streaming', async () => {
  const fetchGw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', ...TLS, fixture('fetch-app.mjs')]);
  const fastifyGw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', ...TLS, SAMPLE_APP]);
  const a = await connect(fetchGw.baseUrl);
  const b = await connect(fastifyGw.baseUrl);
  try {
    const echo = await h2(a, '/echo', { method: 'POST', body: 'hello over h2' });
    assert.deepEqual(json(echo), { got: 'hello over h2', method: 'POST' });
    const root = await h2(a, '/');
    assert.equal(json(root).url, `https://127.0.0.1:${fetchGw.port}/`);
    assert.deepEqual(root.headers['set-cookie'], ['a=1', 'b=2']);

    const who = json(await h2(b, '/whoami'));
    assert.equal(who.scheme ?? who.protocol, 'https');
    const body = Buffer.alloc(500_000, 9);
    const up = json(
      await h2(b, '/upload', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } }),
    );
    assert.equal(up.bytes, body.length);
    assert.equal(up.sha256, createHash('sha256').update(body).digest('hex'));
    const streamed = await h2(b, '/stream');
    assert.equal(streamed.status, 200);
    assert.ok(streamed.chunks > 1, `the response arrived in ${streamed.chunks} chunks, flushed over time`);
  } finally {
    a.close();
    b.close();
    await fetchGw.stop();
    await fastifyGw.stop();
  }
});

test('the access log says HTTP/2.0 and the metrics count requests by protocol', async () => {
  const gw = await startGateway([
    '-w',
    '1',
    '-b',
    '127.0.0.1:0',
    ...TLS,
    '--access-logfile',
    '-',
    '--metrics-bind',
    '127.0.0.1:0',
    fixture('echo.mjs'),
  ]);
  const session = await connect(gw.baseUrl);
  try {
    for (let i = 0; i < 3; i++) assert.equal((await h2(session, `/h2-log-${i}`)).status, 404);
    await https1(gw.port, '/h1-log');
    await gw.until('the access lines', () => gw.stdout.filter((l) => l.includes('-log')).length === 4);
    const entries = gw.stdout.filter((l) => l.includes('-log')).map((l) => JSON.parse(l));
    assert.deepEqual(entries.map((e) => [e.path, e.protocol]).sort(), [
      ['/h1-log', 'HTTP/1.1'],
      ['/h2-log-0', 'HTTP/2.0'],
      ['/h2-log-1', 'HTTP/2.0'],
      ['/h2-log-2', 'HTTP/2.0'],
    ]);
    let h2count: number | undefined;
    for (let i = 0; i < 40 && h2count !== 3; i++) {
      h2count = await gw.metric('gateway_http_requests_by_protocol_total{protocol="h2"}');
      if (h2count !== 3) await sleep(250);
    }
    assert.equal(h2count, 3);
    assert.equal(await gw.metric('gateway_http_requests_by_protocol_total{protocol="http/1.1"}'), 1);
  } finally {
    session.close();
    await gw.stop();
  }
});

test('rapid reset: streams opened and cancelled in a loop cost at most one request each, and others are served', async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', ...TLS, '--access-logfile', '-', fixture('echo.mjs')]);
  const N = 2000;
  try {
    const workers = gw.readyWorkers();
    const session = http2.connect(gw.baseUrl, { rejectUnauthorized: false });
    session.on('error', () => {});
    await Promise.race([on(session, 'connect'), on(session, 'close')]);
    let opened = 0;
    let goaway: number | undefined;
    session.on('goaway', (code: number) => {
      goaway = code;
    });
    // Bounded: N streams at most, each reset right after its HEADERS, written in bursts.
    for (let i = 0; i < N && !session.destroyed && goaway === undefined; i++) {
      try {
        const s = session.request({ ':path': `/slow?ms=50&rr=${i}` });
        s.on('error', () => {});
        s.close(http2.constants.NGHTTP2_CANCEL);
        opened++;
      } catch {
        break;
      }
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await Promise.race([on(session, 'close'), sleep(2000)]);
    session.destroy();
    // Whatever Node and nghttp2 let through reached the app as ordinary requests, never more.
    await sleep(500);
    const seen = gw.stdout.filter((l) => l.includes('rr=')).length;
    assert.ok(seen <= opened, `${seen} requests for ${opened} streams`);
    assert.ok(opened > 0);
    // The worker survived and serves others, over both protocols.
    const other = await connect(gw.baseUrl);
    assert.equal((await h2(other, '/')).status, 200);
    other.close();
    assert.equal((await https1(gw.port, '/')).status, 200);
    assert.deepEqual(gw.readyWorkers(), workers, 'the same worker');
    assert.deepEqual(gw.crashes(), []);
    console.log(`# rapid reset: ${opened} streams opened and reset, ${seen} reached the app, GOAWAY: ${goaway}`);
  } finally {
    await gw.stop();
  }
});

describe('GOAWAY on graceful stop and reload', () => {
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${sig}: the session gets GOAWAY, the stream in flight finishes with its answer`, async () => {
      const gw = await startGateway([
        '-w',
        '1',
        '-b',
        '127.0.0.1:0',
        ...TLS,
        '--graceful-timeout',
        '20',
        fixture('echo.mjs'),
      ]);
      try {
        const session = await connect(gw.baseUrl);
        session.on('error', () => {});
        const goaway = once(session, 'goaway');
        const inFlight = h2(session, '/slow?ms=1500');
        await sleep(300);
        gw.signal(sig);
        const [code] = await goaway;
        assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
        const r = await inFlight;
        assert.equal(r.status, 200);
        assert.equal(json(r).slept, 1500);
        await Promise.race([on(session, 'close'), sleep(5000)]);
        assert.equal(session.closed || session.destroyed, true, 'the connection closes after its last stream');
        if (sig === 'SIGHUP') {
          await gw.waitFor(/Reload complete/);
          const fresh = await connect(gw.baseUrl);
          assert.equal((await h2(fresh, '/')).status, 200, 'the new generation serves HTTP/2');
          fresh.close();
        }
      } finally {
        await gw.stop();
      }
    });
  }
});

test('h2: the streams of an untrusted address share its --max-in-flight-per-client, and a waiting one can time out with 503', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', ...TLS],
    ...['--max-in-flight-per-client', '1', '--timeout', '2'],
    SAMPLE_APP,
  ]);
  try {
    const session = http2.connect(`https://127.0.0.1:${gw.port}`, {
      createConnection: () =>
        tls.connect({
          ...{ host: '127.0.0.1', port: gw.port, localAddress: '127.0.0.2' },
          ...{ ALPNProtocols: ['h2'], rejectUnauthorized: false },
        }),
    });
    await on(session, 'connect');
    // Three streams at once, one at a time in the app: all answered, two after a wait.
    const three = await Promise.all([1, 2, 3].map(() => h2(session, '/slow?ms=200')));
    assert.deepEqual(
      three.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(await gw.metric('gateway_client_waits_total{outcome="served"}'), 2);
    // One stream the app holds 6 s, one behind it that waits past --timeout: 503, the session lives on.
    const [long, behind] = await Promise.all([h2(session, '/slow?ms=6000'), h2(session, '/healthz')]);
    assert.equal(behind.status, 503);
    assert.equal(long.status, 200);
    assert.equal((await h2(session, '/healthz')).status, 200, 'the session is still usable');
    assert.equal(await gw.metric('gateway_client_waits_total{outcome="timed_out"}'), 1);
    session.close();
  } finally {
    await gw.stop();
  }
});
