/** A worker's figures: its own request counters always, prom-client's default set only when asked. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerStats } from '../src/worker-stats.js';

const names = async (stats: WorkerStats) => ((await stats.toJSON()) as Array<{ name: string }>).map((m) => m.name);

test('request figures are kept without the default metrics', async () => {
  const stats = new WorkerStats();
  stats.record(200, 0.002);
  stats.record(404, 0.02);
  const json = (await stats.toJSON()) as Array<{ name: string; values: Array<{ value: number; labels: Record<string, unknown>; metricName?: string }> }>;
  const requests = json.find((m) => m.name === 'gateway_http_requests_total')!;
  assert.deepEqual(requests.values.map((v) => [v.labels.status, v.value]), [[200, 1], [404, 1]]);
  const duration = json.find((m) => m.name === 'gateway_http_request_duration_seconds')!;
  const bucket = (le: number | string) => duration.values.find((v) => v.metricName?.endsWith('_bucket') && v.labels.le === le)!.value;
  assert.equal(bucket(0.005), 1);
  assert.equal(bucket(0.025), 2);
  assert.equal(bucket('+Inf'), 2);
  // No GC observer, no event-loop sampling: nothing from prom-client's default set.
  assert.deepEqual((await names(stats)).filter((n) => n.startsWith('nodejs_') || n.startsWith('process_')), []);
});

test('collectDefaults adds prom-client\'s default set, once however often it is asked', async () => {
  const stats = new WorkerStats();
  stats.collectDefaults();
  stats.collectDefaults(); // a second registration would throw "already registered"
  const all = await names(stats);
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'process_cpu_seconds_total']) {
    assert.ok(all.includes(name), `${name} in ${all.join(', ')}`);
  }
  assert.equal(all.filter((n) => n === 'nodejs_eventloop_lag_seconds').length, 1);
});
