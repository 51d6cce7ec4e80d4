// The monitoring profile (monitoring/, docs/monitoring.md): Prometheus's config,
// the alert and recording rules with their unit tests, the Grafana dashboard, and
// the whole profile running beside the full topology.
//
// 1. promtool: `check config`, `check rules`, `test rules` (skipped with the reason
//    when there is no promtool: `apt-get install -y prometheus`; .ci/run installs it).
// 2. Consistency, no tools needed: every rule file loaded and tested, every alert
//    with severity, `for:`, summary, description, a runbook section and unit tests
//    that fire it and keep it silent; the dashboard's queries on its datasource.
// 3. Real scrapes, natively: the gateway (node server/dist/cli.js --metrics-bind)
//    behind the distribution's nginx, whose stub_status prometheus-nginx-exporter
//    reads. Each scrape goes through `promtool check metrics`, and every metric the
//    rules and the dashboard name must exist in them (or be recorded by a rule).
// 4. On a real Docker engine (gated like test/containers.test.ts: skipped without
//    one unless REQUIRE_DOCKER=1): profiles full + monitoring under the compose
//    project gwmon on free 127.0.0.1 ports; requests through nginx; then through
//    Prometheus's HTTP API: up == 1 per job, the gateway's counter equals the count
//    sent, every rule evaluates, nothing fires, every dashboard query has data.
//    Everything is removed at the end (`down -v`), also on failure. It waits
//    (bounded) while another container test or compose project is running.
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type NativeNginx, NGINX_BIN, startNativeNginx, pollFor as waitFor } from '@gw/harness';
import { parse as parseYaml } from 'yaml';
import {
  type Alert,
  alertsOf,
  compose,
  composeCli,
  DASHBOARD,
  dashboardExprs,
  engineAnswers,
  expandGrafana,
  httpGet,
  type Lint,
  lintFindings,
  MON,
  metricNames,
  otherDockerRuns,
  promQuery,
  promTargets,
  ROOT,
  ruleFiles,
  run,
  scrapedNames,
} from './monitoring-helpers.ts';

const log = (line: string): void => {
  process.stdout.write(`# monitoring: ${line}\n`);
};

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
const promSkip = promtool ? false : 'no promtool on PATH (apt-get install -y prometheus; .ci/run installs it)';
const testFiles = readdirSync(join(MON, 'rules')).filter((f) => f.endsWith('_test.yml'));

describe('monitoring/: promtool check config, check rules, test rules', { skip: promSkip }, () => {
  it('promtool check config monitoring/prometheus.yml (with the rule files it loads)', () => {
    const r = run('promtool', ['check', 'config', join(MON, 'prometheus.yml')]);
    log(r.stdout.trim().split('\n').join(' | '));
  });

  it('promtool check rules on every rule file', () => {
    const r = run('promtool', ['check', 'rules', ...ruleFiles().map((f) => join(MON, 'rules', f))]);
    log(r.stdout.trim().split('\n').join(' | '));
  });

  it(`promtool test rules: ${testFiles.join(', ')}`, () => {
    assert.ok(testFiles.length > 0);
    const r = run('promtool', ['test', 'rules', ...testFiles.map((f) => join(MON, 'rules', f))]);
    assert.doesNotMatch(r.stdout, /FAILED/);
  });
});

