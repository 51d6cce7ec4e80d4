// @ts-check
// slow: I/O-bound requests. GET /slow?ms=SLOW_MS only waits (a timer, like a
// slow database), so one Node process can hold thousands at once. The arrival
// rate is CONCURRENCY × 1000 / SLOW_MS, which keeps about CONCURRENCY requests
// in flight (Little's law): latency should stay near SLOW_MS in every topology
// until something caps concurrent connections (nginx worker_connections, an
// upstream keepalive pool, the gateway's limits).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e TOPOLOGY=gateway \
//     -e CONCURRENCY=500 -e SLOW_MS=1000 -e DURATION=30s loadtest/scenarios/slow.js

import { check } from 'k6';
import http from 'k6/http';
import { baseOptions, envDuration, envNumber, thresholds, url, vusFor } from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'slow';
const SLOW_MS = envNumber('SLOW_MS', 1000);
const CONCURRENCY = envNumber('CONCURRENCY', 100);
const RATE = envNumber('RATE', Math.max(1, Math.round((CONCURRENCY * 1000) / SLOW_MS)));
const DURATION = envDuration('DURATION', '10s');
/** Latency allowed on top of SLOW_MS before the p95/p99 thresholds fail. */
const SLACK_MS = envNumber('SLACK_MS', 250);

export const options = baseOptions(SCRIPT, {
  scenarios: {
    slow: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      gracefulStop: `${SLOW_MS + 5000}ms`,
      ...vusFor(RATE, SLOW_MS),
    },
  },
  thresholds: {
    ...thresholds({ p95Ms: SLOW_MS + SLACK_MS, p99Ms: SLOW_MS + 2 * SLACK_MS, arrivalRate: true, scenarios: ['slow'] }),
    // Waiting (TTFB) is where queueing shows: shown for every run.
    http_req_waiting: [`p(95)<${SLOW_MS + SLACK_MS}`],
  },
});

export default function () {
  const res = http.get(url(`/slow?ms=${SLOW_MS}`), { tags: { name: 'GET /slow' }, timeout: `${SLOW_MS + 60000}ms` });
  check(res, {
    'status is 200': (r) => r.status === 200,
    'waited the asked time': (r) => {
      try {
        return JSON.parse(String(r.body)).ms === SLOW_MS;
      } catch {
        return false;
      }
    },
  });
}

export const handleSummary = makeHandleSummary(SCRIPT, {
  slowMs: SLOW_MS,
  concurrency: CONCURRENCY,
  rate: RATE,
  duration: DURATION,
});
