// @ts-check
// What every script shares: where to send traffic (BASE_URL), how to label it
// (TOPOLOGY), the env knobs with small defaults, and one thresholds builder so
// that every run judges failures, checks, latency and offered load the same way.
//
// Plain JavaScript with JSDoc, type-checked against @types/k6 (tsconfig.json),
// so it runs unchanged in any recent k6, including the official grafana/k6 image.
// Nothing here is imported from the network.

/** @typedef {import('k6/options').Options} Options */
/** @typedef {import('k6/options').Scenario} Scenario */
/** @typedef {import('k6/options').Threshold} Threshold */

/**
 * Reads an env var (`-e NAME=value` or the process environment), treating an
 * empty string as unset.
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function envString(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

/**
 * A finite number from the environment; a malformed value stops the run in the
 * init context instead of silently becoming NaN.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function envNumber(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * A comma-separated list of numbers, e.g. FRACTIONS=0.25,0.5,0.75.
 * @param {string} name
 * @param {number[]} fallback
 * @returns {number[]}
 */
export function envNumbers(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (part.trim() === '' || !Number.isFinite(value))
      throw new Error(`${name} must be a comma-separated list of numbers, got ${JSON.stringify(raw)}`);
    return value;
  });
}

/**
 * A boolean: 1/true/yes/on or 0/false/no/off.
 * @param {string} name
 * @param {boolean} fallback
 * @returns {boolean}
 */
