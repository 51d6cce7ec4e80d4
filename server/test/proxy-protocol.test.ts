/**
 * --proxy-protocol: the header parser (v1, v2 with TLVs, LOCAL, broken ones), then the real CLI
 * behind raw sockets that speak as an L4 balancer would: the address of the header is the client
 * for /whoami, X-Forwarded-For and the access log; an untrusted peer, a connection without a
 * header, a malformed or a late one are closed without a byte of answer, and counted by reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { devCertificate } from '@gw/harness';
import { parseProxyHeader } from '../src/proxy-protocol.js';
import { type Gateway, rawExchange, startGateway } from './helpers.js';

const SAMPLE_APP = fileURLToPath(new URL('../../app/dist/app.js', import.meta.url));
const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header: command 1 (PROXY) or 0 (LOCAL), family byte, the address block, then TLVs. */
function v2(command: 0 | 1, family: number, block: Buffer, tlvs: Buffer = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(block.length + tlvs.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | command, family]), len, block, tlvs]);
}

function v4Block(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src.split('.').map(Number)).copy(b, 0);
  Buffer.from(dst.split('.').map(Number)).copy(b, 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

/** 2001:db8::7 → 2001:db8::1, ports 40000 → 443. */
const V6_BLOCK = Buffer.concat([
  Buffer.from('20010db8000000000000000000000007', 'hex'),
  Buffer.from('20010db8000000000000000000000001', 'hex'),
  Buffer.from([0x9c, 0x40, 0x01, 0xbb]),
]);
/** Two TLVs a balancer sends: PP2_TYPE_ALPN "h2" and AWS's VPC endpoint id (0xEA). */
const TLVS = Buffer.concat([
  Buffer.from([0x01, 0x00, 0x02]),
  Buffer.from('h2'),
  Buffer.from([0xea, 0x00, 0x04]),
  Buffer.from('vpce'),
]);

describe('the header parser', () => {
  test('v1: TCP4, TCP6, UNKNOWN; what follows is left alone', () => {
    const line = 'PROXY TCP4 198.51.100.7 10.0.0.1 51234 80\r\n';
    assert.deepEqual(parseProxyHeader(Buffer.from(`${line}GET / HTTP/1.1\r\n`)), {
      kind: 'ok',
      length: line.length,
      source: { address: '198.51.100.7', port: 51234, family: 'IPv4' },
    });
    const six = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n'));
    assert.deepEqual(six.kind === 'ok' && six.source, { address: '2001:db8::7', port: 40000, family: 'IPv6' });
    const unknown = 'PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n';
    assert.deepEqual(parseProxyHeader(Buffer.from(unknown)), { kind: 'ok', length: unknown.length });
  });

  test('v1: incomplete until CRLF; broken lines are invalid', () => {
    assert.equal(parseProxyHeader(Buffer.from('PRO')).kind, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 198.51.100.7')).kind, 'incomplete');
    for (const bad of [
      'GET / HTTP/1.1\r\n',
      'PROXY TCP4 198.51.100.7 10.0.0.1 51234\r\n',
      'PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n',
      'PROXY TCP4 198.51.100.7 10.0.0.1 65536 80\r\n',
      'PROXY UDP4 198.51.100.7 10.0.0.1 1 2\r\n',
      `PROXY TCP4 ${'1'.repeat(120)}`,
    ])
      assert.equal(parseProxyHeader(Buffer.from(bad)).kind, 'invalid', bad);
  });

  test('v2: IPv4 and IPv6 with TLVs skipped, LOCAL keeps the socket, broken ones are invalid', () => {
    const four = v2(1, 0x11, v4Block('198.51.100.9', '10.0.0.1', 5555, 80), TLVS);
    assert.deepEqual(parseProxyHeader(Buffer.concat([four, Buffer.from('GET')])), {
      kind: 'ok',
      length: four.length,
      source: { address: '198.51.100.9', port: 5555, family: 'IPv4' },
    });
    const six = parseProxyHeader(v2(1, 0x21, V6_BLOCK));
    assert.deepEqual(six.kind === 'ok' && six.source, { address: '2001:db8::7', port: 40000, family: 'IPv6' });
    const local = v2(0, 0x00, Buffer.alloc(0));
    assert.deepEqual(parseProxyHeader(local), { kind: 'ok', length: 16 });
    assert.equal(parseProxyHeader(four.subarray(0, 20)).kind, 'incomplete');
    assert.equal(parseProxyHeader(SIG.subarray(0, 5)).kind, 'incomplete');
    const badVersion = Buffer.from(four);
    badVersion[12] = 0x11;
    assert.equal(parseProxyHeader(badVersion).kind, 'invalid');
    assert.equal(parseProxyHeader(v2(1, 0x11, Buffer.alloc(4))).kind, 'invalid', 'IPv4 block too short');
  });
});

/** Writes `chunks` one by one (a header split across packets) and reads everything until the close. */
function exchange(port: number, chunks: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      out += c;
    });
    sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(out) : reject(err)));
    sock.on('close', () => resolve(out));
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('connect', async () => {
      for (const c of chunks) {
        sock.write(c);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  });
}

