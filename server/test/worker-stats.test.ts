/** A worker's figures: its own request counters always, prom-client's default set only when asked. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addCounts, emptyCounts, requestMetrics, WorkerStats } from '../src/worker-stats.js';

test('request figures are kept without the default metrics, and summed across workers', async () => {
  const a = new WorkerStats();
  a.record(200, 0.002);
  a.record(404, 0.02);
  const b = new WorkerStats();
  b.record(200, 0.5);
  const total = emptyCounts();
  addCounts(total, a.counts());
  addCounts(total, b.counts());
  const json = requestMetrics(total, 3);
  const requests = json.find((m) => m.name === 'gateway_http_requests_total')!;
  assert.deepEqual(
    requests.values.map((v) => [v.labels.status, v.value]),
    [
      ['200', 2],
      ['404', 1],
    ],
  );
  const duration = json.find((m) => m.name === 'gateway_http_request_duration_seconds')!;
  const bucket = (le: number | string) =>
    duration.values.find((v) => v.metricName?.endsWith('_bucket') && v.labels.le === le)!.value;
  assert.equal(bucket(0.005), 1);
  assert.equal(bucket(0.025), 2);
  assert.equal(bucket(0.25), 2);
  assert.equal(bucket(0.5), 3);
  assert.equal(bucket('+Inf'), 3);
  assert.equal(duration.values.find((v) => v.metricName?.endsWith('_sum'))!.value, 0.522);
  assert.equal(json.find((m) => m.name === 'gateway_http_requests_in_flight')!.values[0]!.value, 3);
  // No GC observer, no event-loop sampling: nothing from prom-client's default set.
  assert.deepEqual(await a.defaultMetrics(), []);
});

test("collectDefaults adds prom-client's default set, once however often it is asked", async () => {
  const stats = new WorkerStats();
  stats.collectDefaults();
  stats.collectDefaults(); // a second registration would throw "already registered"
  const all = ((await stats.defaultMetrics()) as Array<{ name: string }>).map((m) => m.name);
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'process_cpu_seconds_total']) {
    assert.ok(all.includes(name), `${name} in ${all.join(', ')}`);
  }
  assert.equal(all.filter((n) => n === 'nodejs_eventloop_lag_seconds').length, 1);
});
