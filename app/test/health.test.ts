// GET /healthz and GET /readyz, and the draining switch behind /readyz.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../src/app.js';
import { makeApp } from './helpers.js';

test('GET /healthz is 200 ok', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({ url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok', pid: process.pid });
});

test('GET /readyz is 200 until markDraining(), then 503; liveness stays 200', async (t) => {
  const app = await makeApp(t);
  assert.equal(app.isDraining(), false);
  const ready = await app.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: 'ready', pid: process.pid });
  assert.equal(ready.headers.connection, 'keep-alive');

  app.markDraining();
  app.markDraining(); // idempotent
  assert.equal(app.isDraining(), true);
  const draining = await app.inject({ url: '/readyz' });
  assert.equal(draining.statusCode, 503);
  assert.deepEqual(draining.json(), { status: 'draining', pid: process.pid });

  // Still alive, but every response now asks the client to close its connection.
  const alive = await app.inject({ url: '/healthz' });
  assert.equal(alive.statusCode, 200);
  assert.equal(alive.headers.connection, 'close');
});

test('close() marks the app as draining', async () => {
  const app = await buildApp();
  await app.ready();
  assert.equal(app.isDraining(), false);
  await app.close();
  assert.equal(app.isDraining(), true);
});
