/** Parsing of --bind values, as Gunicorn writes them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBind } from '../src/binds.js';

test('HOST:PORT, [IPV6]:PORT, a bare host, :PORT and unix:PATH', () => {
  assert.deepEqual(parseBind('127.0.0.1:8000'), { kind: 'tcp', host: '127.0.0.1', port: 8000, text: '127.0.0.1:8000' });
  assert.deepEqual(parseBind('[::1]:9000'), { kind: 'tcp', host: '::1', port: 9000, text: '[::1]:9000' });
  assert.deepEqual(parseBind('localhost'), { kind: 'tcp', host: 'localhost', port: 8000, text: 'localhost' });
  assert.deepEqual(parseBind(':8080'), { kind: 'tcp', host: '0.0.0.0', port: 8080, text: ':8080' });
  assert.deepEqual(parseBind('unix:/run/gw.sock'), { kind: 'unix', path: '/run/gw.sock', text: 'unix:/run/gw.sock' });
});

test('bad addresses are refused with the reason', () => {
  assert.throws(() => parseBind('unix:'), /no socket path/);
  assert.throws(() => parseBind('host:99999'), /invalid port/);
  assert.throws(() => parseBind('::1:8000'), /IPv6 addresses in brackets/);
  assert.throws(() => parseBind('host:abc'), /invalid port/);
});