describe('monitoring/: rules, runbook, dashboard and compose agree', () => {
  const alerts = alertsOf();

  it('prometheus.yml loads every rule file in rules/, and each has a _test.yml', () => {
    const config = parseYaml(readFileSync(join(MON, 'prometheus.yml'), 'utf8')) as { rule_files: string[] };
    assert.deepEqual(
      config.rule_files.slice().sort(),
      ruleFiles()
        .map((f) => `rules/${f}`)
        .sort(),
    );
    for (const f of ruleFiles()) assert.ok(testFiles.includes(f.replace(/\.yml$/, '_test.yml')), `no test for ${f}`);
  });

  it('every alert has a severity, a for:, a summary, a description and a runbook section in docs/monitoring.md', () => {
    const doc = readFileSync(join(ROOT, 'docs/monitoring.md'), 'utf8');
    assert.ok(alerts.length >= 13, `only ${alerts.length} alerts`);
    for (const a of alerts) {
      assert.match(a.labels?.severity ?? '', /^(critical|warning)$/, `${a.alert}: severity`);
      assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert}: for:`);
      assert.ok((a.annotations?.summary ?? '').length > 10, `${a.alert}: summary`);
      assert.ok((a.annotations?.description ?? '').length > 40, `${a.alert}: description`);
      assert.match(doc, new RegExp(`^### ${a.alert}$`, 'm'), `docs/monitoring.md: no "### ${a.alert}" runbook`);
    }
  });

  it('the unit tests make every alert fire and keep every alert silent somewhere', () => {
    const fired = new Set<string>();
    const silent = new Set<string>();
    for (const f of testFiles) {
      const doc = parseYaml(readFileSync(join(MON, 'rules', f), 'utf8')) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
      };
      for (const t of doc.tests)
        for (const a of t.alert_rule_test ?? []) ((a.exp_alerts ?? []).length > 0 ? fired : silent).add(a.alertname);
    }
    for (const a of alerts) {
      assert.ok(fired.has(a.alert), `${a.alert}: no unit test makes it fire`);
      assert.ok(silent.has(a.alert), `${a.alert}: no unit test keeps it silent`);
    }
  });

  it('each unit test file orders every group it loads, recording groups before alert groups', () => {
    // Without group_eval_order promtool evaluates groups in Go's map order, a new one each run,
    // and an alert can read the recording rule's previous value: a test that fails now and then.
    for (const f of testFiles) {
      const doc = parseYaml(readFileSync(join(MON, 'rules', f), 'utf8')) as {
        rule_files: string[];
        group_eval_order?: string[];
      };
      const groups = doc.rule_files.flatMap((rf) =>
        (parseYaml(readFileSync(join(MON, 'rules', rf), 'utf8')) as { groups: Array<{ name: string }> }).groups.map(
          (g) => g.name,
        ),
      );
      const order = doc.group_eval_order ?? [];
      assert.deepEqual(order.slice().sort(), groups.slice().sort(), `${f}: group_eval_order must list ${groups}`);
      const lastRecording = Math.max(...order.map((g, i) => (g.endsWith('.recording') ? i : -1)));
      const firstAlerts = order.findIndex((g) => g.endsWith('.alerts'));
      assert.ok(lastRecording < firstAlerts, `${f}: every *.recording group before the first *.alerts group`);
    }
  });

  it('recording rules are named level:metric:operations', () => {
    const names = ruleFiles().flatMap((f) => metricNames.recordedIn(f));
    assert.ok(names.length >= 10);
    for (const n of names) assert.match(n, /^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/, n);
  });

  it("the nginx rules and the dashboard use nginx.conf's worker_connections", () => {
    const wc = /^\s*worker_connections\s+(\d+);/m.exec(
      readFileSync(join(ROOT, 'nginx/templates/nginx.conf.template'), 'utf8'),
    )?.[1];
    assert.ok(wc, 'nginx.conf: no worker_connections');
    const rules = readFileSync(join(MON, 'rules/nginx.yml'), 'utf8');
    assert.match(rules, new RegExp(`\\(nginx_connections_active\\) / ${wc}\\b`));
    assert.match(rules, new RegExp(`worker_connections \\(${wc}\\)`));
    const steps = JSON.stringify(DASHBOARD.panels.map((p) => p.fieldConfig?.defaults?.thresholds));
    assert.ok(steps.includes(`"value":${Math.ceil(0.8 * Number(wc))}`), 'dashboard: no 80% worker_connections line');
  });

  it('every dashboard panel queries the provisioned Prometheus datasource', () => {
    const provisioned = parseYaml(
      readFileSync(join(MON, 'dashboards/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: Array<{ uid: string; url: string }> };
    const uid = provisioned.datasources[0]?.uid;
    assert.equal(provisioned.datasources[0]?.url, 'http://prometheus:9090');
    const panels = DASHBOARD.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    for (const p of panels) {
      assert.equal(p.datasource?.uid, uid, `panel "${p.title}": datasource`);
      assert.ok((p.targets ?? []).length > 0 && p.targets?.every((t) => t.expr), `panel "${p.title}": no query`);
    }
  });

  const cli = composeCli();
  it('the monitoring and grafana profiles validate with every compose CLI there is', {
    skip: !cli && 'no compose CLI',
  }, () => {
    for (const c of [['docker', 'compose'], ['docker-compose']]) {
      if (run(c[0] as string, [...c.slice(1), 'version'], { allowFail: true }).status !== 0) continue;
      const profiles = ['gateway', 'proxy', 'full', 'monitoring', 'grafana'].flatMap((p) => ['--profile', p]);
      run(c[0] as string, [...c.slice(1), ...profiles, 'config', '-q']);
    }
  });
});

// ---- 3. real scrapes, natively ------------------------------------------------------------

const EXPORTER = 'prometheus-nginx-exporter';
const hasExporter = spawnSync('sh', ['-c', `command -v ${EXPORTER}`], { stdio: 'ignore' }).status === 0;
const nativeSkip = !promtool
  ? promSkip
  : !existsSync(join(ROOT, 'server/dist/cli.js'))
    ? 'server/dist/cli.js missing: npm run build first'
    : false;

describe('real scrapes of the gateway and of nginx through the exporter (native)', { skip: nativeSkip }, () => {
  let gateway: ChildProcess | undefined;
  let exporter: ChildProcess | undefined;
  let nginx: NativeNginx | undefined;
  let gatewayUrl = '';
  let metricsUrl = '';
  let exporterUrl = '';
  let nginxSkip: string | false = false;

  before(async () => {
    gateway = spawn(
      process.execPath,
      ['server/dist/cli.js', '-w', '2', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', 'app/dist/app.js'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // The gateway logs to stderr (JSON lines).
    let out = '';
    for (const stream of [gateway.stdout, gateway.stderr])
      stream?.on('data', (c: Buffer) => {
        out += c.toString();
      });
    await waitFor('the gateway to be ready', async () => (/workers? ready/.test(out) ? true : undefined), 30_000);
    metricsUrl = /Metrics at: (http:\/\/\S+?)"/.exec(out)?.[1] ?? '';
    gatewayUrl = /Listening at: (http:\/\/[^\s"]+)/.exec(out)?.[1] ?? '';
    assert.ok(metricsUrl && gatewayUrl, `no addresses in the gateway's log:\n${out}`);
    if (!existsSync(NGINX_BIN) || !hasExporter) {
      nginxSkip = `no ${existsSync(NGINX_BIN) ? EXPORTER : NGINX_BIN} (apt-get install -y nginx ${EXPORTER})`;
      return;
    }
    nginx = await startNativeNginx({ upstreams: [new URL(gatewayUrl).host], accessLog: 'off' });
    const port = await freePort();
    // `--flag=value` works for both the exporter's old (Go flag) and new (kingpin) parsers.
    exporter = spawn(
      EXPORTER,
      ['--nginx.scrape-uri=http://127.0.0.1:8091/stub_status', `--web.listen-address=127.0.0.1:${port}`],
      {
        stdio: 'ignore',
      },
    );
    exporterUrl = `http://127.0.0.1:${port}/metrics`;
    await waitFor('the exporter', async () => ((await httpGet(exporterUrl)).status === 200 ? true : undefined), 20_000);
  });

  after(async () => {
    exporter?.kill('SIGTERM');
    await nginx?.stop();
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway?.once('exit', r));
      gateway.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (gateway.exitCode === null) gateway.kill('SIGKILL');
    }
  });

  /** 40 requests straight to the gateway (200 and 404), 20 more through nginx when it runs. */
  async function traffic(): Promise<void> {
    for (let i = 0; i < 40; i++) assert.ok((await httpGet(`${gatewayUrl}${i % 4 ? '/' : '/no-such-page'}`)).status);
    if (nginx) for (let i = 0; i < 20; i++) await httpGet(`http://127.0.0.1:${nginx.port}/`);
  }

  it('promtool check metrics on a scrape of the gateway after real requests: only known findings', async () => {
    await traffic();
    const text = (await httpGet(metricsUrl)).body;
    assert.match(text, /^gateway_http_requests_total\{status="404"\} 10$/m);
    const findings: Lint[] = lintFindings(text);
    for (const f of findings)
      log(`promtool check metrics (gateway): ${f.metric} ${f.problem}${f.known ? ' [known]' : ''}`);
    assert.deepEqual(
      findings.filter((f) => !f.known),
      [],
      'new lint findings: fix them in the gateway or, if they are prom-client defaults, list them as known',
    );
    assert.ok(!findings.some((f) => f.metric.startsWith('gateway_')), "the gateway's own metrics lint clean");
  });

  it('stub_status answers on the internal port (8091), not on the public one', async (t) => {
    if (nginxSkip) return t.skip(nginxSkip);
    assert.match((await httpGet('http://127.0.0.1:8091/stub_status')).body, /^Active connections: \d+/);
    assert.equal((await httpGet('http://127.0.0.1:8091/')).status, 404);
    assert.doesNotMatch((await httpGet(`http://127.0.0.1:${nginx?.port}/stub_status`)).body, /Active connections/);
  });

  it('promtool check metrics on the exporter, and every metric the rules and the dashboard name exists', async (t) => {
    if (nginxSkip) return t.skip(nginxSkip);
    await traffic();
    const exported = (await httpGet(exporterUrl)).body;
    assert.match(exported, /^nginx_up(\{[^}]*\})? 1$/m, 'the exporter cannot read stub_status');
    const findings = lintFindings(exported);
    for (const f of findings)
      log(`promtool check metrics (exporter): ${f.metric} ${f.problem}${f.known ? ' [known]' : ''}`);
    assert.deepEqual(
      findings.filter((f) => !f.known),
      [],
      'promtool check metrics on the exporter',
    );
    const known = new Set([
      ...scrapedNames((await httpGet(metricsUrl)).body),
      ...scrapedNames(exported),
      ...ruleFiles().flatMap((f) => metricNames.recordedIn(f)),
      'up',
    ]);
    const used = [
      ...alertsOf().flatMap((a) => metricNames.of(a.expr)),
      ...ruleFiles().flatMap((f) => metricNames.readIn(f)),
      ...dashboardExprs().flatMap((e) => metricNames.of(e)),
    ];
    const missing = [...new Set(used)].filter((n) => !known.has(n));
    assert.deepEqual(missing, [], 'metrics named by the rules or the dashboard that nothing exports');
    log(`${new Set(used).size} metric names used by the rules and the dashboard, all exported or recorded`);
  });
});

// ---- 4. the profile on a real Docker engine -----------------------------------------------

const requireDocker = process.env.REQUIRE_DOCKER === '1';
const cli = engineAnswers ? composeCli() : undefined;
const dockerSkip =
  (engineAnswers && cli) || requireDocker
    ? false
    : engineAnswers
      ? 'no compose CLI (neither `docker compose` nor `docker-compose`): install docker-compose'
      : '`docker info` failed: no Docker engine answers (run .ci/docker-engine.sh, or set REQUIRE_DOCKER=1 to fail instead)';
const PROFILES = ['full', 'monitoring'];
const REQUESTS = 150;

describe('profile monitoring beside profile full on a real Docker engine', {
  skip: dockerSkip,
  timeout: 30 * 60_000,
}, () => {
  const ports: Record<string, number> = {};
  const up = (args: string[], timeoutMs?: number) => compose(cli, ports, PROFILES, args, timeoutMs);
  const teardown = (): void => {
    compose(
      cli,
      ports,
      [...PROFILES, 'grafana'],
      ['down', '--volumes', '--remove-orphans', '--timeout', '10'],
      180_000,
      true,
    );
  };
  const q = (query: string) => promQuery(ports.prometheus as number, query);

  before(async () => {
    assert.ok(engineAnswers, 'REQUIRE_DOCKER=1 but `docker info` failed: no Docker engine answers');
    assert.ok(cli, 'REQUIRE_DOCKER=1 but there is no compose CLI');
    // One container test at a time on a machine: wait (bounded) for the others to finish.
    const deadline = Date.now() + 10 * 60_000;
    for (let others = otherDockerRuns(); others.length > 0; others = otherDockerRuns()) {
      if (Date.now() > deadline) {
        log(`still running after 10 min, going ahead: ${others.join('; ')}`);
        break;
      }
      log(`waiting for another container run: ${others.join('; ')}`);
      await sleep(15_000);
    }
    for (const name of ['full', 'fullTls', 'prometheus', 'grafana']) ports[name] = await freePort();
    teardown(); // leftovers of an interrupted run
    for (const image of ['prom/prometheus', 'nginx/nginx-prometheus-exporter']) {
      const tag = new RegExp(`image: (${image.replace('/', '\\/')}:\\S+)`).exec(
        readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'),
      )?.[1];
      assert.ok(tag, `docker-compose.yml names no ${image}`);
      if (run('docker', ['image', 'inspect', tag], { allowFail: true }).status !== 0)
        run('docker', ['pull', tag], { allowFail: true, timeoutMs: 300_000 });
      run('docker', ['image', 'inspect', tag], { timeoutMs: 30_000 }); // missing: run .ci/base-images.sh
    }
    const t0 = Date.now();
    up(['build'], 20 * 60_000);
    up(['up', '-d'], 5 * 60_000);
    await waitFor(
      'nginx-full on its TLS port',
      async () => ((await httpGet(`https://127.0.0.1:${ports.fullTls}/`)).status === 200 ? true : undefined),
      120_000,
    );
    await waitFor(
      'Prometheus ready',
      async () => ((await httpGet(`http://127.0.0.1:${ports.prometheus}/-/ready`)).status === 200 ? true : undefined),
      60_000,
    );
    log(`built and up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(() => {
    if (process.env.KEEP_STACK !== '1') teardown();
  });

  it('scrapes the gateway, nginx (through the exporter) and itself: up == 1 for each job', async () => {
    const want = [
      'up{job="gateway",topology="full"}',
      'up{job="nginx"}',
      'up{job="prometheus"}',
      'nginx_up{topology="full"}',
    ];
    try {
      for (const query of want)
        await waitFor(query, async () => ((await q(query))[0]?.value === 1 ? true : undefined), 60_000, 2000);
      // The topologies that are not running are targets too: down, by design. Waited for as well:
      // Prometheus spreads its targets' first scrapes over the interval, and one not yet scraped has
      // no `up` at all (CI once asked too soon: "gateway:9464: unknown").
      for (const query of ['up{job="gateway",topology="gateway"}', 'nginx_up{topology="proxy"}'])
        await waitFor(`${query} == 0`, async () => ((await q(query))[0]?.value === 0 ? true : undefined), 60_000, 2000);
    } catch (error) {
      // What Prometheus says of each target is what tells a slow scrape from a wrong one.
      throw new Error(`${String(error)}\ntargets: ${await promTargets(ports.prometheus as number)}`);
    }
  });

  it(`counts the ${REQUESTS} requests sent through nginx: the gateway's counter in Prometheus equals them`, async () => {
    const query = 'sum(gateway_http_requests_total{job="gateway",topology="full",status="404"})';
    assert.ok(((await q(query))[0]?.value ?? 0) === 0, 'a 404 before the test sent any');
    const agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
    let sent = 0;
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (sent < REQUESTS) {
          const i = sent++;
          const r = await httpGet(`https://127.0.0.1:${ports.fullTls}/monitoring-e2e/${i}`, agent);
          assert.equal(r.status, 404, `request ${i}`);
        }
      }),
    );
    agent.destroy();
    const t0 = Date.now();
    const seen = await waitFor(
      'Prometheus to report every request',
      async () => {
        const v = (await q(query))[0]?.value;
        return v === REQUESTS ? v : undefined;
      },
      60_000,
      1000,
    );
    log(
      `sent ${REQUESTS} requests through nginx; Prometheus reported ${seen} after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const nginxTotal = await waitFor(
      'nginx to count them',
      async () => {
        const v = (await q('sum(nginx_http_requests_total{topology="full"})'))[0]?.value ?? 0;
        return v >= REQUESTS ? v : undefined;
      },
      60_000,
      1000,
    );
    log(`nginx_http_requests_total (full) ${nginxTotal}: the ${REQUESTS} plus health checks and its own answers`);
  });

  it('keeps stub_status off the public ports', async () => {
    assert.doesNotMatch((await httpGet(`https://127.0.0.1:${ports.fullTls}/stub_status`)).body, /Active connections/);
    assert.equal((await httpGet(`http://127.0.0.1:${ports.full}/stub_status`)).status, 301);
  });

  it('evaluates every rule without error, and no alert fires on the healthy stack', async () => {
    type Rule = { name: string; health: string; lastError?: string };
    const rules = await waitFor(
      'every rule evaluated',
      async () => {
        const r = JSON.parse((await httpGet(`http://127.0.0.1:${ports.prometheus}/api/v1/rules`)).body) as {
          data: { groups: Array<{ rules: Rule[] }> };
        };
        const all = r.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((x) => x.health !== 'unknown') ? all : undefined;
      },
      60_000,
      2000,
    );
    assert.deepEqual(
      rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`),
      [],
    );
    const alerts = JSON.parse((await httpGet(`http://127.0.0.1:${ports.prometheus}/api/v1/alerts`)).body) as {
      data: { alerts: Alert[] };
    };
    assert.deepEqual(
      alerts.data.alerts.filter((a) => a.state === 'firing'),
      [],
    );
    log(`${rules.length} rules loaded and evaluated by the running Prometheus`);
  });

  it('every dashboard query returns data (after a HUP reload, so restarts and reloads have series)', async () => {
    up(['kill', '-s', 'SIGHUP', 'gateway-full']);
    await waitFor(
      'the reload in Prometheus',
      async () => ((await q('gateway_reloads_total{result="ok"}'))[0] ? true : undefined),
      60_000,
      2000,
    );
    const empty = new Set(dashboardExprs());
    await waitFor(
      'every dashboard query to have data',
      async () => {
        for (const e of [...empty]) if ((await q(expandGrafana(e))).length > 0) empty.delete(e);
        return empty.size === 0 ? true : undefined;
      },
      90_000,
      3000,
    ).catch(() => undefined);
    assert.deepEqual([...empty], [], 'dashboard queries without any series');
    log(`${dashboardExprs().length} dashboard queries, each with data`);
  });

  it('runs every container read-only as a non-root user, and publishes Prometheus on 127.0.0.1 only', () => {
    const ids = up(['ps', '-q']).stdout.trim().split('\n').filter(Boolean);
    assert.ok(ids.length >= 4, `containers: ${ids.length}`);
    for (const id of ids) {
      assert.equal(run('docker', ['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', id]).stdout.trim(), 'true', id);
      const uids = run('docker', ['top', id, '-eo', 'pid,uid'])
        .stdout.trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)[1] ?? '');
      assert.ok(
        uids.length > 0 && uids.every((u) => u.trim() !== '0'),
        `${id}: a process runs as root (${uids.join(',')})`,
      );
    }
    const prometheus = up(['ps', '-q', 'prometheus']).stdout.trim();
    const bindings = run('docker', ['inspect', '-f', '{{json .HostConfig.PortBindings}}', prometheus]).stdout;
    assert.deepEqual(
      Object.values(JSON.parse(bindings) as Record<string, Array<{ HostIp: string }>>)
        .flat()
        .map((b) => b.HostIp),
      ['127.0.0.1'],
    );
  });
});
