/** Proxy-header resolution, unit by unit: who may claim what about the client. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import {
  applyDirect,
  applyForwarded,
  compileTrust,
  parseCidrList,
  parseForwardedHeader,
  resolveForwarded,
} from '../src/forwarded.js';

function req(peer: string | undefined, headers: Record<string, string>, host = 'svc.test'): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    connection: { remoteAddress: peer },
    headers: { host, ...headers },
  } as unknown as IncomingMessage;
}

const loopback = compileTrust(['127.0.0.1', '::1']);
const docker = compileTrust(['172.16.0.0/12']);

test("an untrusted peer's claims are ignored", () => {
  const r = req('203.0.113.1', {
    'x-forwarded-for': '1.2.3.4',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.test',
  });
  assert.deepEqual(resolveForwarded(r, loopback, false), { ip: '203.0.113.1', proto: 'http', host: 'svc.test' });
});

test('a trusted proxy sets client, scheme and host', () => {
  const r = req('172.18.0.5', {
    'x-forwarded-for': '198.51.100.2',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'app.test',
  });
  assert.deepEqual(resolveForwarded(r, docker, false), { ip: '198.51.100.2', proto: 'https', host: 'app.test' });
});

test('a client cannot prepend a fake hop past the first untrusted address', () => {
  const r = req('172.18.0.5', { 'x-forwarded-for': '6.6.6.6, 198.51.100.2' });
  assert.equal(resolveForwarded(r, docker, false).ip, '198.51.100.2');
  const chain = req('172.18.0.5', {
    'x-forwarded-for': '198.51.100.2, 172.18.0.9',
    'x-forwarded-proto': 'https, http',
  });
  assert.deepEqual(resolveForwarded(chain, docker, false), { ip: '198.51.100.2', proto: 'https', host: 'svc.test' });
});

test("RFC 7239 Forwarded, quoted IPv6 with a port, and an unknown proto falls back to the socket's", () => {
  assert.deepEqual(parseForwardedHeader('for="[2001:db8::1]:4711";proto=HTTPS;host=a.test, for=192.0.2.43'), [
    { for: '2001:db8::1', proto: 'https', host: 'a.test' },
    { for: '192.0.2.43' },
  ]);
  const r = req('127.0.0.1', { forwarded: 'for=192.0.2.60;proto=gopher;host=b.test' });
  assert.deepEqual(resolveForwarded(r, loopback, true), { ip: '192.0.2.60', proto: 'https', host: 'b.test' });
});

test('unix-socket peers are trusted; "*" trusts everyone', () => {
  assert.equal(
    resolveForwarded(req(undefined, { 'x-forwarded-for': '198.51.100.3' }), loopback, false).ip,
    '198.51.100.3',
  );
  assert.equal(
    resolveForwarded(req('8.8.8.8', { 'x-forwarded-for': '198.51.100.4' }), compileTrust(['*']), false).ip,
    '198.51.100.4',
  );
});

test('the app receives exactly the resolved values and no Forwarded header', () => {
  const r = req('127.0.0.1', { forwarded: 'for=192.0.2.1', 'x-forwarded-for': 'junk' });
  applyForwarded(r, { ip: '192.0.2.1', proto: 'http', host: undefined });
  assert.equal(r.headers.forwarded, undefined);
  assert.equal(r.headers['x-forwarded-for'], '192.0.2.1');
  assert.equal(r.headers['x-forwarded-proto'], 'http');
  assert.equal(r.headers['x-forwarded-host'], undefined);
});

test('without forwarded headers the app still gets the verdict: the socket peer, its scheme and the Host', () => {
  const r = req('192.0.2.9', {});
  applyDirect(r, true);
  assert.equal(r.headers['x-forwarded-for'], '192.0.2.9');
  assert.equal(r.headers['x-forwarded-proto'], 'https');
  assert.equal(r.headers['x-forwarded-host'], 'svc.test');
  // A unix-socket peer has no address to give.
  const unix = req(undefined, {});
  applyDirect(unix, false);
  assert.equal(unix.headers['x-forwarded-for'], undefined);
  assert.equal(unix.headers['x-forwarded-proto'], 'http');
});

test('CIDR lists are validated', () => {
  assert.deepEqual(parseCidrList(['10.0.0.0/8', '::1', 'fd00::/8', '*']), ['10.0.0.0/8', '::1', 'fd00::/8', '*']);
  assert.throws(() => parseCidrList(['10.0.0.0/33']), /invalid prefix length/);
  assert.throws(() => parseCidrList(['example.com']), /not an IP address or CIDR/);
});

test('remembered verdicts stay right: the same address twice, and past the bound of what is kept', () => {
  const trust = compileTrust(['10.0.0.0/8', '::1']);
  const addr = (i: number) => (i % 2 ? `10.0.${(i >> 8) & 255}.${i & 255}` : `192.168.${(i >> 8) & 255}.${i & 255}`);
  for (let pass = 0; pass < 2; pass++)
    for (let i = 0; i < 3000; i++) assert.equal(trust(addr(i), 0), i % 2 === 1, `${addr(i)}, pass ${pass}`);
  assert.equal(trust('::1', 0), true);
  assert.equal(trust('::2', 3), false);
});
