// serve(): the master started from code, with the CLI's settings and validation, the built package
// as a user imports it (workers are forked from the built worker script).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError, serve } from '../dist/index.js';
import { fixture, request } from './helpers.js';

test('serve() binds, boots the workers, serves, reloads on HUP and stops gracefully with status 0', async () => {
  const gateway = await serve({
    app: fixture('echo.mjs'),
    bind: '127.0.0.1:0',
    workers: 2,
    loglevel: 'warning',
    signals: false,
  });
  try {
    assert.equal(gateway.config.workers, 2);
    const [address] = gateway.addresses;
    assert.match(address ?? '', /^127\.0\.0\.1:\d+$/);
    const url = `http://${address}`;
    await gateway.ready;
    assert.equal((await request(`${url}/`)).status, 200);
    const before = new Set(gateway.workerPids);
    assert.equal(before.size, 2);

    gateway.signal('HUP');
    for (let i = 0; i < 600 && gateway.workerPids.some((pid) => before.has(pid)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(!gateway.workerPids.some((pid) => before.has(pid)), 'a new generation replaced the old workers');
    const served = (await request(`${url}/`)).json().pid as number;
    assert.ok(!before.has(served), 'served by a new worker');
  } finally {
    assert.equal(await gateway.stop(), 0);
  }
  assert.equal(gateway.error, undefined);
  assert.deepEqual(gateway.workerPids, []);
});

test('serve(): ready rejects with the reason when the app cannot be loaded, and done gives its exit status', async () => {
  const gateway = await serve({
    app: fixture('broken-app.mjs'),
    bind: '127.0.0.1:0',
    workers: 1,
    loglevel: 'critical',
    signals: false,
  });
  await assert.rejects(gateway.ready, (err: unknown) => err instanceof GatewayError && err.code === 'GW_ERR_APP_LOAD');
  assert.equal(await gateway.done, 4);
  assert.equal(gateway.error?.code, 'GW_ERR_APP_LOAD');
});

test('serve() refuses a bad value or an unknown setting, naming it, before anything starts', async () => {
  await assert.rejects(
    serve({ app: fixture('echo.mjs'), workers: 'many', signals: false }),
    (err: unknown) =>
      err instanceof GatewayError && err.code === 'GW_ERR_CONFIG_INVALID' && /workers/.test(err.message),
  );
  await assert.rejects(
    serve({ app: fixture('echo.mjs'), wrokers: 2, signals: false } as never),
    (err: unknown) =>
      err instanceof GatewayError && err.code === 'GW_ERR_CONFIG_UNKNOWN' && /wrokers/.test(err.message),
  );
});
