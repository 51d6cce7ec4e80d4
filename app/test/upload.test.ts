// POST /upload: streamed sha256 and byte count, empty bodies, and the 413s.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { digestBody } from '../src/routes/upload.js';
import { assertErrorShape, makeApp } from './helpers.js';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

test('POST /upload answers the byte count and sha256 of a known body', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': 'text/plain' },
    payload: 'abc',
  });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), {
    bytes: 3,
    // FIPS 180-2 test vector for "abc".
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    pid: process.pid,
  });
});

test('POST /upload takes any content type, JSON included, without parsing it', async (t) => {
  const app = await makeApp(t);
  const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
  for (const [type, payload] of [
    ['application/octet-stream', binary],
    ['application/json', Buffer.from('{"not": "parsed"')],
    ['multipart/form-data; boundary=x', Buffer.from('--x--')],
    ['image/png', binary.subarray(0, 10)],
  ] as const) {
    const res = await app.inject({ method: 'POST', url: '/upload', headers: { 'content-type': type }, payload });
    assert.equal(res.statusCode, 200, `${type}: ${res.body}`);
    assert.deepEqual(res.json(), { bytes: payload.length, sha256: sha256(payload), pid: process.pid }, type);
  }
});

test('POST /upload accepts an empty body, with or without a content type', async (t) => {
  const app = await makeApp(t);
  const empty = { bytes: 0, sha256: sha256(''), pid: process.pid };
  const bare = await app.inject({ method: 'POST', url: '/upload' });
  assert.equal(bare.statusCode, 200);
  assert.deepEqual(bare.json(), empty);
  const typed = await app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': 'application/octet-stream' },
    payload: '',
  });
  assert.equal(typed.statusCode, 200);
  assert.deepEqual(typed.json(), empty);
});

test('POST /upload hashes a chunked body that arrives in pieces', async (t) => {
  const app = await makeApp(t);
  const pieces = [Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3, 3)];
  const res = await app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
    payload: Readable.from(pieces),
  });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { bytes: 3003, sha256: sha256(Buffer.concat(pieces)), pid: process.pid });
});

test('POST /upload accepts exactly bodyLimitBytes', async (t) => {
  const app = await makeApp(t, { limits: { bodyLimitBytes: 1024 } });
  const res = await app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.alloc(1024),
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().bytes, 1024);
});

test('POST /upload is 413 when Content-Length announces more than bodyLimitBytes', async (t) => {
  const app = await makeApp(t, { limits: { bodyLimitBytes: 1024 } });
  const res = await app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.alloc(1025),
  });
  assert.equal(res.statusCode, 413);
  assert.equal(res.headers.connection, 'close');
  const body = assertErrorShape(res.json(), 413);
  assert.equal(body.code, 'APP_ERR_BODY_TOO_LARGE');
  assert.equal(body.message, 'Request body is larger than 1024 bytes');
});

test('POST /upload is 413 when a chunked body grows past bodyLimitBytes mid-stream', async (t) => {
  const app = await makeApp(t, { limits: { bodyLimitBytes: 1024 } });
  let produced = 0;
  // An endless body: the app must stop on its own, not wait for the end.
  const endless = new Readable({
    read() {
      produced += 512;
      this.push(Buffer.alloc(512, 7));
    },
  });
  const res = await app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
    payload: endless,
  });
  endless.destroy();
  assert.equal(res.statusCode, 413);
  assert.equal(res.headers.connection, 'close');
  assert.equal(assertErrorShape(res.json(), 413).code, 'APP_ERR_BODY_TOO_LARGE');
  assert.ok(produced > 1024);
});

test('digestBody() rejects a body that ends early (client gone)', async () => {
  const body = new Readable({ read() {} });
  const digest = digestBody(body, 1024);
  body.push('partial');
  body.destroy();
  await assert.rejects(digest, (error: Error & { statusCode?: number }) => error.statusCode === 400);
});

test('digestBody() resolves the digest of a stream within the limit', async () => {
  const digest = await digestBody(Readable.from([Buffer.from('a'), Buffer.from('bc')]), 3, '3');
  assert.deepEqual(digest, { bytes: 3, sha256: sha256('abc') });
});

test('digestBody() stops reading, without destroying the stream, once past the limit', async () => {
  const body = new Readable({ read() {} });
  const digest = digestBody(body, 4);
  body.push('abc');
  body.push('de');
  await assert.rejects(
    digest,
    (error: Error & { statusCode?: number; code?: string }) =>
      error.statusCode === 413 && error.code === 'APP_ERR_BODY_TOO_LARGE',
  );
  assert.equal(body.isPaused(), true);
  assert.equal(body.destroyed, false);
});
