// GET /ws through the app's own server: upgrade, hello, echo of text and binary,
// and a clean 1001 close when the app closes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { buildApp } from '../src/app.js';
import { MAX_WS_BUFFERED_BYTES, MAX_WS_MESSAGE_BYTES } from '../src/routes/ws.js';

test('GET /ws echoes text and binary messages after a hello naming the pid', async () => {
  const app = await buildApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const messages: Array<{ data: string; binary: boolean }> = [];
  ws.on('message', (data, binary) => messages.push({ data: data.toString(), binary }));
  await once(ws, 'open');
  ws.send('ping-1');
  ws.send(Buffer.from([1, 2, 3]));
  while (messages.length < 3) await once(ws, 'message');
  assert.deepEqual(JSON.parse(messages[0]!.data), { hello: 'ws', pid: process.pid });
  assert.deepEqual(messages[1], { data: 'ping-1', binary: false });
  assert.equal(messages[2]!.binary, true);
  assert.deepEqual([...Buffer.from(messages[2]!.data, 'latin1')], [1, 2, 3]);

  const closed = once(ws, 'close');
  await app.close();
  const [code] = await closed;
  assert.equal(code, 1001, 'going away');
});

test('GET /ws without an upgrade is refused, not served as a page', async () => {
  const app = await buildApp();
  const res = await app.inject({ url: '/ws' });
  // @fastify/websocket answers a plain GET on a WebSocket-only route as an unknown route: 404,
  // empty, and the handler (which would send the hello) never runs.
  assert.equal(res.statusCode, 404);
  assert.equal(res.body, '');
  await app.close();
});

/** The app on its own server with the WebSocket timers of `env` (read when the app is built). */
async function listening(
  env: Record<string, string>,
): Promise<{ app: Awaited<ReturnType<typeof buildApp>>; port: number }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const app = await buildApp();
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, port: (app.server.address() as AddressInfo).port };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('heartbeat: a client that never answers a ping is terminated; one that answers stays', async () => {
  const { app, port } = await listening({ WS_PING_INTERVAL_S: '1' });
  try {
    // autoPong off: this client receives the pings and never answers them.
    const deaf = new WebSocket(`ws://127.0.0.1:${port}/ws`, { autoPong: false });
    const live = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await Promise.all([once(deaf, 'open'), once(live, 'open')]);
    let livePings = 0;
    live.on('ping', () => livePings++);
    const [code] = await once(deaf, 'close');
    // Terminated: the TCP connection is cut, no close frame (1006 on the client's side).
    assert.equal(code, 1006);
    while (livePings < 3) await once(live, 'ping');
    assert.equal(live.readyState, WebSocket.OPEN, 'the client that answers its pings was closed');
    live.terminate();
  } finally {
    await app.close();
  }
});

test('idle timeout: a client that sends no message is closed with 1000 "idle timeout", pongs or not', async () => {
  const { app, port } = await listening({ WS_PING_INTERVAL_S: '1', WS_IDLE_TIMEOUT_S: '0.5' });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await once(ws, 'open');
    const [code, reason] = await once(ws, 'close');
    assert.equal(code, 1000);
    assert.equal(String(reason), 'idle timeout');
  } finally {
    await app.close();
  }
});

test('back-pressure: a client that sends and never reads is no longer read once MAX_WS_BUFFERED_BYTES wait for it', async () => {
  const { app, port } = await listening({});
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await once(ws, 'open');
    // The client stops reading: every echo stays queued on the server's side.
    ws.pause();
    const frame = Buffer.alloc(MAX_WS_MESSAGE_BYTES, 7);
    const [server] = [...app.websocketServer.clients];
    assert.ok(server);
    // Bounded: at most 256 MiB offered, one more 1 MiB frame whenever the client's own queue is short.
    let sent = 0;
    while (sent < 256 && !server.isPaused) {
      if (ws.bufferedAmount < 2 * MAX_WS_MESSAGE_BYTES) {
        ws.send(frame);
        sent++;
      } else await new Promise((r) => setImmediate(r));
    }
    assert.ok(server.isPaused, `the server read all ${sent} frames`);
    // What waits for the client on the server's side is bounded: the limit and the echo that crossed it.
    assert.ok(
      server.bufferedAmount <= MAX_WS_BUFFERED_BYTES + MAX_WS_MESSAGE_BYTES,
      `${server.bufferedAmount} bytes queued`,
    );
    // Once the client reads again, the server reads again and every echo arrives.
    let echoes = 0;
    ws.on('message', (data: Buffer) => {
      if (data.length === MAX_WS_MESSAGE_BYTES) echoes++;
    });
    ws.resume();
    // Polled: the echoes may all come in one burst, between two awaits of a 'message' event.
    while (echoes < sent) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(echoes, sent);
    ws.terminate();
  } finally {
    await app.close();
  }
});
