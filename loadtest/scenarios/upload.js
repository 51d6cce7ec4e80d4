// @ts-check
// upload: POST /upload with a small body, a body exactly at the body limit
// (must be accepted, byte count and sha256 echoed) and one byte over it (must
// be refused with 413, not a reset connection), at a constant arrival rate,
// one after another. Shows how each topology moves a large body (nginx buffers
// it first; the gateway streams it to the app) and whether every layer agrees
// on the limit.
//
// The limit is LIMIT_BYTES if set, else bodyLimitBytes from the repo's
// config/limits.json (read relative to this script), else 10485760.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e TOPOLOGY=gateway loadtest/scenarios/upload.js

import { check } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import http from 'k6/http';
import { baseOptions, envDuration, envNumber, sequence, thresholds, url, vusFor } from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'upload';
const DEFAULT_LIMIT = 10485760;

/**
 * bodyLimitBytes from config/limits.json, or null where the repo's config/ is
 * not there (e.g. only loadtest/ is mounted into the grafana/k6 container).
 * open() runs here, in the entry script, so its relative path means the same
 * under k6's current rule (relative to the entry script) and its announced one
 * (relative to the calling module).
 * @returns {number | null}
 */
function limitFromConfig() {
  try {
    const limits = JSON.parse(open('../../config/limits.json'));
    return typeof limits.bodyLimitBytes === 'number' ? limits.bodyLimitBytes : null;
  } catch {
    return null;
  }
}

const CONFIG_LIMIT = limitFromConfig();
const LIMIT_BYTES = envNumber('LIMIT_BYTES', CONFIG_LIMIT ?? DEFAULT_LIMIT);
const LIMIT_SOURCE = __ENV.LIMIT_BYTES
  ? 'env LIMIT_BYTES'
  : CONFIG_LIMIT !== null
    ? 'config/limits.json'
    : 'built-in default';
const SMALL_BYTES = envNumber('SMALL_BYTES', 65536);
const OVER_BY = envNumber('OVER_BY', 1);
const RATE = envNumber('RATE', 2);
const DURATION = envDuration('DURATION', '10s');
const GAP = envDuration('GAP', '5s');

const cases = [
  { name: 'small', bytes: SMALL_BYTES, expect: 200 },
  { name: 'at_limit', bytes: LIMIT_BYTES, expect: 200 },
  { name: 'over_limit', bytes: LIMIT_BYTES + OVER_BY, expect: 413 },
];
const { startAt } = sequence(cases.length, DURATION, GAP);

/** @type {Record<string, import('k6/options').Scenario>} */
const scenarios = {};
cases.forEach((c, i) => {
  scenarios[c.name] = {
    executor: 'constant-arrival-rate',
    exec: 'upload',
    rate: RATE,
    timeUnit: '1s',
    duration: DURATION,
    startTime: startAt(i),
    gracefulStop: GAP,
    // Bodies are built once per VU: keep the pool small (MAX_VUS overrides).
    ...vusFor(RATE, 500),
    tags: { case: c.name },
  };
});

export const options = baseOptions(SCRIPT, {
  scenarios,
  thresholds: thresholds({ p95Ms: 5000, p99Ms: 10000, arrivalRate: true, scenarios: cases.map((c) => c.name) }),
});

/**
 * Bodies by case, built on a VU's first iteration of that case (the init
 * context does not know which scenario a VU will serve). ASCII, so
 * characters are bytes.
 * @type {Record<string, string>}
 */
const bodies = {};

/** @returns {Record<string, string>} each case's expected sha256, computed once */
export function setup() {
  /** @type {Record<string, string>} */
  const digests = {};
  for (const c of cases) if (c.expect === 200) digests[c.name] = crypto.sha256('x'.repeat(c.bytes), 'hex');
  return digests;
}

/** @param {Record<string, string>} digests */
export function upload(digests) {
  const mine = cases.find((c) => c.name === exec.scenario.name);
  if (mine === undefined) throw new Error(`no upload case for scenario ${exec.scenario.name}`);
  // One body per case, built on first use (k6 scripts stay on ES2020: no logical assignment).
  if (bodies[mine.name] === undefined) bodies[mine.name] = 'x'.repeat(mine.bytes);
  const body = bodies[mine.name];
  const res = http.post(url('/upload'), body, {
    headers: { 'Content-Type': 'application/octet-stream' },
    responseCallback: http.expectedStatuses(mine.expect),
    tags: { name: 'POST /upload' },
    timeout: '120s',
  });
  if (mine.expect === 200) {
    /** @type {any} */
    let answer = null;
    try {
      answer = JSON.parse(String(res.body));
    } catch {
      /* checked below */
    }
    check(res, {
      [`${mine.name}: accepted (200)`]: (r) => r.status === 200,
      [`${mine.name}: byte count echoed`]: () => answer !== null && answer.bytes === mine.bytes,
      [`${mine.name}: sha256 echoed`]: () => answer !== null && answer.sha256 === digests[mine.name],
    });
  } else {
    // status 0 here means the connection was reset before a response: the
    // refusal the client never got to read.
    check(res, { [`${mine.name}: refused (413)`]: (r) => r.status === 413 });
  }
}

export const handleSummary = makeHandleSummary(SCRIPT, {
  limitBytes: LIMIT_BYTES,
  limitSource: LIMIT_SOURCE,
  cases: cases.map((c, i) => ({ ...c, rate: RATE, startTime: startAt(i), duration: DURATION })),
});
