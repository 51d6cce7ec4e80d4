// @ts-check
// churn: the cost of a new TCP connection per request. Two steps at the same
// constant arrival rate: `keepalive` reuses connections (the baseline), then
// `churn` sends `Connection: close` on every request, so each one opens a new
// connection (k6 and the server both close after the response). The gap between
// the two (http_req_connecting, latency, server CPU) is the per-connection
// cost, which nginx in front absorbs with its own upstream keepalive pool.
// NO_REUSE=true instead sets k6's noConnectionReuse for the whole run.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e TOPOLOGY=gateway \
//     -e RATE=200 -e DURATION=30s loadtest/scenarios/churn.js

import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import {
  baseOptions,
  envBool,
  envDuration,
  envNumber,
  envString,
  sequence,
  thresholds,
  url,
  vusFor,
} from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'churn';
const RATE = envNumber('RATE', 100);
const DURATION = envDuration('DURATION', '10s');
const GAP = envDuration('GAP', '2s');
const ENDPOINT = envString('ENDPOINT', '/');
const NO_REUSE = envBool('NO_REUSE', false);

const steps = ['keepalive', 'churn'];
const { startAt } = sequence(steps.length, DURATION, GAP);

/** @type {Record<string, import('k6/options').Scenario>} */
const scenarios = {};
steps.forEach((name, i) => {
  scenarios[name] = {
    executor: 'constant-arrival-rate',
    rate: RATE,
    timeUnit: '1s',
    duration: DURATION,
    startTime: startAt(i),
    gracefulStop: GAP,
    ...vusFor(RATE, 20),
  };
});

export const options = baseOptions(SCRIPT, {
  scenarios,
  noConnectionReuse: NO_REUSE,
  thresholds: {
    ...thresholds({ p95Ms: 500, p99Ms: 1000, arrivalRate: true, scenarios: steps }),
    // Always true: there so the summary shows connect times per step.
    'http_req_connecting{scenario:keepalive}': ['max>=0'],
    'http_req_connecting{scenario:churn}': ['max>=0'],
  },
});

export default function () {
  const churn = exec.scenario.name === 'churn';
  const res = http.get(url(ENDPOINT), {
    headers: churn ? { Connection: 'close' } : {},
    tags: { name: `GET ${ENDPOINT}` },
  });
  check(res, { 'status is 200': (r) => r.status === 200 });
}

export const handleSummary = makeHandleSummary(SCRIPT, {
  endpoint: ENDPOINT,
  rate: RATE,
  noConnectionReuse: NO_REUSE,
  steps: steps.map((name, i) => ({ name, startTime: startAt(i), duration: DURATION })),
});
