/**
 * WebSockets through the gateway: upgrades reach the app (Fastify's plugin, or a listener's
 * `upgrade`), are vetted like requests, and are closed with 1001 "going away" on stop and reload.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { fixture, rawExchange, startGateway } from './helpers.js';

/** A WebSocket handshake's headers after the request line, as raw bytes. */
const UPGRADE_HEADERS =
  'Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

const SAMPLE_APP = fileURLToPath(new URL('../../app/dist/app.js', import.meta.url));

async function open(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; messages: string[]; next: () => Promise<string> }> {
  const ws = new WebSocket(url, { headers });
  const messages: string[] = [];
  ws.on('message', (d) => messages.push(d.toString()));
  await once(ws, 'open');
  let seen = 0;
  const next = async () => {
    while (messages.length <= seen) await once(ws, 'message');
    return messages[seen++]!;
  };
  return { ws, messages, next };
}

test("the sample app's /ws echoes through the gateway (Fastify's websocket plugin)", async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', SAMPLE_APP]);
  try {
    const { ws, next } = await open(`ws://127.0.0.1:${gw.port}/ws`);
    const hello = JSON.parse(await next());
    assert.equal(hello.hello, 'ws');
    assert.ok(gw.readyWorkers().includes(hello.pid), 'served by a worker');
    ws.send('round trip');
    assert.equal(await next(), 'round trip');
    ws.close(1000);
    await once(ws, 'close');
  } finally {
    await gw.stop();
  }
});

test("a listener's upgrade gets vetted forwarded headers; a fetch app refuses upgrades with 501", async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('ws-listener.mjs')]);
  try {
    const { ws, next } = await open(`ws://127.0.0.1:${gw.port}/`, { 'x-forwarded-for': '198.51.100.40' });
    assert.match(await next(), /^hello from \d+ for 198\.51\.100\.40$/);
    ws.send('x');
    assert.equal(await next(), 'echo:x');
    ws.terminate();
    // The same head limits as any request.
    const tooLong = await rawExchange(gw.port, `GET /${'a'.repeat(5000)} HTTP/1.1\r\n${UPGRADE_HEADERS}`);
    assert.match(tooLong, /^HTTP\/1\.1 414 /);
  } finally {
    await gw.stop();
  }
  const fetchApp = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('fetch-app.mjs')]);
  try {
    const out = await rawExchange(fetchApp.port, `GET / HTTP/1.1\r\n${UPGRADE_HEADERS}`);
    assert.match(out, /^HTTP\/1\.1 501 /);
  } finally {
    await fetchApp.stop();
  }
});

test('TERM closes open WebSockets with 1001 "going away", then exits 0', async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', SAMPLE_APP]);
  const { ws, next } = await open(`ws://127.0.0.1:${gw.port}/ws`);
  await next();
  const closed = once(ws, 'close');
  gw.signal('SIGTERM');
  const [code, reason] = await closed;
  assert.equal(code, 1001);
  assert.equal(String(reason), 'going away');
  assert.equal(await gw.exited, 0);
});

test('HUP: sockets on old workers get 1001, and a reconnect lands on a new worker', async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('ws-listener.mjs')]);
  try {
    const first = await open(`ws://127.0.0.1:${gw.port}/`);
    const oldPid = Number(/hello from (\d+)/.exec(await first.next())![1]);
    const closed = once(first.ws, 'close');
    gw.signal('SIGHUP');
    const [code] = await closed;
    assert.equal(code, 1001);
    await gw.waitFor(/Reload complete/);
    const second = await open(`ws://127.0.0.1:${gw.port}/`);
    const newPid = Number(/hello from (\d+)/.exec(await second.next())![1]);
    assert.notEqual(newPid, oldPid);
    second.ws.terminate();
  } finally {
    await gw.stop();
  }
});
