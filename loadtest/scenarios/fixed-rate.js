// @ts-check
// fixed-rate: the open model. Requests arrive at a constant rate whatever the
// server does (constant-arrival-rate), one step per fraction of CAPACITY, one
// after another, so each step's p50/p95/p99/p99.9 describe the server at that
// load and not a mix. Run capacity.js first and pass its knee as CAPACITY.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e TOPOLOGY=gateway \
//     -e CAPACITY=2000 -e FRACTIONS=0.25,0.5,0.75,0.9 -e DURATION=30s \
//     loadtest/scenarios/fixed-rate.js

import { check } from 'k6';
import http from 'k6/http';
import {
  baseOptions,
  envDuration,
  envNumber,
  envNumbers,
  envString,
  sequence,
  thresholds,
  url,
  vusFor,
} from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'fixed-rate';
/** Requests per second the target sustains (the knee from capacity.js). */
const CAPACITY = envNumber('CAPACITY', 200);
const FRACTIONS = envNumbers('FRACTIONS', [0.25, 0.5, 0.75]);
const DURATION = envDuration('DURATION', '10s');
const GAP = envDuration('GAP', '2s');
const ENDPOINT = envString('ENDPOINT', '/');
/** Expected latency, used only to size the VU pool (Little's law). */
const EXPECTED_MS = envNumber('EXPECTED_MS', 20);

const steps = FRACTIONS.map((fraction) => ({
  name: `at_${Math.round(fraction * 100)}pct`,
  fraction,
  rate: Math.max(1, Math.round(CAPACITY * fraction)),
}));
const { startAt } = sequence(steps.length, DURATION, GAP);

/** @type {Record<string, import('k6/options').Scenario>} */
const scenarios = {};
steps.forEach((step, i) => {
  scenarios[step.name] = {
    executor: 'constant-arrival-rate',
    rate: step.rate,
    timeUnit: '1s',
    duration: DURATION,
    startTime: startAt(i),
    gracefulStop: GAP,
    ...vusFor(step.rate, EXPECTED_MS),
    tags: { fraction: String(step.fraction) },
  };
});

export const options = baseOptions(SCRIPT, {
  scenarios,
  thresholds: thresholds({ p95Ms: 500, p99Ms: 1000, arrivalRate: true, scenarios: steps.map((s) => s.name) }),
});

export default function () {
  const res = http.get(url(ENDPOINT), { tags: { name: `GET ${ENDPOINT}` } });
  check(res, { 'status is 200': (r) => r.status === 200 });
}

export const handleSummary = makeHandleSummary(SCRIPT, {
  capacity: CAPACITY,
  endpoint: ENDPOINT,
  duration: DURATION,
  steps: steps.map((s, i) => ({ ...s, startTime: startAt(i), duration: DURATION })),
});
