// The k6 suite's own tests.
// 1. Every script (and lib module) type-checks against @types/k6 (always runs).
// 2. Where a `k6` binary is on PATH: every script passes `k6 inspect`, and runs
//    for real, with tiny rates and durations, against a mock of the sample app
//    on 127.0.0.1, writing its JSON and JUnit summaries. Without k6 these are
//    skipped, saying so. k6 is not in the package registries this project can
//    reach; the official grafana/k6 image or a k6 binary provides it.
// No assertion depends on timing: latency thresholds are set out of reach.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type MockApp, STATIC_FILES, startMockApp } from './mock-app.ts';

const LOADTEST = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = join(LOADTEST, 'scenarios');
const SCRIPTS = ['smoke', 'fixed-rate', 'capacity', 'static', 'upload', 'slow', 'cpu', 'churn'];
/** Upper bound of any one k6 process here; the runs themselves take seconds. */
const K6_KILL_AFTER_MS = 180_000;

const k6Version = spawnSync('k6', ['version'], { encoding: 'utf8' });
const K6_MISSING =
  k6Version.error !== undefined || k6Version.status !== 0
    ? `k6 not on PATH (${k6Version.error?.message ?? `k6 version exited ${String(k6Version.status)}`}): ` +
      'k6 scripts are type-checked only, not run. Install k6 or use the grafana/k6 image to run them.'
    : null;
