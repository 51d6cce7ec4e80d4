// @ts-check
// handleSummary for every script: the full k6 summary as JSON (plus a `meta`
// block saying what was run, against what), the thresholds and checks as JUnit
// XML for CI, and a compact text summary on stdout. Self-contained: no jslib
// import from the network, so the suite runs offline.

import { BASE_URL, RESULTS_DIR, TOPOLOGY, TREND_STATS } from './config.js';

/**
 * The parts of k6's summary data this module reads.
 * @typedef {{
 *   type: 'counter' | 'gauge' | 'rate' | 'trend',
 *   contains?: string,
 *   values: Record<string, number>,
 *   thresholds?: Record<string, { ok: boolean }>,
 * }} SummaryMetric
 * @typedef {{ name: string, path: string, passes: number, fails: number }} SummaryCheck
 * @typedef {{ name: string, path: string, groups: SummaryGroup[], checks: SummaryCheck[] }} SummaryGroup
 * @typedef {{
 *   metrics: Record<string, SummaryMetric>,
 *   root_group: SummaryGroup,
 *   options?: Record<string, unknown>,
 *   state?: { testRunDurationMs?: number },
 * }} SummaryData
 */

/**
 * Escapes text for XML attributes and text nodes.
 * @param {string} text
 * @returns {string}
 */
