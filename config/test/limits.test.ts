/** The one loader of config/limits.json: every key declared, checked, and named when at fault. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LIMIT_KEYS, LIMITS_URL, type Limits, limits, loadLimits, parseLimits } from '../src/limits.js';

const RAW = JSON.parse(readFileSync(new URL('../limits.json', import.meta.url), 'utf8')) as Record<string, unknown>;

test('config/limits.json is read whole, every key a number, and no more than its keys', () => {
  assert.match(LIMITS_URL.pathname, /\/config\/limits\.json$/);
  const fileKeys = Object.keys(RAW).filter((k) => !k.startsWith('$'));
  assert.deepEqual(Object.keys(limits).sort(), fileKeys.sort());
  for (const key of fileKeys) assert.equal(limits[key as keyof Limits], RAW[key], key);
  assert.deepEqual(loadLimits(), limits);
  assert.ok(Object.isFrozen(limits));
});

const good = Object.fromEntries(Object.keys(LIMIT_KEYS).map((k) => [k, 1])) as Record<string, unknown>;

test('a missing key, an unknown key and a value that is not a positive finite number are errors naming the key', () => {
  assert.deepEqual(parseLimits({ ...good, $comment: 'comments are allowed' }, 'x'), good);
  const { maxCpuMs: _dropped, ...missing } = good;
  const cases: Array<[unknown, RegExp]> = [
    [missing, /^x: missing key "maxCpuMs"$/],
    [{ ...good, maxCpuMS: 5 }, /^x: unknown key "maxCpuMS"$/],
    [{ ...good, maxWaitMs: 0 }, /^x: "maxWaitMs" must be a positive number, got 0$/],
    [{ ...good, maxWaitMs: -1 }, /"maxWaitMs" must be a positive number/],
    [{ ...good, bodyLimitBytes: '5' }, /^x: "bodyLimitBytes" must be a positive number, got "5"$/],
    [{ ...good, bodyLimitBytes: null }, /"bodyLimitBytes" must be a positive number, got null/],
    [{ ...good, workerTimeoutS: Number.POSITIVE_INFINITY }, /"workerTimeoutS" must be a positive number/],
    [[], /^x: expected a JSON object$/],
    [null, /^x: expected a JSON object$/],
  ];
  for (const [raw, message] of cases) assert.throws(() => parseLimits(raw, 'x'), { name: 'TypeError', message });
});

test('loadLimits() names the file it could not read or parse', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'limits-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'limits.json');
  writeFileSync(file, JSON.stringify(good));
  assert.deepEqual(loadLimits(pathToFileURL(file)), good);
  writeFileSync(file, '{ not json');
  assert.throws(() => loadLimits(pathToFileURL(file)), { name: 'TypeError', message: new RegExp(`^${file}: `) });
  writeFileSync(file, JSON.stringify({ ...good, extra: 1 }));
  assert.throws(() => loadLimits(pathToFileURL(file)), { message: `${file}: unknown key "extra"` });
});
