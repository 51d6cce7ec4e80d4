// ws.js (the WebSocket echo scenario) run for real against the sample app's /ws
// under the gateway, where a k6 binary is on PATH; skipped with a clear message
// otherwise. Type-checking is covered with the other scripts (tsc --checkJs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../../server/test/helpers.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const k6Version = spawnSync('k6', ['version'], { encoding: 'utf8' });
const K6_MISSING =
  k6Version.error !== undefined || k6Version.status !== 0
    ? 'k6 not on PATH: ws.js is type-checked only (install k6 to run it)'
    : null;

test('ws.js: every message echoed through the gateway, summary written', async (t) => {
  if (K6_MISSING !== null) {
    t.skip(K6_MISSING);
    return;
  }
  const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', join(ROOT, 'app/dist/app.js')]);
  try {
    const results = mkdtempSync(join(tmpdir(), 'k6-ws-'));
    const run = spawnSync(
      'k6',
      [
        'run',
        '--quiet',
        '-e',
        `BASE_URL=${gw.url}`,
        '-e',
        'TOPOLOGY=test',
        '-e',
        `RESULTS_DIR=${results}`,
        '-e',
        'DURATION=2s',
        '-e',
        'CONNECTIONS=4',
        '-e',
        'MESSAGES=10',
        '-e',
        'INTERVAL_MS=5',
        // Out of reach: the run proves the script, not the speed.
        '-e',
        'P95_MS=60000',
        '-e',
        'P99_MS=60000',
        join(ROOT, 'loadtest/scenarios/ws.js'),
      ],
      { encoding: 'utf8', timeout: 120_000, env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } },
    );
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const file = join(results, 'ws-test.json');
    assert.ok(existsSync(file));
    const summary = JSON.parse(readFileSync(file, 'utf8')) as {
      meta: { thresholdsOk: boolean };
      metrics: Record<string, { values: Record<string, number> }>;
    };
    assert.equal(summary.meta.thresholdsOk, true);
    assert.equal(summary.metrics.checks?.values.rate, 1);
    assert.ok((summary.metrics.ws_echoes?.values.count ?? 0) >= 40, 'at least one session of 10 echoes per VU');
    assert.equal(summary.metrics.ws_wrong_echoes?.values.count ?? 0, 0);
  } finally {
    await gw.stop();
  }
});
