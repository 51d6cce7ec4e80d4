// Helpers of test/monitoring.test.ts: bounded commands, the compose project gwmon,
// HTTP and Prometheus API calls, and readers for the rule files, PromQL and the
// dashboard. Kept apart so the test file reads as the checks it makes.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { dockerAnswers, type Ran, ROOT, run } from '@gw/harness';
import { parse as parseYaml } from 'yaml';

export { ROOT };
export const MON = join(ROOT, 'monitoring');
const PROJECT = 'gwmon';

// ---- commands ------------------------------------------------------------------------------

export { composeCli, type Ran, run } from '@gw/harness';

export const engineAnswers = dockerAnswers();

/** docker-compose.yml under the project gwmon, with its own image tag and free 127.0.0.1 ports. */
export function compose(
  cli: string[] | undefined,
  ports: Record<string, number>,
  profiles: string[],
  args: string[],
  timeoutMs = 180_000,
  allowFail = false,
): Ran {
  assert.ok(cli);
  const env = {
    STACK_IMAGE: 'node-gateway-stack',
    STACK_TAG: 'monitoringtest',
    HOST_BIND: '127.0.0.1',
    HOST_PORT_FULL: String(ports.full),
    HOST_PORT_FULL_TLS: String(ports.fullTls),
    HOST_PORT_PROMETHEUS: String(ports.prometheus),
    HOST_PORT_GRAFANA: String(ports.grafana),
  };
  const full = [...cli.slice(1), '-p', PROJECT, ...profiles.flatMap((p) => ['--profile', p]), ...args];
  return run(cli[0] as string, full, { env, timeoutMs, allowFail });
}

/** Pids of this process and its ancestors (the test runner, npm): not "another run". */
function ownLineage(): Set<number> {
  const pids = new Set<number>();
  for (let pid = process.pid; pid > 1 && !pids.has(pid); ) {
    pids.add(pid);
    try {
      pid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    } catch {
      break;
    }
  }
  return pids;
}

/** Other container-test processes, and running containers of other compose projects (or none). */
export function otherDockerRuns(): string[] {
  const mine = ownLineage();
  const procs = run('pgrep', ['-af', 'containers\\.test|monitoring\\.test'], { allowFail: true })
    .stdout.trim()
    .split('\n')
    .filter((l) => l && !mine.has(Number(l.split(' ')[0])));
  const containers = run('docker', ['ps', '--format', '{{.Label "com.docker.compose.project"}}|{{.Names}}'], {
    allowFail: true,
  })
    .stdout.trim()
    .split('\n')
    .filter((l) => l && !l.startsWith(`${PROJECT}|`))
    .map((l) => `container ${l.split('|')[1]}`);
  return [...procs.map((p) => `process ${p.slice(0, 120)}`), ...containers];
}

// ---- HTTP ----------------------------------------------------------------------------------

