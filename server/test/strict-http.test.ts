/**
 * RFC 9112 / 9110 strictness on the real CLI, as raw bytes: what Node's parser (llhttp) lets
 * through and the gateway refuses itself (400 or 505, and the connection closed), what the parser
 * already refuses (checked here so a Node upgrade that relaxes it is noticed), a chunked body whose
 * terminator never comes (the app never sees it complete), trailer fields forbidden in trailers
 * (dropped), and the request's host: the absolute-form authority over the Host field, and
 * --allowed-hosts (400, or 421 for a TLS connection made for a server name not served).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { exchange, sharedDevCertDir } from '@gw/harness';
import { CLI, fixture, type Gateway, rawExchange, startGateway } from './helpers.js';

const H = 'Host: localhost\r\n';
const status = (text: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);
const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;

/** Sends `payload` and resolves once the server closes: everything it wrote, and whether it closed. */
const untilClosed = (port: number, payload: string, limitMs = 15_000) => exchange(port, payload, { limitMs });

describe('RFC 9112 strictness (the gateway alone)', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('request-view.mjs')]);
  });
  after(async () => {
    await gw?.stop();
  });

  const refused: Array<[string, string, number]> = [
    ['two Host fields, the same value', `GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n`, 400],
    ['two Host fields, different values', `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 400],
    ['a Host value that is markup', `GET / HTTP/1.1\r\nHost: <script>\r\n\r\n`, 400],
    ['a Host value with userinfo', `GET / HTTP/1.1\r\nHost: user@evil\r\n\r\n`, 400],
    [
      'two Content-Type fields with different values',
      `POST / HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\nhi`,
      400,
    ],
    ['the asterisk form for GET', `GET * HTTP/1.1\r\n${H}\r\n`, 400],
    ['the asterisk form for POST', `POST * HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`, 400],
    ['HTTP/2.0 on an HTTP/1 request line', `GET / HTTP/2.0\r\n${H}\r\n`, 505],
    ['HTTP/0.9 with a version on the request line', `GET / HTTP/0.9\r\n${H}\r\n`, 400],
    ['a request line without a version (HTTP/0.9)', `GET /\r\n${H}\r\n`, 400],
    [
      'Transfer-Encoding: chunked on HTTP/1.0',
      `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`,
      400,
    ],
    ['an absolute-form target with userinfo', `GET http://user@a.example/ HTTP/1.1\r\n${H}\r\n`, 400],
    // Refused by Node's parser itself (20 and 26): checked so that a relaxed parser is noticed.
    [
      'two Content-Length fields, different values',
      `POST / HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 3\r\n\r\nhi`,
      400,
    ],
    [
      'two Content-Length fields, the same value',
      `POST / HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi`,
      400,
    ],
    ['HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`, 400],
    [
      'Content-Length in the trailer',
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nContent-Length: 5\r\n\r\n`,
      400,
    ],
    [
      'Transfer-Encoding in the trailer',
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n`,
      400,
    ],
  ];
  for (const [name, payload, want] of refused) {
    it(`refuses ${name} with ${want} and closes`, async () => {
      const { text, closed } = await untilClosed(gw.port, payload);
      assert.equal(status(text), want, text.slice(0, 300));
      assert.ok(closed, 'the connection is closed');
      assert.doesNotMatch(text, /"url"/, 'the app never answered');
    });
  }

  it('serves what RFC 9112 allows: OPTIONS *, one Content-Type twice, an empty Host', async () => {
    assert.equal(status(await rawExchange(gw.port, `OPTIONS * HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)), 200);
    const twice = await rawExchange(
      gw.port,
      `POST / HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`,
    );
    assert.equal(status(twice), 200);
    const empty = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n');
    assert.equal(status(empty), 200);
    assert.equal(bodyOf(empty).host, '');
  });

  it('an absolute-form target: its authority is the host, whatever the Host field says, and the path is origin-form', async () => {
    const text = await rawExchange(
      gw.port,
      'GET http://target.example:8080/x?y=1 HTTP/1.1\r\nHost: header.example\r\nConnection: close\r\n\r\n',
    );
    assert.equal(status(text), 200, text);
    const seen = bodyOf(text);
    assert.equal(seen.url, '/x?y=1');
    assert.equal(seen.host, 'target.example:8080');
    assert.deepEqual(seen.hosts, ['target.example:8080']);
    assert.equal(seen.forwardedHost, 'target.example:8080');
  });

  it('drops trailer fields forbidden in trailers and keeps the others', async () => {
    const text = await rawExchange(
      gw.port,
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n` +
        'Host: evil.example\r\nAuthorization: Basic eDp5\r\nContent-Type: text/html\r\nX-Checksum: abc\r\n\r\n',
    );
    assert.equal(status(text), 200, text);
    const seen = bodyOf(text);
    assert.equal(seen.body, 'hi');
    assert.equal(seen.host, 'localhost');
    assert.deepEqual(seen.trailers, { 'x-checksum': 'abc' });
  });
});

describe('a chunked body whose terminator never comes', () => {
  let gw: Gateway;
  before(async () => {
    // Short deadlines, so the test waits seconds for the close, not the default minute.
    gw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--header-timeout',
      '1',
      '--request-timeout',
      '2',
      fixture('request-view.mjs'),
    ]);
  });
  after(async () => {
    await gw?.stop();
  });

  it('is timed out (408) and closed, never answered as if complete', async () => {
    const { text, closed } = await untilClosed(
      gw.port,
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    );
    assert.ok(closed, 'the gateway closed the connection');
    assert.doesNotMatch(text, /"body"/, 'the app never saw the body complete');
    assert.equal(status(text), 408, text.slice(0, 300));
  });

  it('the client giving up half-way: closed, never answered as if complete', async () => {
    const { text, closed } = await new Promise<{ text: string; closed: boolean }>((resolve) => {
      const sock = net.connect(gw.port, '127.0.0.1');
      let out = '';
      sock.setEncoding('latin1');
      sock.on('data', (c: string) => {
        out += c;
      });
      sock.on('error', () => undefined);
      sock.on('close', () => resolve({ text: out, closed: true }));
      sock.end(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    });
    assert.ok(closed);
    assert.doesNotMatch(text, /"body"/, 'the app never saw the body complete');
  });
});

describe('--allowed-hosts', () => {
  let gw: Gateway;
  let tlsGw: Gateway;
  before(async () => {
    const names = ['--allowed-hosts', 'localhost, .example.com *.test 127.0.0.1'];
    gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', ...names, fixture('request-view.mjs')]);
    const certs = sharedDevCertDir();
    tlsGw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--certfile',
      `${certs}/tls.crt`,
      '--keyfile',
      `${certs}/tls.key`,
      ...names,
      fixture('request-view.mjs'),
    ]);
  });
  after(async () => {
    await gw?.stop();
    await tlsGw?.stop();
  });

  const ask = async (target: string, host: string | null) =>
    status(
      await rawExchange(
        gw.port,
        `GET ${target} HTTP/1.1\r\n${host === null ? '' : `Host: ${host}\r\n`}Connection: close\r\n\r\n`,
      ),
    );

  it('serves the listed names (exact, .suffix, *.suffix, an IP address, any port)', async () => {
    for (const host of ['localhost', 'LOCALHOST:8000', 'example.com', 'www.example.com', 'a.b.test', '127.0.0.1:1'])
      assert.equal(await ask('/', host), 200, host);
  });

  it('refuses any other Host with 400: unknown, empty, a bare suffix of *.test', async () => {
    for (const host of ['evil', 'example.com.evil', 'test', ''])
      assert.equal(await ask('/', host), 400, JSON.stringify(host));
  });

  it('the absolute-form authority takes precedence over the Host field, both ways', async () => {
    assert.equal(await ask('http://evil/', 'localhost'), 400);
    assert.equal(await ask('http://www.example.com/', 'evil'), 200);
  });

  it('over TLS: 421 when the server name (SNI) is not a served name, whatever the Host', async () => {
    const over = (servername: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const sock = tls.connect({ port: tlsGw.port, host: '127.0.0.1', servername, rejectUnauthorized: false });
        let text = '';
        sock.setEncoding('latin1');
        sock.on('data', (c: string) => {
          text += c;
        });
        sock.on('error', reject);
        sock.on('close', () => resolve(status(text)));
        sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      });
    assert.equal(await over('evil.example', 'localhost'), 421);
    assert.equal(await over('localhost', 'localhost'), 200);
    // Two served names on one connection: served, as nginx does.
    assert.equal(await over('www.example.com', 'localhost'), 200);
    assert.equal(await over('localhost', 'evil'), 400);
  });

  it('a bad entry is one line naming the setting, and nothing starts', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, '--allowed-hosts', 'ok,<bad>', '--check-config', fixture('request-view.mjs')],
      {
        encoding: 'utf8',
      },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /allowed_hosts.*<bad>/);
  });
});
