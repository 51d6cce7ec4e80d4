// @ts-check
// smoke: every endpoint once (ITERATIONS times), with checks on the bodies.
// Run it first against any topology: if it fails, nothing else is worth measuring.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e TOPOLOGY=gateway loadtest/scenarios/smoke.js

import { check, group } from 'k6';
import crypto from 'k6/crypto';
import http from 'k6/http';
import { baseOptions, envNumber, envString, thresholds, url } from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'smoke';
const ITERATIONS = envNumber('ITERATIONS', 1);
const STATIC_SMALL = envString('STATIC_SMALL', '/static/1k.txt');

export const options = baseOptions(SCRIPT, {
  scenarios: {
    smoke: {
      executor: 'per-vu-iterations',
      vus: 1,
      iterations: ITERATIONS,
      maxDuration: envString('MAX_DURATION', '60s'),
    },
  },
  // /slow and /stream below wait on purpose: allow for them in the latency limits.
  thresholds: thresholds({ p95Ms: 2000, p99Ms: 3000, scenarios: ['smoke'] }),
});

/**
 * JSON body of a response, or null when it is not JSON.
 * @param {import('k6/http').RefinedResponse<'text'>} res
 * @returns {any}
 */
function json(res) {
  try {
    return JSON.parse(String(res.body));
  } catch {
    return null;
  }
}

const isPid = (/** @type {unknown} */ v) => typeof v === 'number' && Number.isInteger(v) && v > 0;

export default function () {
  group('GET /', () => {
    const res = http.get(url('/'));
    const body = json(res);
    check(res, {
      'GET / is 200': (r) => r.status === 200,
      'GET / is JSON with a pid': () => body !== null && isPid(body.pid),
    });
  });

  group('probes', () => {
    const healthz = http.get(url('/healthz'));
    check(healthz, {
      'GET /healthz is 200': (r) => r.status === 200,
      'GET /healthz says ok': () => json(healthz)?.status === 'ok',
    });
    const readyz = http.get(url('/readyz'));
    check(readyz, {
      'GET /readyz is 200': (r) => r.status === 200,
      'GET /readyz says ready': () => json(readyz)?.status === 'ready',
    });
  });

  group('GET /whoami', () => {
    const res = http.get(url('/whoami'));
    const body = json(res);
    check(res, {
      'GET /whoami is 200': (r) => r.status === 200,
      'GET /whoami has ip, scheme, host, pid': () =>
        body !== null &&
        typeof body.ip === 'string' &&
        body.ip !== '' &&
        (body.scheme === 'http' || body.scheme === 'https') &&
        typeof body.host === 'string' &&
        body.host !== '' &&
        isPid(body.pid),
    });
  });

  group('work', () => {
    const slow = http.get(url('/slow?ms=50'), { tags: { name: 'GET /slow' } });
    check(slow, {
      'GET /slow is 200': (r) => r.status === 200,
      'GET /slow echoes ms': () => json(slow)?.ms === 50,
      'GET /slow took at least ms': (r) => r.timings.duration >= 45,
    });
    const cpu = http.get(url('/cpu?ms=5'), { tags: { name: 'GET /cpu' } });
    check(cpu, {
      'GET /cpu is 200': (r) => r.status === 200,
      'GET /cpu echoes ms': () => json(cpu)?.ms === 5,
    });
    // Over the app's maximum (maxWaitMs is 30000): rejected by validation, not waited for.
    const tooSlow = http.get(url('/slow?ms=999999999'), {
      tags: { name: 'GET /slow (invalid)' },
      responseCallback: http.expectedStatuses(400),
    });
    check(tooSlow, { 'GET /slow over the max is 400': (r) => r.status === 400 });
  });

  group('POST /upload', () => {
    const payload = 'k6 smoke upload\n'.repeat(4096);
    const res = http.post(url('/upload'), payload, { headers: { 'Content-Type': 'application/octet-stream' } });
    const body = json(res);
    check(res, {
      'POST /upload is 200': (r) => r.status === 200,
      'POST /upload counts the bytes': () => body?.bytes === payload.length,
      'POST /upload hashes the body': () => body?.sha256 === crypto.sha256(payload, 'hex'),
    });
  });

  group('GET /stream', () => {
    const res = http.get(url('/stream?chunks=3&intervalMs=50'), { tags: { name: 'GET /stream' } });
    const lines = String(res.body ?? '')
      .split('\n')
      .filter((l) => l !== '');
    /** @type {any[]} */
    const parsed = [];
    for (const line of lines) {
      try {
        parsed.push(JSON.parse(line));
      } catch {
        parsed.push(null);
      }
    }
    check(res, {
      'GET /stream is 200': (r) => r.status === 200,
      'GET /stream is NDJSON': (r) => String(r.headers['Content-Type'] ?? '').includes('ndjson'),
      'GET /stream has 3 lines in order': () =>
        parsed.length === 3 && parsed.every((p, i) => p !== null && p.seq === i + 1),
    });
  });

  group('GET /static', () => {
    const res = http.get(url(STATIC_SMALL), { tags: { name: 'GET /static small' } });
    check(res, {
      'GET static file is 200': (r) => r.status === 200,
      'GET static file is not empty': (r) => String(r.body ?? '').length > 0,
    });
    const missing = http.get(url('/static/does-not-exist.txt'), { responseCallback: http.expectedStatuses(404) });
    check(missing, { 'GET missing static file is 404': (r) => r.status === 404 });
  });

  group('/api/items', () => {
    const name = `smoke-${__VU}-${__ITER}`;
    const created = http.post(url('/api/items'), JSON.stringify({ name, price: 9.5, tags: ['k6'] }), {
      headers: { 'Content-Type': 'application/json' },
    });
    const item = json(created);
    check(created, {
      'POST /api/items is 201': (r) => r.status === 201,
      'POST /api/items echoes the item': () => item !== null && item.name === name && item.price === 9.5,
    });
    const invalid = http.post(url('/api/items'), JSON.stringify({ name: 42 }), {
      headers: { 'Content-Type': 'application/json' },
      responseCallback: http.expectedStatuses(400),
      tags: { name: 'POST /api/items (invalid)' },
    });
    const error = json(invalid);
    check(invalid, {
      'POST /api/items invalid is 400': (r) => r.status === 400,
      'POST /api/items invalid answers JSON': () => error !== null && error.statusCode === 400,
    });
    const one = http.get(url(`/api/items/${item?.id}`), { tags: { name: 'GET /api/items/:id' } });
    check(one, {
      'GET /api/items/:id is 200': (r) => r.status === 200,
      'GET /api/items/:id is the item': () => json(one)?.name === name,
    });
    const list = http.get(url('/api/items'));
    const page = json(list);
    check(list, {
      'GET /api/items is 200': (r) => r.status === 200,
      'GET /api/items lists items': () => page !== null && Array.isArray(page.items) && typeof page.total === 'number',
    });
  });

  group('unknown route', () => {
    const res = http.get(url('/no-such-route'), { responseCallback: http.expectedStatuses(404) });
    check(res, { 'GET unknown route is 404': (r) => r.status === 404 });
  });
}

export const handleSummary = makeHandleSummary(SCRIPT, { iterations: ITERATIONS, staticSmall: STATIC_SMALL });