export function xmlEscape(text) {
  return (
    text
      .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
      // XML 1.0 forbids most control characters even when escaped.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}

/**
 * Every check in the group tree, with the group path it ran in.
 * @param {SummaryGroup} group
 * @returns {SummaryCheck[]}
 */
export function allChecks(group) {
  /** @type {SummaryCheck[]} */
  const out = [...(group.checks ?? [])];
  for (const child of group.groups ?? []) out.push(...allChecks(child));
  return out;
}

/**
 * Whether every threshold passed.
 * @param {SummaryData} data
 * @returns {boolean}
 */
export function thresholdsOk(data) {
  return Object.values(data.metrics).every((m) => Object.values(m.thresholds ?? {}).every((t) => t.ok));
}

/**
 * JUnit XML: one test case per threshold and one per check, in one suite per run.
 * @param {SummaryData} data
 * @param {string} script
 * @returns {string}
 */
export function junit(data, script) {
  const suite = `k6.${script}.${TOPOLOGY}`;
  const seconds = ((data.state?.testRunDurationMs ?? 0) / 1000).toFixed(3);
  /** @type {string[]} */
  const cases = [];
  let failures = 0;
  for (const [metric, m] of Object.entries(data.metrics).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [expr, result] of Object.entries(m.thresholds ?? {})) {
      const name = xmlEscape(`${metric}: ${expr}`);
      if (result.ok) {
        cases.push(`    <testcase classname="${suite}.thresholds" name="${name}"/>`);
      } else {
        failures++;
        const got = xmlEscape(JSON.stringify(m.values));
        cases.push(
          `    <testcase classname="${suite}.thresholds" name="${name}">\n` +
            `      <failure message="threshold crossed">${got}</failure>\n    </testcase>`,
        );
      }
    }
  }
  for (const c of allChecks(data.root_group)) {
    const where = c.path.split('::').slice(1, -1).join(' / ');
    const name = xmlEscape(where === '' ? c.name : `${where} / ${c.name}`);
    if (c.fails === 0) {
      cases.push(`    <testcase classname="${suite}.checks" name="${name}"/>`);
    } else {
      failures++;
      cases.push(
        `    <testcase classname="${suite}.checks" name="${name}">\n` +
          `      <failure message="${c.fails} of ${c.passes + c.fails} failed"/>\n    </testcase>`,
      );
    }
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${cases.length}" failures="${failures}" time="${seconds}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${cases.length}" failures="${failures}" time="${seconds}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/**
 * @param {number} value
 * @param {string | undefined} contains
 * @returns {string}
 */
function formatValue(value, contains) {
  if (contains === 'time') return value >= 1000 ? `${(value / 1000).toFixed(2)}s` : `${value.toFixed(2)}ms`;
  if (contains === 'data')
    return value >= 1048576 ? `${(value / 1048576).toFixed(1)}MiB` : `${(value / 1024).toFixed(1)}KiB`;
  if (contains === 'rate') return value.toFixed(2);
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

/**
 * A compact text summary: every metric on one line, thresholds marked ✓/✗,
 * and every check with its pass count.
 * @param {SummaryData} data
 * @param {string} script
 * @param {string[]} files written alongside
 * @returns {string}
 */
export function textSummary(data, script, files) {
  const lines = [
    `k6 ${script} against ${BASE_URL} (topology ${TOPOLOGY}), ${((data.state?.testRunDurationMs ?? 0) / 1000).toFixed(1)}s`,
  ];
  const metrics = Object.entries(data.metrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const width = Math.min(60, Math.max(...metrics.map(([n]) => n.length)));
  for (const [name, m] of metrics) {
    /** @type {string} */
    let values;
    if (m.type === 'trend') {
      // k6 hands the stats over in no particular order: show them in TREND_STATS order.
      const order = (/** @type {string} */ k) => {
        const i = TREND_STATS.indexOf(k);
        return i === -1 ? TREND_STATS.length : i;
      };
      values = Object.entries(m.values)
        .sort(([a], [b]) => order(a) - order(b))
        .map(([k, v]) => `${k}=${k === 'count' ? v : formatValue(v, m.contains)}`)
        .join(' ');
    } else if (m.type === 'rate') {
      values = `${((m.values.rate ?? 0) * 100).toFixed(2)}% (${m.values.passes ?? 0} of ${(m.values.passes ?? 0) + (m.values.fails ?? 0)})`;
    } else if (m.type === 'counter') {
      const perSecond = formatValue(m.values.rate ?? 0, m.contains === 'data' ? 'data' : 'rate');
      values = `${formatValue(m.values.count ?? 0, m.contains)} (${perSecond}/s)`;
    } else {
      const [value, min, max] = [m.values.value, m.values.min, m.values.max].map((v) =>
        formatValue(v ?? 0, m.contains),
      );
      values = `${value} (min ${min}, max ${max})`;
    }
    const marks = Object.entries(m.thresholds ?? {})
      .map(([expr, r]) => `${r.ok ? '✓' : '✗'} ${expr}`)
      .join(', ');
    lines.push(`  ${name.padEnd(width)} ${values}${marks === '' ? '' : `  [${marks}]`}`);
  }
  const checks = allChecks(data.root_group);
  if (checks.length > 0) {
    lines.push('  checks:');
    for (const c of checks)
      lines.push(`    ${c.fails === 0 ? '✓' : '✗'} ${c.name} (${c.passes}/${c.passes + c.fails})`);
  }
  lines.push(`  thresholds: ${thresholdsOk(data) ? 'all passed' : 'SOME FAILED'}`);
  for (const f of files) lines.push(`  wrote ${f}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Builds a script's handleSummary. `meta` says what the run offered (rates,
 * durations, endpoints) so reports can compare runs without re-reading env.
 * The JSON file is k6's own summary data with that `meta` added at the top.
 * @param {string} script the script's name, e.g. 'smoke'
 * @param {Record<string, unknown>} [meta]
 * @param {(data: SummaryData) => Record<string, unknown>} [extra] computed from the data at the end (e.g. the capacity knee)
 * @returns {(data: SummaryData) => Record<string, string>}
 */
export function makeHandleSummary(script, meta = {}, extra) {
  return function handleSummary(data) {
    const base = `${RESULTS_DIR}/${script}-${TOPOLOGY}`;
    /** @type {[string, string]} */
    const files = [`${base}.json`, `${base}.xml`];
    const full = {
      meta: {
        script,
        topology: TOPOLOGY,
        baseUrl: BASE_URL,
        thresholdsOk: thresholdsOk(data),
        endedAt: new Date().toISOString(),
        ...meta,
        ...(extra === undefined ? {} : extra(data)),
      },
      ...data,
    };
    return {
      stdout: textSummary(data, script, files),
      [files[0]]: `${JSON.stringify(full, null, 2)}\n`,
      [files[1]]: junit(data, script),
    };
  };
}
