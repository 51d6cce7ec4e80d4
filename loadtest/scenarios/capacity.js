// @ts-check
// capacity: find the knee. The arrival rate ramps linearly from START_RATE to
// MAX_RATE over RAMP; every threshold has abortOnFail, so the run stops at the
// first sign of saturation: errors, failed checks, p95 over P95_MS, or dropped
// iterations (k6 ran out of VUs because responses slowed down: the queue is
// growing). The rate being offered when it stopped is in the summary's
// meta.offeredRateAtStop (and the capacity_offered_rate gauge); the knee is at
// or a little below it. Pass it to fixed-rate.js as CAPACITY.
//
// A run that hits the knee exits with k6's threshold code (99): that is the
// expected outcome here. A run that reaches MAX_RATE cleanly exits 0: raise MAX_RATE.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e TOPOLOGY=gateway \
//     -e START_RATE=50 -e MAX_RATE=5000 -e RAMP=60s loadtest/scenarios/capacity.js

import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Gauge } from 'k6/metrics';
import { baseOptions, durationMs, envDuration, envNumber, envString, thresholds, url, vusFor } from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'capacity';
const START_RATE = envNumber('START_RATE', 10);
const MAX_RATE = envNumber('MAX_RATE', 500);
const RAMP = envDuration('RAMP', '30s');
const ENDPOINT = envString('ENDPOINT', '/');
const EXPECTED_MS = envNumber('EXPECTED_MS', 20);
const RAMP_MS = durationMs(RAMP);

/** The arrival rate the schedule asks for at this moment of the run. */
const offeredRate = new Gauge('capacity_offered_rate');

export const options = baseOptions(SCRIPT, {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: START_RATE,
      timeUnit: '1s',
      stages: [{ duration: RAMP, target: MAX_RATE }],
      gracefulStop: '2s',
      ...vusFor(MAX_RATE, EXPECTED_MS),
    },
  },
  thresholds: {
    ...thresholds({
      p95Ms: 500,
      p99Ms: 2000,
      arrivalRate: true,
      abortOnFail: true,
      delayAbortEval: envString('ABORT_DELAY', '5s'),
    }),
    // Always true: there so the summary shows the last and highest offered rate.
    capacity_offered_rate: ['value>=0'],
  },
});

/**
 * The schedule's rate at `elapsedMs` into the run (linear ramp).
 * @param {number} elapsedMs
 * @returns {number}
 */
function scheduledRate(elapsedMs) {
  const progress = Math.min(1, Math.max(0, elapsedMs / RAMP_MS));
  return START_RATE + (MAX_RATE - START_RATE) * progress;
}

export default function () {
  offeredRate.add(Math.round(scheduledRate(exec.instance.currentTestRunDuration)));
  const res = http.get(url(ENDPOINT), { tags: { name: `GET ${ENDPOINT}` } });
  check(res, { 'status is 200': (r) => r.status === 200 });
}

export const handleSummary = makeHandleSummary(
  SCRIPT,
  {
    endpoint: ENDPOINT,
    startRate: START_RATE,
    maxRate: MAX_RATE,
    ramp: RAMP,
  },
  (data) => {
    const ranMs = data.state?.testRunDurationMs ?? 0;
    const reqs = data.metrics.http_reqs?.values.count ?? 0;
    const thresholdsFailed = Object.values(data.metrics).some((m) =>
      Object.values(m.thresholds ?? {}).some((t) => !t.ok),
    );
    return {
      // Stopped by a threshold before the ramp's end: the knee was found.
      kneeFound: thresholdsFailed,
      offeredRateAtStop: Math.round(scheduledRate(Math.min(ranMs, RAMP_MS))),
      lastOfferedRate: data.metrics.capacity_offered_rate?.values.value ?? null,
      meanAchievedRate: ranMs > 0 ? reqs / (ranMs / 1000) : 0,
    };
  },
);
