// The gateway's copy of the numbers it shares with nginx, compose and the app is the one that
// config/limits.json, checked by @gw/limits, generates: a stale copy fails here, not in a deploy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { limits } from '@gw/limits';
import { tlsPolicy } from '@gw/limits/tls-policy';
import { GATEWAY_LIMIT_KEYS, sharedLimitsModule } from '../scripts/shared-limits.js';
import { sharedTlsPolicyModule } from '../scripts/shared-tls-policy.js';
import { limits as copied } from '../src/shared-limits.js';

test('src/shared-limits.ts is what config/limits.json generates (npm run docs -w nodicorn)', () => {
  const committed = readFileSync(new URL('../src/shared-limits.ts', import.meta.url), 'utf8');
  assert.equal(committed, sharedLimitsModule(limits));
});

test('the copy holds each gateway key with the value config/limits.json has', () => {
  assert.deepEqual(Object.keys(copied).sort(), [...GATEWAY_LIMIT_KEYS].sort());
  for (const key of GATEWAY_LIMIT_KEYS) assert.equal(copied[key], limits[key], key);
});

test('a changed limits file gives a different module (the check above can fail)', () => {
  const changed = { ...limits, gatewayKeepAliveTimeoutS: limits.gatewayKeepAliveTimeoutS + 1 };
  assert.notEqual(sharedLimitsModule(changed), sharedLimitsModule(limits));
  assert.match(
    sharedLimitsModule(changed),
    new RegExp(`gatewayKeepAliveTimeoutS: ${changed.gatewayKeepAliveTimeoutS},`),
  );
});

test('src/shared-tls-policy.ts is what config/tls-policy.json generates, and the TLS defaults are its values', async () => {
  const committed = readFileSync(new URL('../src/shared-tls-policy.ts', import.meta.url), 'utf8');
  assert.equal(committed, sharedTlsPolicyModule(tlsPolicy));
  const { SETTINGS } = await import('../src/settings.js');
  const def = (name: string) => SETTINGS.find((s) => s.name === name)?.default;
  assert.equal(def('ciphers'), tlsPolicy.tls12Ciphers.join(':'));
  assert.equal(def('tls_min_version'), tlsPolicy.protocols[0]);
  const changed = { ...tlsPolicy, tls12Ciphers: tlsPolicy.tls12Ciphers.slice(1) };
  assert.notEqual(sharedTlsPolicyModule(changed), committed);
});
