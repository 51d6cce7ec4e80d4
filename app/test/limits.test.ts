// The app takes its limits from config/limits.json through the shared loader (@gw/limits, which
// checks every key: config/test/limits.test.ts), never from copies of the numbers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LIMITS_URL, loadLimits } from '@gw/limits';
import { makeApp } from './helpers.js';

const raw = JSON.parse(readFileSync(new URL('../../config/limits.json', import.meta.url), 'utf8')) as Record<
  string,
  number
>;

test('loadLimits() reads config/limits.json at the repo root', () => {
  assert.equal(LIMITS_URL.href, new URL('../../config/limits.json', import.meta.url).href);
  const limits = loadLimits();
  for (const key of [
    'bodyLimitBytes',
    'maxWaitMs',
    'maxCpuMs',
    'gatewayKeepAliveTimeoutS',
    'gracefulTimeoutS',
  ] as const) {
    assert.equal(limits[key], raw[key], key);
  }
});

test("the app's body limit is config/limits.json's, and an override replaces it", async (t) => {
  const app = await makeApp(t);
  assert.equal(app.initialConfig.bodyLimit, raw.bodyLimitBytes);
  const small = await makeApp(t, { limits: { bodyLimitBytes: 100 } });
  assert.equal(small.initialConfig.bodyLimit, 100);
});
