// @ts-check
// cpu: CPU-bound requests. GET /cpu?ms=CPU_MS blocks the event loop, so one
// Node process serves at most 1000 / CPU_MS of them per second and queues the
// rest: this is where extra workers (the gateway's -w) matter, up to the
// number of cores. Offer RATE per second; compare one process with N workers
// at the same RATE, or raise RATE until p95 climbs (capacity.js with
// ENDPOINT=/cpu?ms=20 finds that knee).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e TOPOLOGY=gateway \
//     -e CPU_MS=20 -e RATE=40 -e DURATION=30s loadtest/scenarios/cpu.js

import { check } from 'k6';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { baseOptions, envDuration, envNumber, thresholds, url, vusFor } from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'cpu';
const CPU_MS = envNumber('CPU_MS', 20);
/** Default: 40% of one core, which one process handles; raise it past 1000 / CPU_MS to need workers. */
const RATE = envNumber('RATE', Math.max(1, Math.round(400 / CPU_MS)));
const DURATION = envDuration('DURATION', '10s');

/** Responses per worker pid: how evenly the load was spread. */
const byPid = new Counter('cpu_responses');

export const options = baseOptions(SCRIPT, {
  scenarios: {
    cpu: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      gracefulStop: '10s',
      ...vusFor(RATE, CPU_MS * 4),
    },
  },
  thresholds: thresholds({
    p95Ms: Math.max(CPU_MS * 10, 200),
    p99Ms: Math.max(CPU_MS * 20, 500),
    arrivalRate: true,
    scenarios: ['cpu'],
  }),
});

export default function () {
  const res = http.get(url(`/cpu?ms=${CPU_MS}`), { tags: { name: 'GET /cpu' } });
  /** @type {any} */
  let body = null;
  try {
    body = JSON.parse(String(res.body));
  } catch {
    /* checked below */
  }
  if (body !== null && typeof body.pid === 'number') byPid.add(1, { pid: String(body.pid) });
  check(res, {
    'status is 200': (r) => r.status === 200,
    'spun the asked time': () => body !== null && body.ms === CPU_MS,
  });
}

export const handleSummary = makeHandleSummary(SCRIPT, {
  cpuMs: CPU_MS,
  rate: RATE,
  duration: DURATION,
  singleProcessCapacity: 1000 / CPU_MS,
});
