// GET /slow and GET /cpu: good values and every kind of bad ?ms=.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadLimits } from '@gw/limits';
import { spin } from '../src/routes/work.js';
import { assertErrorShape, makeApp } from './helpers.js';

const limits = loadLimits();

for (const path of ['/slow', '/cpu']) {
  test(`GET ${path}?ms=N answers the ms done and the pid`, async (t) => {
    const app = await makeApp(t);
    for (const ms of [0, 20]) {
      const res = await app.inject({ url: `${path}?ms=${ms}` });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { ms, pid: process.pid });
    }
  });

  test(`GET ${path} rejects a missing, negative, fractional, non-numeric or too large ms with JSON 400`, async (t) => {
    const max = path === '/slow' ? limits.maxWaitMs : limits.maxCpuMs;
    const app = await makeApp(t);
    for (const query of [
      '',
      '?ms=',
      '?ms=-1',
      '?ms=1.5',
      '?ms=abc',
      '?ms=1e400',
      `?ms=${max + 1}`,
      '?ms=99999999999999999999',
    ]) {
      const res = await app.inject({ url: path + query });
      assert.equal(res.statusCode, 400, `${path}${query}: ${res.body}`);
      const body = assertErrorShape(res.json(), 400);
      assert.equal(body.code, 'FST_ERR_VALIDATION', query);
      assert.match(body.message, /querystring/, query);
    }
  });

  test(`GET ${path} takes its maximum from the limits`, async (t) => {
    const key = path === '/slow' ? 'maxWaitMs' : 'maxCpuMs';
    const app = await makeApp(t, { limits: { [key]: 30 } });
    assert.equal((await app.inject({ url: `${path}?ms=30` })).statusCode, 200);
    assert.equal((await app.inject({ url: `${path}?ms=31` })).statusCode, 400);
  });
}

test('spin() blocks for at least the time asked', () => {
  const start = performance.now();
  const loops = spin(15);
  assert.ok(performance.now() - start >= 15);
  assert.ok(loops > 0);
});