if (K6_MISSING !== null) console.log(K6_MISSING);
else console.log(`k6 scripts run with ${k6Version.stdout.trim()}`);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs k6 without blocking this process's event loop (the mock app lives on it). */
function k6(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('k6', args, {
      cwd: LOADTEST,
      env: { ...process.env, K6_NO_USAGE_REPORT: 'true', K6_NO_COLOR: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, K6_KILL_AFTER_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function envArgs(env: Record<string, string | number>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${String(v)}`]);
}

interface Summary {
  meta: Record<string, unknown> & { script: string; topology: string; thresholdsOk: boolean };
  metrics: Record<string, { values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }>;
}

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('every k6 script type-checks against @types/k6 (tsc --checkJs)', () => {
  const result = spawnSync(process.execPath, [TSC, '-p', join(LOADTEST, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});

describe('k6 inspect', () => {
  for (const script of SCRIPTS) {
    test(`${script}.js parses and exports valid options`, async (t) => {
      if (K6_MISSING !== null) {
        t.skip(K6_MISSING);
        return;
      }
      const run = await k6(['inspect', ...envArgs({ TOPOLOGY: 'inspect' }), join(SCENARIOS, `${script}.js`)]);
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /unknown field/, 'options k6 does not understand');
      const options = JSON.parse(run.stdout) as {
        tags: Record<string, string>;
        scenarios: Record<string, unknown>;
        thresholds: Record<string, unknown>;
      };
      assert.deepEqual(options.tags, { topology: 'inspect', script });
      assert.ok(Object.keys(options.scenarios).length > 0);
      assert.ok(
        'http_req_failed' in options.thresholds &&
          'checks' in options.thresholds &&
          'http_req_duration' in options.thresholds,
      );
    });
  }
});

describe('k6 run against a mock app on 127.0.0.1', () => {
  const LIMIT = 65536;
  let app: MockApp;
  let results: string;

  before(async () => {
    if (K6_MISSING !== null) return;
    app = await startMockApp({ bodyLimitBytes: LIMIT });
    results = mkdtempSync(join(tmpdir(), 'k6-results-'));
  });
  after(async () => {
    if (K6_MISSING !== null) return;
    await app.close();
    rmSync(results, { recursive: true, force: true });
  });

  /** Runs a script with tiny settings; returns the run and its JSON summary. */
  async function runScript(
    script: string,
    env: Record<string, string | number>,
    topology = 'test',
  ): Promise<{ run: Run; summary: Summary }> {
    const run = await k6([
      'run',
      '--quiet',
      ...envArgs({
        BASE_URL: app.baseUrl,
        TOPOLOGY: topology,
        RESULTS_DIR: results,
        // Out of reach on any machine: these runs prove the scripts, not the speed.
        P95_MS: 60000,
        P99_MS: 60000,
        ...env,
      }),
      join(SCENARIOS, `${script}.js`),
    ]);
    const json = join(results, `${script}-${topology}.json`);
    assert.ok(existsSync(json), `no JSON summary at ${json}\n${run.stdout}\n${run.stderr}`);
    assert.ok(existsSync(join(results, `${script}-${topology}.xml`)), 'no JUnit summary');
    const summary = JSON.parse(readFileSync(json, 'utf8')) as Summary;
    assert.equal(summary.meta.script, script);
    assert.equal(summary.meta.topology, topology);
    return { run, summary };
  }

  function assertPassed(run: Run, summary: Summary): void {
    assert.equal(run.code, 0, `k6 exited ${String(run.code)}\n${run.stdout}\n${run.stderr}`);
    assert.equal(summary.meta.thresholdsOk, true);
    assert.equal(summary.metrics.checks?.values.rate, 1, 'every check passed');
  }

  test('smoke.js: every endpoint once, all checks pass, JSON and JUnit written', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript('smoke', {});
    assertPassed(run, summary);
    for (const route of [
      'GET /',
      'GET /healthz',
      'GET /readyz',
      'GET /whoami',
      'GET /slow',
      'GET /cpu',
      'POST /upload',
      'GET /stream',
      'GET /static/1k.txt',
      'POST /api/items',
      'GET /api/items',
    ]) {
      assert.ok((app.hits.get(route) ?? 0) > 0, `smoke did not call ${route}`);
    }
    // Closed-model run: the arrival-rate threshold is absent, and absent is fine.
    assert.equal(summary.metrics.dropped_iterations?.thresholds, undefined);
    const xml = readFileSync(join(results, 'smoke-test.xml'), 'utf8');
    assert.match(xml, /<testsuite name="k6\.smoke\.test" tests="\d+" failures="0"/);
    assert.match(xml, /name="GET \/whoami \/ GET \/whoami has ip, scheme, host, pid"/);
    assert.match(run.stdout, /thresholds: all passed/);
  });

  test('smoke.js: a failing check fails the run (exit 99) and the JUnit file says so', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    // A static file the mock does not have: two checks fail.
    const { run, summary } = await runScript('smoke', { STATIC_SMALL: '/static/missing.txt' }, 'failing');
    assert.equal(run.code, 99, run.stderr);
    assert.equal(summary.meta.thresholdsOk, false);
    assert.match(readFileSync(join(results, 'smoke-failing.xml'), 'utf8'), /failures="[1-9]\d*"/);
  });

  test('fixed-rate.js: one constant-arrival-rate step per fraction, dropped_iterations count==0', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript('fixed-rate', {
      CAPACITY: 20,
      FRACTIONS: '0.25,0.5',
      DURATION: '1s',
      GAP: '500ms',
      PRE_VUS: 10,
    });
    assertPassed(run, summary);
    assert.deepEqual(summary.metrics.dropped_iterations?.thresholds, { 'count==0': { ok: true } });
    for (const step of ['at_25pct', 'at_50pct']) {
      const latency = summary.metrics[`http_req_duration{scenario:${step}}`];
      assert.ok(latency !== undefined, `no latency for ${step}`);
      for (const stat of ['med', 'p(95)', 'p(99)', 'p(99.9)'])
        assert.ok(stat in latency.values, `${step} lacks ${stat}`);
      assert.ok((summary.metrics[`http_reqs{scenario:${step}}`]?.values.count ?? 0) > 0);
    }
  });

  test('capacity.js: a ramp that stays healthy ends with exit 0', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript('capacity', { START_RATE: 5, MAX_RATE: 20, RAMP: '2s', PRE_VUS: 10 });
    assertPassed(run, summary);
    assert.equal(summary.meta.kneeFound, false);
    assert.equal(summary.meta.offeredRateAtStop, 20);
  });

  test('capacity.js: abortOnFail stops the ramp at the first failing threshold', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript(
      'capacity',
      { ENDPOINT: '/fail', START_RATE: 5, MAX_RATE: 20, RAMP: '60s', ABORT_DELAY: '0s' },
      'knee',
    );
    assert.equal(run.code, 99, run.stderr);
    assert.match(run.stderr, /abortOnFail/);
    assert.equal(summary.meta.kneeFound, true);
  });

  test('static.js: default files (sizes from the manifest), gzip on and off', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript('static', {
      RATE: 5,
      LARGE_RATE: 2,
      DURATION: '1s',
      GAP: '500ms',
      PRE_VUS: 5,
    });
    assertPassed(run, summary);
    assert.equal(summary.meta.staticSmall, '/static/1k.txt');
    assert.equal(summary.meta.staticLarge, '/static/1m.txt');
    // Both defaults are text, which the mock gzips whenever asked.
    assert.equal(summary.metrics['static_gzip_served{gzip:on}']?.values.rate, 1);
    const small = summary.metrics['data_received{file:small}']?.values.count ?? 0;
    const large = summary.metrics['data_received{file:large}']?.values.count ?? 0;
    assert.ok(large > small, `large file moved more bytes (${large}) than small (${small})`);
  });

  test('static.js: wrong expected sizes fail the size check', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const large = STATIC_FILES['/static/64k.bin'];
    assert.ok(large !== undefined);
    const { run, summary } = await runScript(
      'static',
      {
        RATE: 2,
        LARGE_RATE: 2,
        DURATION: '1s',
        GAP: '200ms',
        STATIC_MANIFEST: '',
        STATIC_LARGE: '/static/64k.bin',
        STATIC_LARGE_BYTES: large.body.length,
        STATIC_SMALL_BYTES: 1000,
      },
      'sizes',
    );
    assert.equal(run.code, 99, run.stderr);
    // Only the small file's two variants fail; binaries are never gzipped by the mock.
    assert.ok((summary.metrics.checks?.values.rate ?? 1) < 1);
    assert.ok((summary.metrics['static_gzip_served{gzip:on}']?.values.rate ?? 1) < 1);
  });

  test('upload.js: small, exactly at the limit (200), one byte over (413)', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript('upload', {
      LIMIT_BYTES: LIMIT,
      SMALL_BYTES: 1000,
      RATE: 2,
      DURATION: '1s',
      GAP: '500ms',
    });
    assertPassed(run, summary);
    assert.equal(summary.meta.limitBytes, LIMIT);
    assert.equal(summary.meta.limitSource, 'env LIMIT_BYTES');
    for (const c of ['small', 'at_limit', 'over_limit']) {
      assert.ok((summary.metrics[`http_reqs{scenario:${c}}`]?.values.count ?? 0) > 0, `no ${c} uploads`);
    }
  });

  test('upload.js: without LIMIT_BYTES the limit comes from config/limits.json', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const limits = JSON.parse(readFileSync(join(LOADTEST, '..', 'config', 'limits.json'), 'utf8')) as {
      bodyLimitBytes: number;
    };
    // One iteration per case; the mock's own limit is smaller, so only the summary's meta is looked at.
    const { summary } = await runScript('upload', { RATE: 1, DURATION: '1s', GAP: '200ms', SMALL_BYTES: 10 }, 'limits');
    assert.equal(summary.meta.limitBytes, limits.bodyLimitBytes);
    assert.equal(summary.meta.limitSource, 'config/limits.json');
  });

  test('slow.js: I/O-bound requests at a fixed concurrency', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript('slow', { SLOW_MS: 100, CONCURRENCY: 2, DURATION: '1s' });
    assertPassed(run, summary);
    assert.equal(summary.meta.rate, 20);
  });

  test('cpu.js: CPU-bound requests at a fixed rate', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const { run, summary } = await runScript('cpu', { CPU_MS: 5, RATE: 10, DURATION: '1s' });
    assertPassed(run, summary);
    assert.ok((summary.metrics.cpu_responses?.values.count ?? 0) > 0);
  });

  test('churn.js: Connection: close opens one connection per request', async (t) => {
    if (K6_MISSING !== null) {
      t.skip(K6_MISSING);
      return;
    }
    const before = app.connections();
    const { run, summary } = await runScript('churn', { RATE: 10, DURATION: '1s', GAP: '500ms', PRE_VUS: 5 });
    assertPassed(run, summary);
    const keepalive = summary.metrics['http_reqs{scenario:keepalive}']?.values.count ?? 0;
    const churn = summary.metrics['http_reqs{scenario:churn}']?.values.count ?? 0;
    assert.ok(keepalive > 0 && churn > 0);
    const opened = app.connections() - before;
    assert.ok(opened >= churn, `${churn} churn requests but only ${opened} connections`);
    assert.ok(
      opened < keepalive + churn,
      `keep-alive requests reused connections (${opened} for ${keepalive + churn})`,
    );
  });
});
