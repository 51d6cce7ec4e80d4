// Bad input against every topology, natively on loopback: the gateway alone, nginx → the app's own
// server (proxy), nginx → the gateway (full). Each case is sent as raw bytes and must get its
// expected answer (status, connection closed where the framing can no longer be trusted, a JSON
// error body from the app), nothing outside the static root is ever served, and afterwards every
// serving process is the same as before (no crash, no replaced worker).
//
// Where nginx answers differently from the gateway (it has no 431 and says 400; it drops header
// lines it finds invalid instead of refusing the request), the case says so next to the
// expectation. The nginx topologies are skipped, with the reason, without /usr/sbin/nginx or
// harness/src/topologies.ts.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Exchange, endpoint, exchange, lastBody, statuses } from '@gw/harness';
import { missing, ROOT, startTarget, type Target, type TopologyName } from '../reliability/lib/targets.js';

const limits = JSON.parse(readFileSync(join(ROOT, 'config/limits.json'), 'utf8')) as {
  bodyLimitBytes: number;
  maxWaitMs: number;
  maxCpuMs: number;
};
const H = 'Host: localhost\r\n';
/** Content that must never come back: files next to and above the static root. */
const SECRETS = [readFileSync(join(ROOT, 'package.json'), 'latin1').slice(0, 60), 'root:x:0:0', '"compilerOptions"'];

type Topo = Extract<TopologyName, 'gateway' | 'proxy' | 'full'>;
interface Expect {
  status: number | number[];
  /**
   * The server must close the connection after answering (the rest of the stream is not a
   * request). 'announced': it says `Connection: close` and closes once it has read (and thrown
   * away) what the client still sends: nginx's lingering close after a 413.
   */
  closed?: boolean | 'announced';
  /** The body is the app's (or gateway's) JSON error shape. */
  jsonError?: boolean;
  check?: (x: Exchange) => void;
}
interface Case {
  name: string;
  send: string | string[];
  from?: string;
  expect: Expect | Partial<Record<Topo, Expect>>;
  limitMs?: number;
  /** Half-close after sending: "that is all there is" (a truncated body then ends at once). */
  end?: boolean;
}

const isExpect = (e: Case['expect']): e is Expect => 'status' in e;

const closed400: Expect = { status: 400, closed: true };
// nginx refuses a malformed head with its own 400 page and closes too.
const malformed = (extra: Partial<Expect> = {}): Expect => ({ ...closed400, ...extra });

// nginx's own 413 (includes/errors.conf, JSON too); it then lingers to read what the client sends.
const nginx413: Expect = { status: 413, closed: 'announced', jsonError: true };
const only413 = (x: Exchange) => assert.deepEqual(statuses(x.text), [413], 'no "100 Continue" before the 413');

const notOutsideRoot: Expect = {
  status: [400, 404],
  check: (x) => {
    for (const s of SECRETS)
      assert.ok(!x.text.includes(s), `served something outside the static root: ${x.text.slice(0, 300)}`);
  },
};

