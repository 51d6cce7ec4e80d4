// GET /, GET /whoami, the default export the gateway calls, and unknown routes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import createApp from '../src/app.js';
import { assertErrorShape, makeApp } from './helpers.js';

test('GET / answers a small JSON hello with the pid', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({ url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^application\/json/);
  assert.deepEqual(res.json(), { hello: 'world', pid: process.pid });
});

test('GET /whoami without trusted proxies ignores X-Forwarded-*', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({
    url: '/whoami',
    remoteAddress: '198.51.100.9',
    headers: {
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      host: 'app.local:8080',
    },
  });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.ip, '198.51.100.9');
  assert.deepEqual(body.ips, ['198.51.100.9']);
  assert.equal(body.scheme, 'http');
  assert.equal(body.host, 'app.local:8080');
  assert.equal(body.peer, '198.51.100.9');
  assert.equal(body.pid, process.pid);
});

test('GET /whoami with trustProxy believes X-Forwarded-For/-Proto/-Host', async (t) => {
  const app = await makeApp(t, { trustProxy: true });
  const res = await app.inject({
    url: '/whoami',
    remoteAddress: '10.0.0.2',
    headers: {
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'shop.example',
      host: 'backend:3000',
    },
  });
  const body = res.json();
  assert.equal(body.ip, '203.0.113.7');
  assert.deepEqual(body.ips, ['10.0.0.2', '203.0.113.7']);
  assert.equal(body.scheme, 'https');
  assert.equal(body.host, 'shop.example');
  assert.equal(body.peer, '10.0.0.2');
});

test('the default export is the gateway factory: ready, and passes ctx.trustProxy on', async (t) => {
  const trusted = await createApp({ trustProxy: true });
  t.after(() => trusted.close());
  const headers = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };
  const viaGateway = (await trusted.inject({ url: '/whoami', remoteAddress: '127.0.0.1', headers })).json();
  assert.equal(viaGateway.ip, '203.0.113.7');
  assert.equal(viaGateway.scheme, 'https');

  const untrusted = await createApp();
  t.after(() => untrusted.close());
  const direct = (await untrusted.inject({ url: '/whoami', remoteAddress: '127.0.0.1', headers })).json();
  assert.equal(direct.ip, '127.0.0.1');
  assert.equal(direct.scheme, 'http');
});

test('an unknown route is a JSON 404', async (t) => {
  const app = await makeApp(t);
  for (const [method, url] of [
    ['GET', '/nope'],
    ['POST', '/'],
    ['DELETE', '/api/items'],
  ] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 404, `${method} ${url}`);
    assert.match(res.headers['content-type'] as string, /^application\/json/);
    const body = assertErrorShape(res.json(), 404);
    assert.equal(body.error, 'Not Found');
    assert.equal(body.code, 'APP_ERR_ROUTE_NOT_FOUND');
    assert.equal(body.message, `Route ${method}:${url} not found`);
  }
});
