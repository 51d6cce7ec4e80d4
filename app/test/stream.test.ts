// GET /stream: NDJSON lines written over time, as separate chunks, with bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_CHUNKS } from '../src/routes/stream.js';
import { assertErrorShape, makeApp } from './helpers.js';

interface Line {
  seq: number;
  of: number;
  pid: number;
  at: string;
}

test('GET /stream answers 5 NDJSON lines by default, unbuffered', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({ url: '/stream?intervalMs=0' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8');
  assert.equal(res.headers['x-accel-buffering'], 'no');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['content-length'], undefined);
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  const lines = res.body
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
  assert.deepEqual(
    lines.map((line) => line.seq),
    [1, 2, 3, 4, 5],
  );
  for (const line of lines) {
    assert.equal(line.of, 5);
    assert.equal(line.pid, process.pid);
    assert.ok(!Number.isNaN(Date.parse(line.at)));
  }
});

test('GET /stream delivers its lines as separate chunks, over time', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({ url: '/stream?chunks=3&intervalMs=50', payloadAsStream: true });
  assert.equal(res.statusCode, 200);
  const chunks: string[] = [];
  for await (const chunk of res.stream()) chunks.push(String(chunk));
  assert.ok(chunks.length >= 2, `expected several chunks, got ${JSON.stringify(chunks)}`);
  // The first chunk is one whole line: the response did not wait for the rest.
  assert.equal((JSON.parse(chunks[0] as string) as Line).seq, 1);
  const seqs = chunks
    .join('')
    .trimEnd()
    .split('\n')
    .map((line) => (JSON.parse(line) as Line).seq);
  assert.deepEqual(seqs, [1, 2, 3]);
});

test('GET /stream rejects bad or unbounded parameters with JSON 400', async (t) => {
  const app = await makeApp(t, { limits: { maxWaitMs: 1000 } });
  for (const query of [
    'chunks=0',
    'chunks=-1',
    'chunks=x',
    `chunks=${MAX_CHUNKS + 1}`,
    'chunks=1e400&intervalMs=0',
    'intervalMs=-5',
    'intervalMs=1001',
    'intervalMs=1.5',
  ]) {
    const res = await app.inject({ url: `/stream?${query}` });
    assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    assert.equal(assertErrorShape(res.json(), 400).code, 'FST_ERR_VALIDATION', query);
  }
  // Each parameter within bounds, but together longer than maxWaitMs.
  const tooLong = await app.inject({ url: '/stream?chunks=12&intervalMs=100' });
  assert.equal(tooLong.statusCode, 400);
  const body = assertErrorShape(tooLong.json(), 400);
  assert.equal(body.code, 'APP_ERR_STREAM_TOO_LONG');
  assert.equal(body.message, 'The stream would last longer than 1000 ms');
  // Exactly maxWaitMs is allowed.
  const longest = await app.inject({ url: '/stream?chunks=11&intervalMs=0' });
  assert.equal(longest.statusCode, 200);
});
