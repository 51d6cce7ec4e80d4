// GET /ws through the app's own server: upgrade, hello, echo of text and binary,
// and a clean 1001 close when the app closes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { buildApp } from '../src/app.js';

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