export function envBool(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * Milliseconds in a k6/Go duration string: "500ms", "10s", "1m30s", "2h".
 * A bare number is taken as seconds, as k6 does.
 * @param {string} text
 * @returns {number}
 */
export function durationMs(text) {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  /** @type {Record<'ms' | 's' | 'm' | 'h', number>} */
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  const parts = text.match(/(\d+(?:\.\d+)?)(ms|s|m|h)/g);
  if (parts === null || parts.join('') !== text)
    throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 500ms, 10s, 1m30s)`);
  let total = 0;
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(part);
    if (match === null) throw new Error(`not a duration: ${JSON.stringify(text)}`);
    total += Number(match[1]) * unit[/** @type {'ms' | 's' | 'm' | 'h'} */ (match[2])];
  }
  return total;
}

/**
 * A duration from the environment, validated and normalised to "<n>ms".
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function envDuration(name, fallback) {
  return `${Math.round(durationMs(envString(name, fallback)))}ms`;
}

/** The topology under test, or 'unknown'. Tags every metric of the run. */
export const TOPOLOGY = envString('TOPOLOGY', 'unknown');

/** Where to send traffic, without a trailing slash. */
export const BASE_URL = envString('BASE_URL', 'http://127.0.0.1:8000').replace(/\/+$/, '');

/**
 * Where handleSummary writes `<script>-<topology>.json` and `.xml`, relative to
 * the working directory. k6 does not create it: the default, loadtest/results,
 * is kept in git (with a .gitignore) so runs from the repo root just work.
 */
export const RESULTS_DIR = envString('RESULTS_DIR', 'loadtest/results').replace(/\/+$/, '');

/**
 * An absolute URL for a path on BASE_URL.
 * @param {string} path
 * @returns {string}
 */
export function url(path) {
  return BASE_URL + (path.startsWith('/') ? path : `/${path}`);
}

/** Trend statistics in every summary: p50 (med), p95, p99 and p99.9 among them. */
export const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'max', 'count'];

/**
 * @typedef {object} ThresholdSpec
 * @property {number} p95Ms     default p95 limit of http_req_duration, ms (env P95_MS overrides)
 * @property {number} p99Ms     default p99 limit, ms (env P99_MS overrides)
 * @property {string[]} [scenarios] scenario names that get their own latency, failure and
 *   dropped-iteration thresholds (so they appear in the summary)
 * @property {boolean} [arrivalRate] the executors are arrival-rate based: add dropped_iterations count==0
 * @property {boolean} [abortOnFail] stop the run as soon as one fails (capacity search)
 * @property {string} [delayAbortEval] with abortOnFail: how long to wait before the first evaluation
 */

/**
 * The thresholds every script shares:
 * - http_req_failed below MAX_FAIL_RATE (default 1%);
 * - checks above MIN_CHECK_RATE (default 99%);
 * - http_req_duration p95/p99 below P95_MS/P99_MS;
 * - for arrival-rate executors, dropped_iterations count==0, which proves the
 *   load that was asked for was actually offered (k6 had a VU for every
 *   iteration). k6 registers dropped_iterations up front, so the threshold
 *   passes with count 0 when nothing was dropped.
 * Per-scenario copies make every scenario's percentiles show up in the summary.
 * @param {ThresholdSpec} spec
 * @returns {Record<string, Threshold[]>}
 */
export function thresholds(spec) {
  const maxFailRate = envNumber('MAX_FAIL_RATE', 0.01);
  const minCheckRate = envNumber('MIN_CHECK_RATE', 0.99);
  const p95 = envNumber('P95_MS', spec.p95Ms);
  const p99 = envNumber('P99_MS', spec.p99Ms);
  const abort = spec.abortOnFail === true;
  const delay = spec.delayAbortEval ?? '5s';
  /** @param {string} expr @returns {Threshold} */
  const t = (expr) => (abort ? { threshold: expr, abortOnFail: true, delayAbortEval: delay } : expr);

  /** @type {Record<string, Threshold[]>} */
  const out = {
    http_req_failed: [t(`rate<${maxFailRate}`)],
    checks: [t(`rate>${minCheckRate}`)],
    http_req_duration: [t(`p(95)<${p95}`), t(`p(99)<${p99}`)],
  };
  if (spec.arrivalRate === true) out.dropped_iterations = [t('count==0')];
  for (const name of spec.scenarios ?? []) {
    out[`http_req_duration{scenario:${name}}`] = [`p(95)<${p95}`, `p(99)<${p99}`];
    out[`http_req_failed{scenario:${name}}`] = [`rate<${maxFailRate}`];
    // Always true: present so the summary carries each scenario's request count.
    out[`http_reqs{scenario:${name}}`] = ['count>=0'];
    if (spec.arrivalRate === true) out[`dropped_iterations{scenario:${name}}`] = ['count==0'];
  }
  return out;
}

/**
 * VUs an arrival-rate scenario needs: rate × expected latency (Little's law),
 * with generous headroom. Preallocation matters: an iteration due while every
 * VU is busy is dropped, even when k6 is still allowed to start more VUs
 * (starting one takes a while), so a latency blip with a tight pool shows up
 * as dropped_iterations although the server was fine. PRE_VUS / MAX_VUS override.
 * @param {number} ratePerSecond
 * @param {number} expectedLatencyMs
 * @returns {{ preAllocatedVUs: number, maxVUs: number }}
 */
export function vusFor(ratePerSecond, expectedLatencyMs) {
  const inFlight = (ratePerSecond * Math.max(expectedLatencyMs, 1)) / 1000;
  const pre = envNumber('PRE_VUS', Math.ceil(inFlight * 5) + 10);
  const max = envNumber('MAX_VUS', Math.max(pre * 2, pre + 50));
  return { preAllocatedVUs: pre, maxVUs: Math.max(pre, max) };
}

/**
 * Lays scenarios out one after another (each gets its own clean window):
 * returns the startTime of the i-th and the total run time.
 * @param {number} count
 * @param {string} duration e.g. "10000ms"
 * @param {string} gap pause between two scenarios, also their gracefulStop
 * @returns {{ startAt: (i: number) => string, totalMs: number }}
 */
export function sequence(count, duration, gap) {
  const step = durationMs(duration) + durationMs(gap);
  return { startAt: (i) => `${i * step}ms`, totalMs: count * step };
}

/**
 * The options every script exports: test-wide tags (topology and script, on
 * every metric sample), the trend stats, and the script's scenarios/thresholds.
 * @param {string} script the script's name, e.g. 'fixed-rate'
 * @param {Options} options
 * @returns {Options}
 */
export function baseOptions(script, options) {
  return {
    // https:// runs against the stack's self-signed development certificate unless
    // INSECURE_TLS=0 (a real certificate then verifies as usual).
    insecureSkipTLSVerify: envBool('INSECURE_TLS', true),
    ...options,
    tags: { topology: TOPOLOGY, script, ...(options.tags ?? {}) },
    summaryTrendStats: TREND_STATS,
    // k6's end-of-run usage report is not a script option: turn it off with
    // K6_NO_USAGE_REPORT=true or --no-usage-report (the README's commands do).
  };
}
