// The standalone server's environment: HOST, PORT, TRUST_PROXY, LOG_LEVEL, SHUTDOWN_DELAY.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLogLevel, parsePort, parseShutdownDelay, parseTrustProxy, readStandaloneEnv } from '../src/env.js';

test('defaults: 127.0.0.1:3000, trust loopback proxies, log info', () => {
  assert.deepEqual(readStandaloneEnv({}), {
    host: '127.0.0.1',
    port: 3000,
    trustProxy: 'loopback',
    logLevel: 'info',
    shutdownDelayS: 0,
  });
});

test('HOST, PORT, TRUST_PROXY and LOG_LEVEL are read', () => {
  assert.deepEqual(
    readStandaloneEnv({
      HOST: '0.0.0.0',
      PORT: '0',
      TRUST_PROXY: '10.0.0.0/8, 172.16.0.0/12',
      LOG_LEVEL: 'warn',
      SHUTDOWN_DELAY: '5',
    }),
    {
      host: '0.0.0.0',
      port: 0,
      trustProxy: ['10.0.0.0/8', '172.16.0.0/12'],
      logLevel: 'warn',
      shutdownDelayS: 5,
    },
  );
});

test('TRUST_PROXY: true/false, one address, a list; hop counts refused', () => {
  assert.equal(parseTrustProxy('true'), true);
  assert.equal(parseTrustProxy('false'), false);
  assert.equal(parseTrustProxy(' 127.0.0.1 '), '127.0.0.1');
  assert.deepEqual(parseTrustProxy('loopback,uniquelocal,'), ['loopback', 'uniquelocal']);
  assert.equal(parseTrustProxy(''), 'loopback');
  assert.throws(() => parseTrustProxy('1'), RangeError);
});

test('PORT and LOG_LEVEL are checked', () => {
  assert.equal(parsePort('8080'), 8080);
  for (const bad of ['-1', '65536', 'http', '80.5', '0x50']) assert.throws(() => parsePort(bad), RangeError, bad);
  assert.throws(() => readStandaloneEnv({ LOG_LEVEL: 'verbose' }), RangeError);
  assert.equal(parseLogLevel(undefined), 'info');
  assert.equal(parseLogLevel(' debug '), 'debug');
});

test('SHUTDOWN_DELAY: seconds, default 0; anything else refused', () => {
  assert.equal(parseShutdownDelay(undefined), 0);
  assert.equal(parseShutdownDelay(' 2.5 '), 2.5);
  for (const bad of ['-1', '5s', 'soon', '3601']) assert.throws(() => parseShutdownDelay(bad), RangeError, bad);
});
