/**
 * Expect: 100-continue runs the gateway's head checks before the client is invited to send its
 * body: an oversized declared body gets 413 and no "100 Continue" (Node's default answers 100
 * first), a good one gets 100 and then the app's answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, rawExchange, startGateway } from './helpers.js';

test('Expect: 100-continue is answered 413 (no 100) over the body limit, 100 then 200 within it', async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--limit-request-body', '1000', fixture('echo.mjs')]);
  try {
    const big = await rawExchange(
      gw.port,
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n',
      3000,
    );
    assert.match(big, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(big, /100 Continue/);
    assert.match(big, /connection: close/i);

    const net = await import('node:net');
    const sock = net.connect(gw.port, '127.0.0.1');
    let out = '';
    sock.setEncoding('utf8');
    const closed = new Promise((r) => sock.once('close', r));
    sock.on('data', (c: string) => {
      out += c;
      // The body goes only once the server has asked for it.
      if (/^HTTP\/1\.1 100 Continue\r\n\r\n$/.test(out)) sock.write('x'.repeat(10));
    });
    sock.write(
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    );
    await closed;
    assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
  } finally {
    await gw.stop();
  }
});