const cases: Case[] = [
  // ---- request line ----
  { name: 'request line without target and version', send: 'GET\r\n\r\n', expect: malformed() },
  {
    name: 'unknown HTTP version',
    send: `GET / HTTP/9.9\r\n${H}\r\n`,
    expect: {
      gateway: malformed(),
      full: { status: [400, 505], closed: true },
      proxy: { status: [400, 505], closed: true },
    },
  },
  { name: 'NUL in the target', send: `GET /\0 HTTP/1.1\r\n${H}\r\n`, expect: malformed() },
  { name: 'control character in the method', send: `G\x01T / HTTP/1.1\r\n${H}\r\n`, expect: malformed() },
  // ---- header section ----
  {
    name: 'header field over limit_request_field_size (9,000 bytes)',
    send: `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(9000)}\r\n\r\n`,
    // nginx: one line must fit one of large_client_header_buffers (8k): "400 Request Header Or Cookie Too Large".
    expect: {
      gateway: { status: 431, closed: true, jsonError: true },
      full: { status: 400, closed: true },
      proxy: { status: 400, closed: true },
    },
  },
  {
    name: 'head over the parser limit (40 KB of headers)',
    send: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 8 }, (_, i) => `X-Big-${i}: ${'b'.repeat(5000)}\r\n`).join('')}\r\n`,
    expect: {
      gateway: { status: 431, closed: true },
      full: { status: 400, closed: true },
      proxy: { status: 400, closed: true },
    },
  },
  {
    name: 'too many header fields (150)',
    send: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('')}Connection: close\r\n\r\n`,
    // nginx has no field count limit and passes them on: the gateway behind it refuses (full);
    // the app's own server takes up to Node's 2,000 (proxy). Both bounded by the head size.
    expect: {
      gateway: { status: 431, closed: true, jsonError: true },
      full: { status: 431, closed: true, jsonError: true },
      proxy: { status: 200 },
    },
  },
  {
    name: 'space before the colon',
    send: `GET / HTTP/1.1\r\n${H}Bad Name : v\r\n\r\n`,
    // nginx drops an invalid header line (ignore_invalid_headers on) and serves the rest.
    expect: { gateway: malformed(), full: { status: [200, 400] }, proxy: { status: [200, 400] } },
  },
  { name: 'NUL in a header value', send: `GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, expect: malformed() },
  {
    name: 'obs-fold continuation line',
    send: `GET / HTTP/1.1\r\n${H}X-A: a\r\n  folded\r\nConnection: close\r\n\r\n`,
    expect: { gateway: malformed(), full: { status: [200, 400] }, proxy: { status: [200, 400] } },
  },
  {
    name: 'HTTP/1.1 without Host',
    send: 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n',
    expect: { status: 400, closed: true },
  },
  // ---- body size ----
  {
    name: 'Content-Length over the body limit',
    send: `POST /upload HTTP/1.1\r\n${H}Content-Length: ${limits.bodyLimitBytes + 1}\r\n\r\n`,
    expect: { gateway: { status: 413, closed: true, jsonError: true }, full: nginx413, proxy: nginx413 },
    limitMs: 2000,
  },
  {
    name: 'Expect: 100-continue with an oversized Content-Length gets 413, never "100 Continue"',
    send: `POST /upload HTTP/1.1\r\n${H}Content-Length: ${limits.bodyLimitBytes + 1}\r\nExpect: 100-continue\r\n\r\n`,
    expect: {
      gateway: { status: 413, closed: true, jsonError: true, check: only413 },
      full: { ...nginx413, check: only413 },
      proxy: { ...nginx413, check: only413 },
    },
    limitMs: 2000,
  },
  {
    name: 'chunked body growing past the limit',
    send: [
      `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`,
      ...Array.from({ length: 11 }, () => `100000\r\n${'z'.repeat(0x100000)}\r\n`),
      '0\r\n\r\n',
    ],
    expect: { status: 413, closed: true, jsonError: true },
    limitMs: 15_000,
  },
  // ---- smuggling shapes ----
  {
    name: 'Content-Length and Transfer-Encoding together (CL.TE)',
    send: `POST /upload HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /whoami HTTP/1.1\r\n${H}\r\n`,
    expect: {
      status: 400,
      closed: true,
      check: (x) => assert.deepEqual(statuses(x.text), [400], 'the smuggled request is never answered'),
    },
  },
  {
    name: 'Transfer-Encoding twice (chunked, identity)',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n`,
    // nginx: an unknown transfer coding is "501 Not Implemented".
    expect: {
      gateway: closed400,
      full: { status: [400, 501], closed: true },
      proxy: { status: [400, 501], closed: true },
    },
  },
  {
    name: 'two different Content-Length values',
    send: `POST /upload HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'Content-Length with a sign',
    send: `POST /upload HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'Transfer-Encoding with a space before the colon',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    // nginx drops the invalid line: the request has no body, and the "0" after it is garbage
    // (400). Either way no request is smuggled: nothing answers 200 twice.
    expect: {
      gateway: closed400,
      full: { status: [200, 400], check: (x) => assert.ok(statuses(x.text).filter((s) => s === 200).length <= 1) },
      proxy: { status: [200, 400], check: (x) => assert.ok(statuses(x.text).filter((s) => s === 200).length <= 1) },
    },
  },
  {
    name: 'Transfer-Encoding folded onto the next line',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
    expect: { status: [400, 501], closed: true },
  },
  {
    name: 'bare LF line endings',
    send: 'GET / HTTP/1.1\nHost: localhost\n\n',
    expect: { gateway: malformed(), full: { status: [200, 400] }, proxy: { status: [200, 400] } },
  },
  // ---- chunked encoding ----
  {
    name: 'chunk size that is not hex',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'chunk longer than its size',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'chunk size overflowing 64 bits',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n`,
    expect: { status: [400, 413], closed: true },
  },
  // ---- RFC 9112 / 9110 strictness (issue 18) ----
  {
    name: 'two Host fields',
    send: 'GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n',
    expect: { status: 400, closed: true },
  },
  {
    name: 'two Content-Type fields with different values',
    send:
      `POST /api/items HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Type: text/plain\r\n` +
      'Content-Length: 2\r\n\r\n{}',
    // nginx passes both on: the gateway behind it refuses (full; nginx keeps its client's
    // connection, whose framing was sound); the app's own server takes the first and refuses the
    // body by its schema (proxy).
    expect: { gateway: closed400, full: { status: 400, jsonError: true }, proxy: { status: 400, jsonError: true } },
  },
  {
    name: 'the same Content-Length twice',
    send: `POST /upload HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'asterisk-form target for GET',
    send: `GET * HTTP/1.1\r\n${H}\r\n`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'HTTP/2.0 on an HTTP/1 request line',
    send: `GET / HTTP/2.0\r\n${H}\r\n`,
    expect: { status: [400, 505], closed: true },
  },
  {
    name: 'HTTP/0.9 with a version on the request line',
    send: `GET / HTTP/0.9\r\n${H}\r\n`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'Transfer-Encoding: chunked on HTTP/1.0',
    send: `POST /upload HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    expect: { status: 400, closed: true },
  },
  {
    name: 'chunked body whose terminator never comes (the client half-closes)',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    end: true,
    // Never answered as if complete: no 200 (the app's byte count and sha256), the connection closed.
    expect: { status: [0, 400, 408], closed: true },
  },
  {
    name: 'Content-Length in the trailer',
    send: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n`,
    // nginx reads the whole body and passes it on with a Content-Length of its own: every trailer
    // field is dropped, so the upload is served.
    expect: { gateway: closed400, full: { status: 200 }, proxy: { status: 200 } },
  },
  {
    name: 'Host in the trailer (dropped before the app)',
    send:
      `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      '5\r\nhello\r\n0\r\nHost: evil.example\r\n\r\n',
    expect: { status: 200 },
  },
  {
    name: 'Host value that is markup',
    send: 'GET /whoami HTTP/1.1\r\nHost: <script>alert(1)</script>\r\nConnection: close\r\n\r\n',
    expect: { status: 400 },
  },
  {
    name: 'absolute-form target: its authority wins over the Host field',
    send: 'GET http://localhost/whoami HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
    expect: {
      status: 200,
      check: (x) => assert.equal((JSON.parse(lastBody(x.text)) as { host: string }).host, 'localhost'),
    },
  },
  // ---- JSON ----
  {
    name: 'invalid JSON',
    send: `POST /api/items HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{bad}`,
    expect: { status: 400, jsonError: true },
  },
  {
    name: 'schema violation (missing and extra properties)',
    send: `POST /api/items HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"nope":123}`,
    expect: { status: 400, jsonError: true },
  },
  {
    name: 'schema violation (wrong type)',
    send:
      `POST /api/items HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 28\r\nConnection: close\r\n\r\n` +
      '{"name":"x","price":"cheap"}',
    expect: { status: 400, jsonError: true },
  },
  // ---- path traversal on /static ----
  ...[
    '/static/../package.json',
    '/static/../../../../etc/passwd',
    '/static/%2e%2e/%2e%2e/package.json',
    '/static/..%2f..%2fpackage.json',
    '/static/%2e%2e%2f%2e%2e%2fpackage.json',
    '/static/%252e%252e/package.json',
    '/static/..%5c..%5cpackage.json',
    '/static/..\\..\\package.json',
    '/static/%c0%ae%c0%ae/package.json',
    '/static//etc/passwd',
    '/static/%2fetc%2fpasswd',
    '/static/.%2e/tsconfig.base.json',
    '/static/%00../package.json',
  ].map(
    (path): Case => ({
      name: `traversal ${path}`,
      send: `GET ${path} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      expect: notOutsideRoot,
    }),
  ),
  // ---- query values ----
  {
    name: 'oversized ms for /slow',
    send: `GET /slow?ms=${limits.maxWaitMs + 1} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    expect: { status: 400, jsonError: true },
  },
  {
    name: 'huge number for /cpu',
    send: `GET /cpu?ms=${'9'.repeat(400)} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    expect: { status: 400, jsonError: true },
  },
  {
    name: '1e400 (Infinity) for /cpu',
    send: `GET /cpu?ms=1e400 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    expect: { status: 400, jsonError: true },
  },
  {
    name: 'negative and repeated ms for /slow',
    send: `GET /slow?ms=-1&ms=2 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    expect: { status: 400, jsonError: true },
  },
  {
    name: 'query value over the request line limit',
    send: `GET /slow?ms=${'1'.repeat(9000)} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    // nginx: a request line must fit one 8k buffer: "414 Request-URI Too Large".
    expect: { status: 414 },
  },
];

function verify(c: Case, topo: Topo, x: Exchange): void {
  const e = isExpect(c.expect) ? c.expect : c.expect[topo];
  assert.ok(e, `no expectation for ${topo}`);
  const got = statuses(x.text).filter((s) => s !== 100);
  const want = Array.isArray(e.status) ? e.status : [e.status];
  // 0 in the expectation: closing without an answer is right too.
  if (got.length === 0 && want.includes(0)) got.push(0);
  assert.ok(
    got.length > 0 && want.includes(got[0]!),
    `expected ${want.join('|')}, got ${got.join(',') || 'nothing'}${x.error ? ` (${x.error})` : ''}:\n${x.text.slice(0, 400)}`,
  );
  if (e.closed === 'announced')
    assert.ok(x.closed || /\r\nconnection: close\r\n/i.test(x.text), `no Connection: close with ${got[0]}`);
  else if (e.closed) assert.ok(x.closed, `the connection stays open after ${got[0]}`);
  if (e.jsonError) {
    const body = JSON.parse(lastBody(x.text)) as { statusCode: number; error: string; message: string };
    assert.equal(body.statusCode, got[0]);
    assert.equal(typeof body.message, 'string');
    assert.ok(!/\n\s+at /.test(body.message), 'no stack trace');
  }
  e.check?.(x);
}

for (const topo of ['gateway', 'proxy', 'full'] as const) {
  describe(`bad input: ${topo}`, { skip: missing(topo) }, () => {
    let t: Target;
    let host: string;
    let before0: number[];
    before(async () => {
      t = await startTarget(topo, { workers: 2 });
      host = endpoint(t).host;
      before0 = t.pids();
    });
    after(async () => {
      await t?.stop();
    });

    for (const c of cases) {
      it(c.name, async () => {
        const x = await exchange(t.port, c.send, {
          host,
          limitMs: c.limitMs ?? 5000,
          ...(c.from ? { localAddress: c.from } : {}),
          ...(c.end ? { endAfterWrite: true } : {}),
        });
        verify(c, topo, x);
      });
    }

    it('a spoofed X-Forwarded-For / Forwarded from an untrusted peer is ignored', async () => {
      // 127.0.0.2 is not in the gateway's --forwarded-allow-ips (127.0.0.1, ::1); nginx overwrites
      // the headers with the peer it saw in any case.
      const x = await exchange(
        t.port,
        `GET /whoami HTTP/1.1\r\n${H}X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n` +
          'X-Forwarded-Host: evil.example\r\nForwarded: for=7.7.7.7;proto=https\r\nConnection: close\r\n\r\n',
        { host, localAddress: '127.0.0.2' },
      );
      assert.deepEqual(statuses(x.text), [200]);
      const who = JSON.parse(lastBody(x.text)) as { ip: string; scheme: string; host: string };
      assert.equal(who.ip, '127.0.0.2');
      assert.equal(who.scheme, 'http');
      assert.equal(who.host, 'localhost');
    });

    it('afterwards: a valid request is answered and no serving process died or was replaced', async () => {
      const x = await exchange(t.port, `GET /healthz HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, { host });
      assert.deepEqual(statuses(x.text), [200]);
      assert.deepEqual(t.pids(), before0);
      assert.deepEqual(t.crashes(), []);
    });
  });
}
