// @ts-check
// static: a small and a large file, each with gzip asked for and not, at a
// constant arrival rate, one variant after another. In nginx topologies nginx
// serves /static itself (sendfile, gzip); in the gateway topology the app does.
// Defaults are the app's generated files (app/scripts/make-static.mjs): 1k.txt
// and 1m.txt, text both, so gzip has something to do. Expected sizes come from
// STATIC_*_BYTES, else from /static/manifest.json (fetched once in setup).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e TOPOLOGY=full \
//     -e STATIC_SMALL=/static/1k.txt -e STATIC_LARGE=/static/4m.bin \
//     loadtest/scenarios/static.js

import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Rate } from 'k6/metrics';
import { baseOptions, envDuration, envNumber, envString, sequence, thresholds, url, vusFor } from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'static';
const STATIC_SMALL = envString('STATIC_SMALL', '/static/1k.txt');
const STATIC_LARGE = envString('STATIC_LARGE', '/static/1m.txt');
/** Expected sizes in bytes (uncompressed); 0 = from the manifest, else unchecked. */
const SMALL_BYTES = envNumber('STATIC_SMALL_BYTES', 0);
const LARGE_BYTES = envNumber('STATIC_LARGE_BYTES', 0);
/** The app's list of generated files, {files: [{name, bytes}]}; '' = none. */
const STATIC_MANIFEST = envString('STATIC_MANIFEST', '/static/manifest.json');
const RATE = envNumber('RATE', 50);
const LARGE_RATE = envNumber('LARGE_RATE', Math.max(1, Math.round(RATE / 5)));
const DURATION = envDuration('DURATION', '10s');
const GAP = envDuration('GAP', '2s');

/** Share of responses that came back gzip-encoded (only meaningful with gzip asked for). */
const gzipServed = new Rate('static_gzip_served');

const variants = [
  { name: 'small_gzip', file: 'small', path: STATIC_SMALL, gzip: true, rate: RATE, bytes: SMALL_BYTES },
  { name: 'small_plain', file: 'small', path: STATIC_SMALL, gzip: false, rate: RATE, bytes: SMALL_BYTES },
  { name: 'large_gzip', file: 'large', path: STATIC_LARGE, gzip: true, rate: LARGE_RATE, bytes: LARGE_BYTES },
  { name: 'large_plain', file: 'large', path: STATIC_LARGE, gzip: false, rate: LARGE_RATE, bytes: LARGE_BYTES },
];
const { startAt } = sequence(variants.length, DURATION, GAP);

/** @type {Record<string, import('k6/options').Scenario>} */
const scenarios = {};
variants.forEach((v, i) => {
  scenarios[v.name] = {
    executor: 'constant-arrival-rate',
    exec: 'fetch',
    rate: v.rate,
    timeUnit: '1s',
    duration: DURATION,
    startTime: startAt(i),
    gracefulStop: GAP,
    ...vusFor(v.rate, v.file === 'large' ? 200 : 20),
    tags: { file: v.file, gzip: v.gzip ? 'on' : 'off' },
  };
});

export const options = baseOptions(SCRIPT, {
  scenarios,
  thresholds: {
    ...thresholds({ p95Ms: 1000, p99Ms: 2000, arrivalRate: true, scenarios: variants.map((v) => v.name) }),
    // Always true: there so the summary shows how often gzip was served per variant.
    'static_gzip_served{gzip:on}': ['rate>=0'],
    'data_received{file:small}': ['count>=0'],
    'data_received{file:large}': ['count>=0'],
    // Bytes received per variant (headers included): what gzip, on the fly or precompressed, saves.
    ...Object.fromEntries(variants.map((v) => [`data_received{scenario:${v.name}}`, ['count>=0']])),
  },
});

/**
 * Expected sizes by path: STATIC_*_BYTES, else the manifest's, else 0 (unchecked).
 * @returns {Record<string, number>}
 */
export function setup() {
  /** @type {Record<string, number>} */
  const sizes = {};
  if (STATIC_MANIFEST !== '') {
    const res = http.get(url(STATIC_MANIFEST), {
      tags: { name: 'GET static manifest' },
      responseCallback: http.expectedStatuses(200, 404),
    });
    try {
      const dir = STATIC_MANIFEST.slice(0, STATIC_MANIFEST.lastIndexOf('/') + 1);
      for (const f of JSON.parse(String(res.body)).files) {
        if (typeof f.name === 'string' && typeof f.bytes === 'number') sizes[dir + f.name] = f.bytes;
      }
    } catch {
      /* no manifest: sizes unchecked unless given */
    }
  }
  for (const v of variants) if (v.bytes > 0) sizes[v.path] = v.bytes;
  return sizes;
}

/** @param {Record<string, number>} sizes */
export function fetch(sizes) {
  const variant = variants.find((v) => v.name === exec.scenario.name);
  if (variant === undefined) throw new Error(`no static variant for scenario ${exec.scenario.name}`);
  const res = http.get(url(variant.path), {
    // Set explicitly both ways: k6 would otherwise ask for gzip on its own.
    headers: { 'Accept-Encoding': variant.gzip ? 'gzip' : 'identity' },
    // Large bodies are not kept in memory; their size is judged by Content-Length.
    responseType: variant.file === 'large' ? 'none' : 'binary',
    tags: { name: `GET ${variant.path}` },
  });
  const encoding = String(res.headers['Content-Encoding'] ?? '');
  gzipServed.add(encoding.includes('gzip'));
  check(res, {
    'status is 200': (r) => r.status === 200,
    'not encoded when gzip is off': () => variant.gzip || encoding === '' || encoding === 'identity',
    'size is as expected': (r) => {
      const expected = sizes[variant.path] ?? 0;
      if (expected === 0) return true;
      // k6 decodes gzip bodies, so a small body is compared decoded.
      if (r.body instanceof ArrayBuffer) return r.body.byteLength === expected;
      // Content-Length is the encoded size when compressed, so only plain transfers are compared.
      return encoding !== '' || Number(r.headers['Content-Length']) === expected;
    },
  });
}

export const handleSummary = makeHandleSummary(SCRIPT, {
  staticSmall: STATIC_SMALL,
  staticLarge: STATIC_LARGE,
  variants: variants.map((v, i) => ({ ...v, startTime: startAt(i), duration: DURATION })),
});
