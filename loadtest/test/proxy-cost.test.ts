// The report's "shipped nginx config vs the minimal proxy" section (loadtest/compare/proxy-cost.ts):
// ratios per transport from the capacity rows, the 0.95× target, and nothing for a pair that did
// not run.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { proxyCostSection, proxyCosts } from '../compare/proxy-cost.ts';
import type { Row } from '../compare/rows.ts';

const capacity = (topology: string, rps: number, cpuPer1k: number): Row => ({
  topology,
  scenario: 'capacity',
  step: 'wrk -c50',
  offered: null,
  requests: rps * 10,
  rps,
  p50: 1,
  p95: Number.NaN,
  p99: 2,
  failed: 0,
  dropped: 0,
  cpuSeconds: (cpuPer1k * rps * 10) / 1000,
  cpuPer1k,
  thresholdsOk: true,
});

test('full over minimal and full-uds over minimal-uds, each with its own transport', () => {
  const rows = [
    capacity('minimal', 10_000, 0.1),
    capacity('full', 8_000, 0.125),
    capacity('minimal-uds', 12_000, 0.08),
    capacity('full-uds', 11_800, 0.082),
  ];
  const [tcp, uds] = proxyCosts(rows);
  assert.equal(tcp?.shipped, 'full');
  assert.equal(tcp?.rpsRatio, 0.8);
  assert.equal(tcp?.cpuRatio, 1.25);
  assert.equal(uds?.minimal, 'minimal-uds');
  assert.equal(uds?.rpsRatio, 11_800 / 12_000);
  const md = proxyCostSection(rows).join('\n');
  assert.match(
    md,
    /\| full \| minimal \| 8000 \/ 10000 \| 0\.80× \(15 points short\) \| 0\.1250 \/ 0\.1000 \| 1\.25× \|/,
  );
  assert.match(md, /\| full-uds \| minimal-uds \| .* \| 0\.98× \(target met\) \|/);
});

test('no section when a pair did not both run', () => {
  assert.deepEqual(proxyCostSection([capacity('full', 8_000, 0.125)]), []);
  assert.equal(proxyCosts([capacity('minimal', 1, 1), capacity('full-uds', 1, 1)]).length, 0);
});