/** GET over http or https (the development certificate: SNI localhost, not verified). */
export function httpGet(url: string, agent?: https.Agent): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const secure = u.protocol === 'https:';
    const req = (secure ? https : http).get(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        agent: agent ?? false,
        ...(secure ? { servername: 'localhost', rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

/** An instant query through Prometheus's HTTP API: each series' labels and value. */
export async function promQuery(
  port: number,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const r = await httpGet(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`);
  const doc = JSON.parse(r.body) as {
    status: string;
    error?: string;
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  assert.equal(doc.status, 'success', `${query}: ${doc.error}`);
  return doc.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
}

/** Each scrape target's job, instance, health, last scrape's duration and error, one line each. */
export async function promTargets(port: number): Promise<string> {
  const r = await httpGet(`http://127.0.0.1:${port}/api/v1/targets`);
  const doc = JSON.parse(r.body) as {
    data: {
      activeTargets: Array<{
        labels: Record<string, string>;
        health: string;
        lastError: string;
        lastScrapeDuration: number;
      }>;
    };
  };
  return doc.data.activeTargets
    .map(
      (t) =>
        `\n  ${t.labels.job} ${t.labels.instance}: ${t.health}, ${t.lastScrapeDuration.toFixed(3)} s` +
        (t.lastError ? `, ${t.lastError}` : ''),
    )
    .join('');
}

// ---- rules, PromQL, scrapes, the dashboard -----------------------------------------------------

export interface Alert {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  state?: string;
}
interface RuleDoc {
  groups: Array<{ name: string; rules: Array<Partial<Alert> & { record?: string; expr: string }> }>;
}

/** The rule files in monitoring/rules (their unit tests, *_test.yml, are not rule files). */
export function ruleFiles(): string[] {
  return readdirSync(join(MON, 'rules')).filter((f) => f.endsWith('.yml') && !f.endsWith('_test.yml'));
}

const rulesOf = (file: string) =>
  (parseYaml(readFileSync(join(MON, 'rules', file), 'utf8')) as RuleDoc).groups.flatMap((g) => g.rules);

export function alertsOf(): Alert[] {
  return ruleFiles()
    .flatMap(rulesOf)
    .filter((r): r is Alert => typeof r.alert === 'string');
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
]);

export const metricNames = {
  /** Metric names a PromQL expression reads (label matchers, ranges, label lists and functions left out). */
  of(expr: string): string[] {
    const bare = expr
      .replace(/"(?:[^"\\]|\\.)*"/g, '""')
      .replace(/\{[^}]*\}/g, '')
      .replace(/\[[^\]]*\]/g, '')
      .replace(/\boffset\s+-?\d+[smhdwy]+/g, '')
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
    const names: string[] = [];
    for (const m of bare.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
      const next = bare.slice((m.index ?? 0) + m[0].length).trimStart();
      if (!next.startsWith('(') && !KEYWORDS.has(m[0])) names.push(m[0]);
    }
    return names;
  },
  recordedIn(file: string): string[] {
    return rulesOf(file).flatMap((r) => (r.record ? [r.record] : []));
  },
  /** What the recording rules of a file read. */
  readIn(file: string): string[] {
    return rulesOf(file).flatMap((r) => (r.record ? metricNames.of(r.expr) : []));
  },
};

/** Every metric name a scrape declares (# TYPE, with a histogram's series) or has samples of. */
export function scrapedNames(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.push(name);
    if (type === 'histogram') names.push(`${name}_bucket`, `${name}_sum`, `${name}_count`);
    if (type === 'summary') names.push(`${name}_sum`, `${name}_count`);
  }
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) names.push(m[1] as string);
  return names;
}

export interface Lint {
  metric: string;
  problem: string;
  /** Names chosen upstream (prom-client's defaults, the exporter's counters): listed in docs/monitoring.md. */
  known: boolean;
}

const KNOWN_LINT = new Set([
  ...['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'].map(
    (m) => `${m} non-counter metrics should not have "_total" suffix`,
  ),
  ...['nginx_connections_accepted', 'nginx_connections_handled'].map(
    (m) => `${m} counter metrics should have "_total" suffix`,
  ),
]);

/** `promtool check metrics` on a scrape: its findings (exit 3), or a failure if it cannot parse it. */
export function lintFindings(text: string): Lint[] {
  const r = run('promtool', ['check', 'metrics'], { input: text, allowFail: true });
  assert.ok(r.status === 0 || r.status === 3, `promtool check metrics exited ${r.status}: ${r.stderr}${r.stdout}`);
  return `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [metric = '', ...rest] = l.split(' ');
      return { metric, problem: rest.join(' '), known: KNOWN_LINT.has(l) };
    });
}

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string }>;
  fieldConfig?: { defaults?: { thresholds?: unknown } };
  panels?: Panel[];
}

export const DASHBOARD = JSON.parse(readFileSync(join(MON, 'dashboards/gateway.json'), 'utf8')) as { panels: Panel[] };

/** Every panel's PromQL, rows' nested panels included. */
export function dashboardExprs(): string[] {
  const walk = (panels: Panel[]): string[] =>
    panels.flatMap((p) => [...(p.targets ?? []).map((t) => t.expr), ...walk(p.panels ?? [])]);
  return walk(DASHBOARD.panels);
}

/** Grafana's interval variables, as Grafana would fill them in for this scrape interval (10 s). */
export function expandGrafana(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '10s').replaceAll('$__range', '15m');
}