const GET_WHOAMI = (extra = '') => `GET /whoami HTTP/1.1\r\nHost: app.test\r\n${extra}Connection: close\r\n\r\n`;

function whoami(answer: string): { ip: string; peer: string; ips: string[] } {
  assert.match(answer, /^HTTP\/1\.1 200 /, answer);
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
}

describe('behind an L4 balancer (the real CLI)', () => {
  let gw: Gateway;
  let logFile: string;
  before(async () => {
    logFile = join(mkdtempSync(join(tmpdir(), 'gw-pp-')), 'access.log');
    gw = await startGateway([
      ...['-w', '1', '-b', '127.0.0.1:0', '--proxy-protocol', '--metrics-bind', '127.0.0.1:0'],
      ...['--access-logfile', logFile, '--log-level', 'debug', '--header-timeout', '1', SAMPLE_APP],
    ]);
  });
  after(() => gw.stop());

  test('v1: the client of the header is the client for the app, and a client-sent X-Forwarded-For is not', async () => {
    const header = 'PROXY TCP4 198.51.100.7 10.0.0.1 51234 80\r\n';
    const me = whoami(await rawExchange(gw.port, header + GET_WHOAMI('X-Forwarded-For: 6.6.6.6\r\n')));
    assert.equal(me.ip, '198.51.100.7');
    assert.equal(me.peer, '198.51.100.7', 'req.socket.remoteAddress');
    assert.ok(!me.ips.includes('6.6.6.6'), JSON.stringify(me.ips));
  });

  test('v2 (IPv4 with TLVs, IPv6), split across packets, and keep-alive after the header', async () => {
    const four = v2(1, 0x11, v4Block('198.51.100.9', '10.0.0.1', 5555, 80), TLVS);
    const request = Buffer.from(GET_WHOAMI());
    const split = [
      four.subarray(0, 7),
      four.subarray(7, 20),
      Buffer.concat([four.subarray(20), request.subarray(0, 5)]),
    ];
    assert.equal(whoami(await exchange(gw.port, [...split, request.subarray(5)])).ip, '198.51.100.9');
    assert.equal(whoami(await rawExchange(gw.port, Buffer.concat([v2(1, 0x21, V6_BLOCK), request]))).ip, '2001:db8::7');
    const twice = `GET /whoami HTTP/1.1\r\nHost: app.test\r\n\r\n${GET_WHOAMI()}`;
    const answer = await rawExchange(
      gw.port,
      Buffer.concat([v2(1, 0x11, v4Block('192.0.2.33', '10.0.0.1', 1, 80)), Buffer.from(twice)]),
    );
    assert.equal(answer.match(/"ip":"192\.0\.2\.33"/g)?.length, 2, answer);
  });

  test("v2 LOCAL (the balancer's own health check) keeps the connection's address", async () => {
    const answer = await rawExchange(gw.port, Buffer.concat([v2(0, 0x00, Buffer.alloc(0)), Buffer.from(GET_WHOAMI())]));
    assert.equal(whoami(answer).ip, '127.0.0.1');
  });

  test('no header, a malformed one, or one not complete in header_timeout: closed without a response, counted', async () => {
    const before = await gw.metric('gateway_proxy_protocol_refusals_total{reason="malformed"}');
    assert.equal(await rawExchange(gw.port, GET_WHOAMI()), '');
    assert.equal(await rawExchange(gw.port, `PROXY TCP4 198.51.100.7 nonsense 1 2\r\n${GET_WHOAMI()}`), '');
    assert.equal(await rawExchange(gw.port, 'PROXY TCP4 198.51.100.7', 5000), '', 'late: closed at header_timeout');
    assert.equal(await gw.metric('gateway_proxy_protocol_refusals_total{reason="malformed"}'), (before ?? 0) + 2);
    assert.equal(await gw.metric('gateway_proxy_protocol_refusals_total{reason="timeout"}'), 1);
    assert.equal(await gw.metric('gateway_proxy_protocol_refusals_total{reason="untrusted_peer"}'), 0);
    const line = await gw.waitFor(
      /^PROXY protocol: closed a connection from 127\.0\.0\.1 \(no PROXY protocol header\)$/,
    );
    assert.equal(line.level, 'debug');
    assert.equal(line.reason, 'malformed');
    // The worker that refused them serves on.
    assert.equal(
      whoami(await rawExchange(gw.port, `PROXY TCP4 203.0.113.5 10.0.0.1 1 80\r\n${GET_WHOAMI()}`)).ip,
      '203.0.113.5',
    );
  });

  test('the access log names the client of the header', async () => {
    await rawExchange(gw.port, `PROXY TCP4 198.51.100.77 10.0.0.1 1 80\r\n${GET_WHOAMI()}`);
    let lines: Array<{ client_ip: string; path: string }> = [];
    for (let i = 0; i < 50 && !lines.some((l) => l.client_ip === '198.51.100.77'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      lines = readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    }
    assert.ok(
      lines.some((l) => l.client_ip === '198.51.100.77' && l.path === '/whoami'),
      JSON.stringify(lines),
    );
  });
});

test('a peer outside --proxy-allow-ips is closed before a byte is read, even with a good header', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--proxy-protocol', '--proxy-allow-ips', '192.0.2.1,10.0.0.0/8'],
    ...['--metrics-bind', '127.0.0.1:0', SAMPLE_APP],
  ]);
  try {
    assert.equal(await rawExchange(gw.port, `PROXY TCP4 198.51.100.7 10.0.0.1 1 80\r\n${GET_WHOAMI()}`), '');
    assert.equal(await gw.metric('gateway_proxy_protocol_refusals_total{reason="untrusted_peer"}'), 1);
    assert.equal(await gw.metric('gateway_proxy_protocol_refusals_total{reason="malformed"}'), 0);
  } finally {
    await gw.stop();
  }
});

test('with TLS on the gateway: the header comes before the handshake, and the app sees its client', async () => {
  const { cert, key } = devCertificate(mkdtempSync(join(tmpdir(), 'gw-pp-tls-')));
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--proxy-protocol', '--certfile', cert, '--keyfile', key, SAMPLE_APP],
  ]);
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const raw = net.connect(gw.port, '127.0.0.1', () => {
        raw.write(v2(1, 0x11, v4Block('198.51.100.44', '10.0.0.1', 4444, 443)), () => {
          const t = tls.connect({ socket: raw, rejectUnauthorized: false }, () => t.write(GET_WHOAMI()));
          let out = '';
          t.setEncoding('utf8');
          t.on('data', (c: string) => {
            out += c;
          });
          t.on('error', reject);
          t.on('close', () => resolve(out));
        });
      });
      raw.on('error', reject);
      raw.setTimeout(10_000, () => raw.destroy());
    });
    const me = whoami(answer) as { ip: string; scheme?: string };
    assert.equal(me.ip, '198.51.100.44');
    assert.equal(me.scheme, 'https');
  } finally {
    await gw.stop();
  }
});
