// config/limits.json is read at runtime, from the module's own location.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LIMITS_URL, loadLimits } from '../src/limits.js';

test('loadLimits() reads config/limits.json at the repo root', () => {
  assert.match(LIMITS_URL.pathname, /\/config\/limits\.json$/);
  const raw = JSON.parse(readFileSync(new URL('../../config/limits.json', import.meta.url), 'utf8')) as Record<
    string,
    number
  >;
  const limits = loadLimits();
  assert.equal(limits.bodyLimitBytes, raw.bodyLimitBytes);
  assert.equal(limits.maxWaitMs, raw.maxWaitMs);
  assert.equal(limits.maxCpuMs, raw.maxCpuMs);
  assert.equal(limits.gatewayKeepAliveTimeoutS, raw.gatewayKeepAliveTimeoutS);
  assert.equal(limits.gracefulTimeoutS, raw.gracefulTimeoutS);
});

test('loadLimits() refuses a missing or non-positive number', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'limits-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'limits.json');
  const good = { bodyLimitBytes: 1, maxWaitMs: 1, maxCpuMs: 1, gatewayKeepAliveTimeoutS: 1, gracefulTimeoutS: 1 };
  writeFileSync(file, JSON.stringify(good));
  assert.deepEqual(loadLimits(pathToFileURL(file)), good);
  for (const bad of [
    { ...good, maxCpuMs: 0 },
    { ...good, maxWaitMs: '5' },
    { ...good, bodyLimitBytes: undefined },
    [],
  ]) {
    writeFileSync(file, JSON.stringify(bad));
    assert.throws(() => loadLimits(pathToFileURL(file)), TypeError, JSON.stringify(bad));
  }
});
