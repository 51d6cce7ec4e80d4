/**
 * HTTP serving through the real CLI: the three app shapes of the contract, unix sockets, the
 * limits that make the gateway safe to expose (414/431/413/400), proxy-header trust, the access
 * log and the metrics endpoint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, fixture, type Gateway, rawExchange, request, sleep, startGateway } from './helpers.js';

describe('the app contract', () => {
  test('a request listener', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      const r = await request(`${gw.url}/`);
      assert.equal(r.status, 200);
      assert.equal(r.json().ok, true);
      assert.notEqual(r.json().pid, gw.proc.pid, 'served by a worker, not the master');
    } finally {
      await gw.stop();
    }
  });

  test('a fetch handler: URL, headers, streamed body, several Set-Cookie', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('fetch-app.mjs')]);
    try {
      const r = await request(`${gw.url}/hello?x=1`, { headers: { host: 'example.test' } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { kind: 'fetch', url: 'http://example.test/hello?x=1', ip: '127.0.0.1' });
      assert.equal(r.headers['x-kind'], 'fetch');
      assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
      const post = await request(`${gw.url}/echo`, { method: 'POST', body: 'payload-123' });
      assert.deepEqual(post.json(), { got: 'payload-123', method: 'POST' });
    } finally {
      await gw.stop();
    }
  });

  test('a Fastify instance, and an async factory that receives the context', async () => {
    const inst = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('fastify-app.mjs')]);
    try {
      assert.deepEqual((await request(`${inst.url}/`)).json(), { kind: 'fastify-instance' });
      const miss = await request(`${inst.url}/nope`);
      assert.equal(miss.status, 404);
    } finally {
      await inst.stop();
    }
    const fac = await startGateway(['-w', '1', '-b', '127.0.0.1:0', `${fixture('factory-app.mjs')}:build`]);
    try {
      const body = (
        await request(`${fac.url}/`, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' } })
      ).json();
      // Loopback is trusted by default, so the factory app sees the forwarded client.
      assert.deepEqual(body, { kind: 'factory', ip: '203.0.113.9', protocol: 'https', workerId: 1 });
    } finally {
      await fac.stop();
    }
  });

  test('an app that throws gets a 500 and the worker keeps serving', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      const pid = (await request(`${gw.url}/`)).json().pid;
      assert.equal((await request(`${gw.url}/throw`)).status, 500);
      assert.equal((await request(`${gw.url}/reject`)).status, 500);
      assert.equal((await request(`${gw.url}/`)).json().pid, pid, 'same worker');
      assert.ok(gw.count(/Error handling request/) >= 2);
    } finally {
      await gw.stop();
    }
  });
});

describe('binding', () => {
  test('a unix socket with the configured mode, alongside TCP; the file is removed on exit and a stale one is replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-sock-'));
    const path = join(dir, 'gw.sock');
    const viaSocket = () =>
      new Promise<string>((resolve, reject) => {
        // A unix-socket peer is trusted (only processes the file mode lets in can connect).
        http
          .get(
            {
              socketPath: path,
              path: '/headers',
              agent: false,
              headers: { 'x-forwarded-for': '198.51.100.20', 'x-forwarded-proto': 'https' },
            },
            (res) => {
              let b = '';
              res.on('data', (c) => {
                b += c;
              });
              res.on('end', () => resolve(b));
            },
          )
          .on('error', reject);
      });
    const gw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '-b',
      `unix:${path}`,
      '--unix-socket-mode',
      '600',
      fixture('echo.mjs'),
    ]);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal((await request(`${gw.url}/`)).status, 200);
      assert.deepEqual(JSON.parse(await viaSocket()), {
        xff: '198.51.100.20',
        proto: 'https',
        host: 'localhost',
        forwarded: null,
        requestId: null,
      });
    } finally {
      await gw.stop();
    }
    assert.throws(() => statSync(path), 'socket file removed on exit');

    // A socket file left by a killed server is stale: the next start replaces it.
    const killed = await startGateway(['-w', '1', '-b', `unix:${path}`, fixture('echo.mjs')]);
    killed.proc.kill('SIGKILL');
    await killed.exited;
    await sleep(200); // the orphaned worker notices its master is gone and leaves
    const next = await startGateway(['-w', '1', '-b', `unix:${path}`, fixture('echo.mjs')]);
    try {
      assert.equal(JSON.parse(await viaSocket()).proto, 'https');
      // A live socket is not stale: a second gateway on it refuses to start and leaves it alone.
      const second = spawnSync(process.execPath, [CLI, '-w', '1', '-b', `unix:${path}`, fixture('echo.mjs')], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(second.status, 1);
      assert.match(second.stderr, /GW_ERR_BIND: .*gw\.sock is in use by a running server/);
      assert.equal(JSON.parse(await viaSocket()).proto, 'https', 'the running one still answers');
    } finally {
      await next.stop();
    }
    // Nor is a file that is not a socket replaced.
    writeFileSync(path, 'not a socket');
    const file = spawnSync(process.execPath, [CLI, '-w', '1', '-b', `unix:${path}`, fixture('echo.mjs')], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(file.status, 1);
    assert.match(file.stderr, /GW_ERR_BIND: .*gw\.sock exists and is not a socket; refusing to replace it/);
    assert.equal(readFileSync(path, 'utf8'), 'not a socket');
  });
});

describe('several binds', () => {
  test('IPv4 and IPv6 addresses at once, each logged with its port', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '-b', '[::1]:0', fixture('echo.mjs')]);
    try {
      const ports = gw.lines
        .map((l) => /^Listening at: http:\/\/(\S+):(\d+) /.exec(l.msg ?? ''))
        .filter(Boolean)
        .map((m) => [m![1], Number(m![2])] as const);
      assert.equal(ports.length, 2);
      const v6 = ports.find(([host]) => host === '[::1]');
      assert.ok(v6, 'an IPv6 listener');
      const r = await request(`http://[::1]:${v6![1]}/headers`, { headers: { 'x-forwarded-for': '198.51.100.30' } });
      // ::1 is in the default --forwarded-allow-ips (loopback), so its claim is honoured.
      assert.equal(r.json().xff, '198.51.100.30');
      assert.equal((await request(`${gw.url}/`)).status, 200);
    } finally {
      await gw.stop();
    }
  });
});

describe('limits', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--limit-request-line',
      '200',
      '--limit-request-fields',
      '20',
      '--limit-request-field_size',
      '300',
      '--limit-request-body',
      '1000',
      fixture('echo.mjs'),
    ]);
  });
  after(() => gw.stop());

  test('request line too long → 414', async () => {
    const r = await request(`${gw.url}/${'a'.repeat(300)}`);
    assert.equal(r.status, 414);
    assert.match(r.json<{ message: string }>().message, /request line is longer than 200 bytes/);
  });

  test('too many header fields, or one too large → 431; a head over the parser limit → 431', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 25; i++) many[`x-h${i}`] = 'v';
    assert.equal((await request(`${gw.url}/`, { headers: many })).status, 431);
    assert.equal((await request(`${gw.url}/`, { headers: { 'x-big': 'b'.repeat(400) } })).status, 431);
    const huge = await rawExchange(gw.port, `GET / HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
  });

  test('a body over the limit → 413, announced or chunked; at the limit → 200', async () => {
    const at = Buffer.alloc(1000, 7);
    const ok = await request(`${gw.url}/upload`, { method: 'POST', body: at });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { bytes: 1000, sha256: createHash('sha256').update(at).digest('hex') });
    assert.equal((await request(`${gw.url}/upload`, { method: 'POST', body: Buffer.alloc(1001) })).status, 413);
    const chunked = await rawExchange(
      gw.port,
      'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `258\r\n${'z'.repeat(600)}\r\n`.repeat(2) +
        '0\r\n\r\n',
    );
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    assert.equal((await request(`${gw.url}/`)).status, 200, 'the worker is fine');
  });

  test('an upload refused on its declared length, or cut chunked, still gets its 413 while it is sending (lingering close)', async () => {
    // The 413 goes out before the body; closing at once with the body unread would reset the
    // connection, and a client still writing would see EPIPE/ECONNRESET instead (most did, before).
    for (let i = 0; i < 5; i++) {
      const r = await request(`${gw.url}/upload`, { method: 'POST', body: Buffer.alloc(4 * 1024 * 1024, 7) });
      assert.equal(r.status, 413);
      assert.match(r.json<{ message: string }>().message, /request body is larger than 1000 bytes/);
    }
    // The same for a chunked upload cut when it passes the limit, while it goes on streaming.
    for (let i = 0; i < 5; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${gw.url}/upload`, { method: 'POST', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        const chunk = Buffer.alloc(64 * 1024, 7);
        let sent = 0;
        const pump = (): void => {
          while (sent < 4 * 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      assert.equal(status, 413);
    }
    assert.equal((await request(`${gw.url}/`)).status, 200, 'the worker is fine');
  });

  test('an idle kept-alive connection is closed after --keep-alive seconds; --worker-connections caps open connections', async () => {
    const gw2 = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--keep-alive',
      '1',
      '--worker-connections',
      '2',
      fixture('echo.mjs'),
    ]);
    try {
      const net = await import('node:net');
      const open = async () => {
        const sock = net.connect(gw2.port, '127.0.0.1');
        let out = '';
        sock.setEncoding('utf8');
        sock.on('data', (c: string) => {
          out += c;
        });
        sock.on('error', () => {});
        const closed = new Promise<void>((r) => sock.once('close', () => r()));
        await new Promise((r) => sock.once('connect', r));
        return { sock, closed, out: () => out };
      };
      const a = await open();
      a.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      // Answered and kept alive; the server closes it once it has idled past the keep-alive.
      await a.closed;
      assert.match(a.out(), /^HTTP\/1\.1 200 OK/);
      assert.match(a.out(), /keep-alive: timeout=1/i);
      // Two connections held open: a third one is dropped unanswered, and served again once one goes.
      const held = [await open(), await open()];
      for (const c of held) c.sock.write('GET /slow?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n');
      const third = await open();
      third.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await third.closed;
      assert.equal(third.out(), '', 'over the cap: closed without an answer');
      for (const c of held) c.sock.destroy();
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await request(`${gw2.url}/`).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await sleep(100);
      }
      assert.equal(status, 200);
    } finally {
      await gw2.stop();
    }
  });

  test('a client that sends its head too slowly gets 408 and the connection is closed', async () => {
    const slow = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--header-timeout',
      '1',
      '--request-timeout',
      '2',
      fixture('echo.mjs'),
    ]);
    try {
      const net = await import('node:net');
      const sock = net.connect(slow.port, '127.0.0.1');
      let out = '';
      sock.setEncoding('utf8');
      sock.on('data', (c: string) => {
        out += c;
      });
      sock.on('error', () => {});
      const closed = new Promise((r) => sock.once('close', r));
      sock.write('GET / HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
      await closed;
      assert.match(out, /^HTTP\/1\.1 408 /);
      assert.equal((await request(`${slow.url}/`)).status, 200, 'the worker is fine');
    } finally {
      await slow.stop();
    }
  });

  test('malformed requests and smuggling shapes → 400, connection closed', async () => {
    for (const payload of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'GET / HTTP/1.1\r\n\r\n',
    ]) {
      const out = await rawExchange(gw.port, payload);
      assert.match(out, /^HTTP\/1\.1 400 /, JSON.stringify(payload));
      assert.match(out, /Connection: close/i);
    }
    assert.equal((await request(`${gw.url}/`)).status, 200, 'the worker survived them all');
  });
});

describe('proxy headers', () => {
  test('trusted only from --forwarded-allow-ips; dropped from anyone else', async () => {
    const spoof = {
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.test',
      forwarded: 'for=198.51.100.8;proto=https',
    };
    const trusted = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      const r = (
        await request(`${trusted.url}/headers`, {
          headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.test' },
        })
      ).json();
      assert.deepEqual(r, { xff: '198.51.100.7', proto: 'https', host: 'app.test', forwarded: null, requestId: null });
      const rfc = (
        await request(`${trusted.url}/headers`, { headers: { forwarded: 'for=192.0.2.60;proto=https;host=rfc.test' } })
      ).json();
      assert.deepEqual(rfc, { xff: '192.0.2.60', proto: 'https', host: 'rfc.test', forwarded: null, requestId: null });
      // A chain: only the hop next to us is trusted (loopback), so the client is the entry before it.
      const chain = (
        await request(`${trusted.url}/headers`, { headers: { 'x-forwarded-for': '1.1.1.1, 203.0.113.5' } })
      ).json();
      assert.equal(chain.xff, '203.0.113.5');
    } finally {
      await trusted.stop();
    }

    const untrusted = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--forwarded-allow-ips',
      '10.9.8.7',
      fixture('echo.mjs'),
    ]);
    try {
      const r = (await request(`${untrusted.url}/headers`, { headers: { ...spoof, host: 'real.test' } })).json();
      assert.deepEqual(r, { xff: '127.0.0.1', proto: 'http', host: 'real.test', forwarded: null, requestId: null });
    } finally {
      await untrusted.stop();
    }
  });
});

describe('logs and metrics', () => {
  test('the access log is one JSON line a request with the fields operators need', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-log-'));
    const file = join(dir, 'access.log');
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--access-logfile', file, fixture('echo.mjs')]);
    let pid: number;
    try {
      pid = (await request(`${gw.url}/?q=1`)).json().pid as number;
      const r = await request(`${gw.url}/headers`, { headers: { 'x-request-id': 'from-proxy-1' } });
      assert.equal(r.json().requestId, 'from-proxy-1', "a trusted proxy's request id is kept");
      assert.equal(r.headers['x-request-id'], 'from-proxy-1');
      assert.equal((await request(`${gw.url}/missing`)).status, 404);
    } finally {
      await gw.stop();
    }
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    const [first, , third] = lines;
    assert.equal(first.method, 'GET');
    assert.equal(first.path, '/?q=1');
    assert.equal(first.status, 200);
    assert.equal(first.client_ip, '127.0.0.1');
    assert.equal(first.worker_pid, pid!);
    assert.ok(first.bytes_sent > 0);
    assert.ok(typeof first.duration_ms === 'number');
    assert.match(first.request_id, /^[0-9a-f]{8}-\w+$/);
    assert.equal(third.status, 404);
  });

  test('metrics are aggregated over all workers, on their own address only', async () => {
    const probe = http.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => probe.once('listening', r));
    const mport = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const gw = await startGateway([
      '-w',
      '2',
      '-b',
      '127.0.0.1:0',
      '--metrics-bind',
      `127.0.0.1:${mport}`,
      fixture('echo.mjs'),
    ]);
    try {
      await gw.waitFor(/2 workers ready/);
      for (let i = 0; i < 20; i++) await request(`${gw.url}/`);
      await request(`${gw.url}/missing`);
      const text = (await request(`http://127.0.0.1:${mport}/metrics`)).body;
      assert.match(text, /^gateway_http_requests_total\{status="200"\} 20$/m);
      assert.match(text, /^gateway_http_requests_total\{status="404"\} 1$/m);
      assert.match(text, /^gateway_http_request_duration_seconds_count 21$/m);
      assert.match(text, /^gateway_workers\{state="ready"\} 2$/m);
      // Every state and label value from the start, at 0: rate() and increase() see the first one.
      assert.match(text, /^gateway_workers\{state="booting"\} 0$/m);
      assert.match(text, /^gateway_workers\{state="stopping"\} 0$/m);
      assert.match(text, /^gateway_workers_target 2$/m);
      for (const reason of ['crash', 'timeout', 'recycle', 'reload', 'scale'])
        assert.match(text, new RegExp(`^gateway_worker_restarts_total\\{reason="${reason}"\\} 0$`, 'm'));
      for (const result of ['ok', 'failed'])
        assert.match(text, new RegExp(`^gateway_reloads_total\\{result="${result}"\\} 0$`, 'm'));
      // Memory per worker, by slot (bounded: a replacement takes the slot it frees), not by pid.
      const slots = [...text.matchAll(/^gateway_worker_resident_memory_bytes\{slot="(\d+)"\} (\d+)$/gm)];
      assert.deepEqual(slots.map((m) => m[1]).sort(), ['0', '1']);
      for (const m of slots) assert.ok(Number(m[2]) > 10 * 1024 * 1024, `slot ${m[1]}: ${m[2]} bytes`);
      assert.match(text, /^nodejs_eventloop_lag_seconds /m);
      assert.match(text, /^gateway_http_requests_in_flight 0$/m);
      // A killed worker shows up as a restart with its reason; what it served stays counted.
      process.kill(gw.readyWorkers()[0]!, 'SIGKILL');
      await gw.waitFor(/Perhaps out of memory/);
      const afterKill = (await request(`http://127.0.0.1:${mport}/metrics`)).body;
      assert.match(afterKill, /^gateway_worker_restarts_total\{reason="crash"\} 1$/m);
      assert.match(afterKill, /^gateway_http_requests_total\{status="200"\} 20$/m);
      // A reload replaces both: two restarts for 'reload', and still no counter goes down.
      await gw.until('the replacement to be ready', () => gw.readyWorkers().length === 2);
      gw.signal('SIGHUP');
      await gw.waitFor(/Reload complete/);
      await gw.waitFor(/Worker exiting/, 2);
      assert.equal(await gw.metric('gateway_worker_restarts_total{reason="reload"}'), 2);
      assert.equal(await gw.metric('gateway_reloads_total{result="ok"}'), 1);
      assert.equal(await gw.metric('gateway_http_requests_total{status="200"}'), 20);
      assert.equal(await gw.metric('gateway_http_requests_total{status="404"}'), 1);
      assert.equal(await gw.metric('gateway_http_request_duration_seconds_count'), 21);
      assert.equal((await request(`${gw.url}/metrics`)).status, 404, 'not on the public port');
      assert.deepEqual(
        [...(await request(`http://127.0.0.1:${mport}/metrics`)).body.matchAll(/slot="(\d+)"/g)]
          .map((m) => m[1])
          .sort(),
        ['2', '3'],
        'the new generation booted beside the old one, on the next free slots (the next reload takes 0 and 1)',
      );
      // The target follows TTIN.
      gw.signal('SIGTTIN');
      await gw.waitFor(/^Workers: 3$/);
      assert.equal(await gw.metric('gateway_workers_target'), 3);
      // The health checks are on the metrics address too.
      assert.equal((await request(`http://127.0.0.1:${mport}/readyz`)).status, 200);
    } finally {
      await gw.stop();
    }
  });
});
